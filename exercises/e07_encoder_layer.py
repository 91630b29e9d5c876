"""Exercise encoder_layer: one Transformer encoder layer, BERT's post-LN way.

A BERT layer is two sub-layers, each wrapped in a residual connection and followed by
LayerNorm ("post-LN", as in Vaswani et al. 2017 and google-research/bert):

    x = LayerNorm(x + Dropout(Dense(SelfAttention(x))))           # attention sub-layer
    y = LayerNorm(x + Dropout(Dense2(GELU(Dense1(x)))))           # feed-forward sub-layer

Interviewers ask where the LayerNorm goes (after the residual sum, not before the sub-layer:
that is pre-LN, used by GPT-2 and most models since), what the residual is added to, and
why the feed-forward widens to 4 x hidden. Write forward; __init__ already builds Hugging
Face's module tree, so pretrained weights load with load_state_dict unchanged.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

from .e02_gelu import gelu  # noqa: F401 (yours, for forward)
from .e05_multi_head import BertSelfAttention


class _Holder(nn.Module):
    """Only holds submodules under Hugging Face's names; BertLayer.forward calls them."""

    def _no_forward(self, *args, **kwargs):
        raise TypeError(
            f"{type(self).__name__} only holds submodules and has no forward of its own: call "
            "its parts from BertLayer.forward, e.g. self.attention.output.dense(...)"
        )

    forward = _no_forward


class BertSelfOutput(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)  # output projection
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)


class BertAttention(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)  # your e05: (batch, seq, hidden) context
        self.output = BertSelfOutput(config)


class BertIntermediate(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)  # widen (4H)


class BertOutput(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)  # back to H
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)  # .self, .output.{dense, LayerNorm, dropout}
        self.intermediate = BertIntermediate(config)  # .dense
        self.output = BertOutput(config)  # .dense, .LayerNorm, .dropout

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """One encoder layer.

        Args:
            hidden_states: (batch, seq, hidden) float.
            attention_mask: optional (batch, seq) integers, 1 = real token, 0 = padding;
                hand it to the self-attention as it is.

        Returns:
            (batch, seq, hidden): the layer's output, post-LN as in the module docstring,
            with GELU = your ``gelu`` from e02.
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint encoder_layer"
        )
