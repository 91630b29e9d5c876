"""Pre-LN vs post-LN (Xiong et al. 2020, "On Layer Normalization in the Transformer
Architecture": Fig. 1, Thm. 1, Fig. 3).

    post-LN (BERT):  x = LN(x + F(x))          pre-LN:  x = x + F(LN(x)),  final LN at the end

Xiong et al. (Thm. 1) prove that at initialisation the gradient of the last layer's FFN
weights is O(d·sqrt(ln d)) for post-LN, *independent of depth L*, but O(d·sqrt(ln d / L)) for
pre-LN: the pre-LN residual stream grows with depth and the final LayerNorm divides by it.
Large gradients near the output are why post-LN needs learning-rate warm-up; pre-LN can
train without it. :func:`layer_gradient_norms` measures this on a fresh model; the tests check
the depth scaling of the top layer and that post-LN's gradient profile leans further toward
the top than pre-LN's. (In these small random-input encoders the per-layer profile of the
paper's Fig. 3 shows up only relatively: post-LN is about flat, pre-LN *decreases* toward the
top, because its lower layers also receive gradient through every sub-layer above them.)

The pre-LN layer uses transformers' ``RobertaPreLayerNorm`` names
(``models/roberta_prelayernorm/modeling_roberta_prelayernorm.py``): the LN moves *into* the
sub-layers (``attention.LayerNorm``, ``intermediate.LayerNorm``), ``attention.output`` and
``output`` only project and add, and the model ends with ``LayerNorm``. Attention itself is
BERT's (:class:`reference.modeling.BertSelfAttention`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reference.config import BertConfig
from reference.modeling import (
    ACT2FN,
    BaseModelOutput,
    BertEncoder,
    BertSelfAttention,
    additive_attention_mask,
)
from reference.variants.roberta import RobertaEmbeddings


class PreLNSelfOutput(nn.Module):
    """Project, dropout, add the residual. No LayerNorm here: it moved before the sub-layer."""

    def __init__(self, config: BertConfig, in_features: int | None = None):
        super().__init__()
        self.dense = nn.Linear(in_features or config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        return self.dropout(self.dense(hidden_states)) + input_tensor


class PreLNAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self = BertSelfAttention(config)
        self.output = PreLNSelfOutput(config)

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        return self.output(self.self(self.LayerNorm(hidden_states), mask), hidden_states)


class PreLNIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.intermediate_act_fn(self.dense(self.LayerNorm(hidden_states)))


class PreLNLayer(nn.Module):
    """x = x + Attn(LN(x)); x = x + FFN(LN(x)). The residual stream itself is never normalised."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = PreLNAttention(config)
        self.intermediate = PreLNIntermediate(config)
        self.output = PreLNSelfOutput(config, config.intermediate_size)  # HF: ...Output

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        attention_output = self.attention(hidden_states, mask)
        return self.output(self.intermediate(attention_output), attention_output)


class PreLNEncoder(nn.Module):
    """L pre-LN layers, then the final LayerNorm: without it the output would be un-normalised
    (the residual stream grows with depth). ``final_norm=False`` leaves it to the caller, as
    ``RobertaPreLayerNormModel`` does (its ``LayerNorm`` sits at the top level)."""

    def __init__(self, config: BertConfig, final_norm: bool = True):
        super().__init__()
        self.layer = nn.ModuleList(PreLNLayer(config) for _ in range(config.num_hidden_layers))
        self.LayerNorm = (
            nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps) if final_norm else None
        )

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, mask)
        return hidden_states if self.LayerNorm is None else self.LayerNorm(hidden_states)


class PreLNRobertaModel(nn.Module):
    """transformers' ``RobertaPreLayerNormModel`` without pooler: RoBERTa embeddings, pre-LN
    encoder, final ``LayerNorm`` (top-level key, as in HF)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = PreLNEncoder(config, final_norm=False)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> BaseModelOutput:
        hidden_states = self.embeddings(input_ids)
        mask = (
            None
            if attention_mask is None
            else additive_attention_mask(attention_mask, hidden_states.dtype)
        )
        return BaseModelOutput(self.LayerNorm(self.encoder(hidden_states, mask)), None)


def build_encoder(config: BertConfig, norm_first: bool, seed: int) -> nn.Module:
    """A post-LN (BERT's :class:`~reference.modeling.BertEncoder`) or pre-LN encoder, with
    Xavier-uniform weights and zero biases (the initialisation Xiong et al. analyse)."""
    torch.manual_seed(seed)
    encoder = PreLNEncoder(config) if norm_first else BertEncoder(config)
    for module in encoder.modules():
        if isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    return encoder


def layer_gradient_norms(
    encoder: nn.Module, hidden_states: Tensor, target: Tensor, param: str = "output.dense.weight"
) -> list[float]:
    """‖∂loss/∂W‖_F for the FFN output weight W of every layer, bottom to top, at the current
    weights (the quantity of Xiong et al.'s Fig. 3). loss = MSE(encoder(x), target)."""
    encoder.zero_grad(set_to_none=True)
    output = encoder(hidden_states, None)
    torch.nn.functional.mse_loss(output, target).backward()
    return [layer.get_parameter(param).grad.norm().item() for layer in encoder.layer]
