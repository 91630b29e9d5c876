"""Solution multi_head: project, split into heads, attend per head, merge.

Multi-head attention costs the same as one wide head (the projections are hidden x hidden
either way) but lets each head learn its own notion of "relevant": d_head = hidden / heads
features each. The only subtle code is the reshaping, so it lives in two small methods.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

from .e04_attention import scaled_dot_product_attention


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def split_heads(self, x: Tensor) -> Tensor:
        batch, seq, _ = x.shape
        # view: the hidden axis becomes (heads, d_head) — head h owns a contiguous slice of
        # features. transpose: heads move in front of seq, so each head sees a (seq, d_head)
        # matrix. A bare x.view(batch, heads, seq, d_head) has the right *shape* but cuts the
        # memory in the wrong place: "head 0" would get the first seq / heads positions' full
        # vectors instead of every position's first d_head features.
        x = x.view(batch, seq, self.num_attention_heads, self.attention_head_size)
        return x.transpose(1, 2)

    def merge_heads(self, x: Tensor) -> Tensor:
        batch, heads, seq, d_head = x.shape
        # Undo the transpose first (seq back in front of heads), then glue the heads side by
        # side. After a transpose the tensor is not contiguous, so .view would raise:
        # reshape copies when it must (or write .contiguous().view(...)).
        return x.transpose(1, 2).reshape(batch, seq, heads * d_head)

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        query = self.split_heads(self.query(hidden_states))
        key = self.split_heads(self.key(hidden_states))
        value = self.split_heads(self.value(hidden_states))
        # Your attention scales by sqrt(d_head), the width of one head — not sqrt(hidden):
        # the dot products it scales are taken over d_head features. The 0/1 mask goes in
        # as it is; e04 turns it into the additive bias over keys.
        context, probs = scaled_dot_product_attention(query, key, value, attention_mask)
        if self.training and self.dropout.p > 0:
            # BERT drops whole attention weights (after the softmax, before mixing values),
            # so in training the context is recomputed from the dropped probabilities.
            context = self.dropout(probs) @ value
        return self.merge_heads(context)
