"""Solution kv_cache: prefill once, then one token per step against cached keys and values.

Why the keys and values may be cached: in a causal model the key and value of token j are
functions of tokens 0..j only, and later tokens never change them. (Not so in BERT: every
token sees the whole sentence, so appending a token changes every earlier representation —
an encoder has nothing to cache.)

What it costs: 2 (keys and values) · layers · batch · heads · seq · d_head numbers, e.g.
Llama-2-7B (32 layers, 32 heads of 128) at 4096 tokens in float16: 2 · 32 · 4096 · 4096 · 2
bytes = 2 GiB per sequence. What it saves: each step projects one token instead of t, and
its attention is one query against t keys: O(t) instead of O(t²).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .e21_causal_attention import causal_mask


class KVCache:
    def __init__(self) -> None:
        self.keys: list[Tensor] = []
        self.values: list[Tensor] = []

    def update(self, layer_idx: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        if layer_idx == len(self.keys):  # the first call for this layer: prefill
            self.keys.append(key)
            self.values.append(value)
        else:
            # Append along the sequence axis, dim=-2 of (batch, heads, seq, d_head). dim=1
            # would add heads, dim=-1 would widen every key: shapes still broadcast or
            # multiply in some cases, and the numbers are silently wrong.
            self.keys[layer_idx] = torch.cat((self.keys[layer_idx], key), dim=-2)
            self.values[layer_idx] = torch.cat((self.values[layer_idx], value), dim=-2)
        return self.keys[layer_idx], self.values[layer_idx]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.keys[layer_idx].shape[-2] if layer_idx < len(self.keys) else 0


class CachedSelfAttention(nn.Module):
    def __init__(self, hidden_size: int, num_heads: int, layer_idx: int = 0):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.layer_idx = layer_idx
        self.q_proj = nn.Linear(hidden_size, hidden_size, bias=False)
        self.k_proj = nn.Linear(hidden_size, hidden_size, bias=False)
        self.v_proj = nn.Linear(hidden_size, hidden_size, bias=False)
        self.o_proj = nn.Linear(hidden_size, hidden_size, bias=False)

    def split(self, x: Tensor) -> Tensor:
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self, hidden_states: Tensor, attention_mask: Tensor, cache: KVCache | None = None
    ) -> Tensor:
        batch, q_len, hidden = hidden_states.shape
        q = self.split(self.q_proj(hidden_states))  # (batch, heads, q_len, d)
        k = self.split(self.k_proj(hidden_states))  # only the new positions' keys...
        v = self.split(self.v_proj(hidden_states))
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v)  # ...joined to the cached ones
        # The causal + padding mask over all kv_len positions, of which the queries are the
        # *last* q_len rows: query i of this call sits at position past + i. Rows [:q_len]
        # would give the new token at decode time the first row, which sees key 0 only.
        mask = causal_mask(attention_mask, hidden_states.dtype)[:, :, -q_len:, :]
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (batch, heads, q, kv)
        probs = (scores + mask).softmax(dim=-1)
        context = (probs @ v).transpose(1, 2).reshape(batch, q_len, hidden)
        return self.o_proj(context)


class TinyDecoder(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        num_heads: int,
        num_layers: int,
        max_position_embeddings: int,
    ):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, hidden_size)
        self.wpe = nn.Embedding(max_position_embeddings, hidden_size)
        self.layers = nn.ModuleList(
            CachedSelfAttention(hidden_size, num_heads, layer_idx=i) for i in range(num_layers)
        )

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, cache: KVCache | None = None
    ) -> Tensor:
        batch, q_len = input_ids.shape
        past = cache.get_seq_length() if cache is not None else 0
        if attention_mask is None:
            attention_mask = torch.ones(batch, past + q_len, dtype=torch.long,
                                        device=input_ids.device)  # fmt: skip
        # Positions continue from the cache: the new token is *not* at position 0. And they
        # count real tokens only, so that a prompt left-padded by 3 gets positions 0, 1, ...
        # for its real tokens, exactly as alone (transformers' generate does the same
        # cumsum). past + arange(q_len) would count the padding.
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, -q_len:]
        hidden = self.wte(input_ids) + self.wpe(positions)
        for layer in self.layers:
            hidden = hidden + layer(hidden, attention_mask, cache)
        return hidden
