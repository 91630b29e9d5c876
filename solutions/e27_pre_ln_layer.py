"""Solution pre_ln_layer: normalise what goes *into* each sub-layer, never the stream itself.

Compare with e07 (post-LN): the same attention, the same feed-forward, the same two
LayerNorms per layer, only moved. Post-LN normalises the residual sum, LN(x + F(x)); pre-LN
normalises the sub-layer's input, x + F(LN(x)). In pre-LN the stream x is carried from the
embeddings to the top by additions only, so its gradient reaches every layer through an
identity path; the price is one extra LayerNorm at the very end, because nothing inside the
stack normalises x.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

from .e02_gelu import gelu
from .e05_multi_head import BertSelfAttention


class _Holder(nn.Module):
    """Only holds submodules under transformers' names; PreLNLayer.forward calls them."""

    def _no_forward(self, *args, **kwargs):
        raise TypeError(
            f"{type(self).__name__} only holds submodules and has no forward of its own: call "
            "its parts from PreLNLayer.forward, e.g. self.attention.LayerNorm(...)"
        )

    forward = _no_forward


class PreLNSelfOutput(_Holder):
    def __init__(self, config: BertConfig, in_features: int | None = None):
        super().__init__()
        self.dense = nn.Linear(in_features or config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)


class PreLNAttention(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.self = BertSelfAttention(config)
        self.output = PreLNSelfOutput(config)


class PreLNIntermediate(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)


class PreLNLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = PreLNAttention(config)
        self.intermediate = PreLNIntermediate(config)
        self.output = PreLNSelfOutput(config, config.intermediate_size)

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        # Attention sub-layer: the LayerNorm reads the stream, the attention reads the norm,
        # and the update is added to the *un-normalised* stream. Adding it to the normalised
        # copy instead, LN(x) + F(LN(x)), would throw the stream away at every layer.
        attention = self.attention
        normed = attention.LayerNorm(hidden_states)
        context = attention.self(normed, attention_mask)
        hidden_states = hidden_states + attention.output.dropout(attention.output.dense(context))

        # Feed-forward sub-layer, same pattern with its own LayerNorm. Nothing normalises the
        # sum: that is the whole point (the stream is a sum of every layer's update).
        normed = self.intermediate.LayerNorm(hidden_states)
        widened = gelu(self.intermediate.dense(normed))
        return hidden_states + self.output.dropout(self.output.dense(widened))


class PreLNEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(PreLNLayer(config) for _ in range(config.num_hidden_layers))
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, attention_mask)
        # The final LayerNorm: in post-LN every layer already ends with one; in pre-LN the
        # stream's scale grows with depth (L additions), so whatever reads it next (a head,
        # a pooler) would see un-normalised vectors without this line. GPT-2 calls it ln_f,
        # Llama `norm`, ModernBERT `final_norm`.
        return self.LayerNorm(hidden_states)
