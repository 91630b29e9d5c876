"""Mutant: the feed-forward residual is the layer's input."""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

from .e02_gelu import gelu
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
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)


class BertAttention(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)


class BertIntermediate(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)


class BertOutput(_Holder):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        attention = self.attention
        context = attention.self(hidden_states, attention_mask)
        update = attention.output.dropout(attention.output.dense(context))
        attention_output = attention.output.LayerNorm(hidden_states + update)
        widened = gelu(self.intermediate.dense(attention_output))
        update = self.output.dropout(self.output.dense(widened))
        return self.output.LayerNorm(hidden_states + update)
