"""Mutant: never passes attention_mask on to the attention."""

from torch import nn

from .e04_attention import scaled_dot_product_attention


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
        context, _ = scaled_dot_product_attention(q, k, v)
        return self.merge_heads(context)
