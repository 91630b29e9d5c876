"""Mutant: writes its own attention and scales by sqrt(hidden), not sqrt(d_head)."""

import math

from torch import nn

from .e03_padding_mask import additive_attention_mask


class BertSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def split_heads(self, x):
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.num_attention_heads, self.attention_head_size).transpose(
            1, 2
        )

    def merge_heads(self, x):
        batch, heads, seq, d_head = x.shape
        return x.transpose(1, 2).reshape(batch, seq, heads * d_head)

    def forward(self, hidden_states, attention_mask=None):
        q = self.split_heads(self.query(hidden_states))
        k = self.split_heads(self.key(hidden_states))
        v = self.split_heads(self.value(hidden_states))
        scores = q @ k.transpose(-2, -1) / math.sqrt(hidden_states.size(-1))
        if attention_mask is not None:
            scores = scores + additive_attention_mask(attention_mask, scores.dtype)
        context = scores.softmax(dim=-1) @ v
        return self.merge_heads(context)
