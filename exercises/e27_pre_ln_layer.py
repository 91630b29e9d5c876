"""Exercise pre_ln_layer: move the LayerNorm inside the residual branch (pre-LN).

BERT is post-LN: each sub-layer ends with LayerNorm(x + F(x)) (your e07). Almost every
Transformer trained since GPT-2 is pre-LN instead: the norm moves to the *input* of the
sub-layer, and the residual stream itself is never normalised:

    x = x + Dropout(Dense(SelfAttention(LayerNorm_1(x))))        # attention sub-layer
    x = x + Dropout(Dense2(GELU(Dense1(LayerNorm_2(x)))))        # feed-forward sub-layer
    ...  L layers  ...
    y = LayerNorm_final(x)                                       # once, after the last layer

Interviewers ask why: Xiong et al. (2020) show that at initialisation the post-LN gradients
of the top layers are large, which is why BERT needs learning-rate warm-up, while pre-LN
keeps them in check (they shrink like 1/sqrt(L) with depth L) and trains without it. They
also ask where the extra, final LayerNorm goes and why it is needed: the stream x grows with
every residual addition, and nothing else normalises it.

Write PreLNLayer.forward and PreLNEncoder.forward. __init__ already builds transformers'
RobertaPreLayerNorm module tree (the LayerNorm sits *inside* attention and intermediate;
attention.output and output only project), so the reference's weights load unchanged.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

from .e02_gelu import gelu  # noqa: F401 (yours, for forward)
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
        self.dropout = nn.Dropout(config.hidden_dropout_prob)  # no LayerNorm here


class PreLNAttention(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)  # before
        self.self = BertSelfAttention(config)  # your e05: (batch, seq, hidden) context
        self.output = PreLNSelfOutput(config)  # .dense, .dropout


class PreLNIntermediate(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)  # before
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)


class PreLNLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = PreLNAttention(config)  # .LayerNorm, .self, .output.{dense, dropout}
        self.intermediate = PreLNIntermediate(config)  # .LayerNorm, .dense
        self.output = PreLNSelfOutput(config, config.intermediate_size)  # .dense, .dropout

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """One pre-LN encoder layer.

        Args:
            hidden_states: (batch, seq, hidden) float: the residual stream.
            attention_mask: optional (batch, seq) integers, 1 = real token, 0 = padding;
                hand it to the self-attention as it is.

        Returns:
            (batch, seq, hidden): x + attention sub-layer, then + feed-forward sub-layer, each
            sub-layer reading a LayerNorm of its input (module docstring); GELU = your e02.
            No LayerNorm is applied to the returned stream.
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint pre_ln_layer"
        )


class PreLNEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(PreLNLayer(config) for _ in range(config.num_hidden_layers))
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)  # final

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """A stack of pre-LN layers and the final LayerNorm.

        Args:
            hidden_states: (batch, seq, hidden) float (the embeddings).
            attention_mask: optional (batch, seq) integers, 1 = real token, 0 = padding,
                the same for every layer.

        Returns:
            (batch, seq, hidden): self.LayerNorm applied once to the last layer's output.
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint pre_ln_layer"
        )
