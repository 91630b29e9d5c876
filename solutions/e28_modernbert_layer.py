"""Solution modernbert_layer: BERT's encoder with five post-2018 changes, each a few lines.

1. No position table: positions enter as RoPE rotations of q and k inside every attention
   (your e23), so nothing caps the length at a learned table's size.
2. Pre-LN (your e27's idea): the stream is x + f(norm(x)), with one final_norm at the end;
   layer 0 skips its attention norm because the embeddings end with a LayerNorm already.
3. GeGLU feed-forward (your e26) instead of dense-GELU-dense.
4. No biases in linears or LayerNorms: fewer parameters, and (the paper argues) a better use of
   the parameter budget.
5. Alternating attention: every third layer global (full, RoPE base 160k for long range), the
   others local (a 128-token window, base 10k), which makes 8k-token inputs affordable.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from reference.variants import ModernBertConfig

from .e03_padding_mask import additive_attention_mask
from .e23_rope import apply_rotary_pos_emb, rope_cos_sin, rope_inv_freq
from .e26_geglu import GatedMLP


def sliding_window_mask(
    attention_mask: Tensor, local_attention: int, dtype: torch.dtype = torch.float32
) -> Tensor:
    # local_attention is the *whole* window: half of it on each side of the query, the query
    # itself included, so |i - j| <= local_attention // 2 (inclusive, as transformers'
    # sliding_window_bidirectional_overlay: distance <= sliding_window = local_attention // 2).
    seq = attention_mask.shape[-1]
    positions = torch.arange(seq, device=attention_mask.device)
    near = (positions[:, None] - positions[None, :]).abs() <= local_attention // 2  # (seq, seq)
    allowed = near[None, None] & attention_mask[:, None, None, :].bool()  # (batch, 1, seq, seq)
    bias = torch.zeros(allowed.shape, dtype=dtype, device=attention_mask.device)
    return bias.masked_fill(~allowed, torch.finfo(dtype).min)  # finite: no NaN on empty rows


class ModernBertEmbeddings(nn.Module):
    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.tok_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        self.drop = nn.Dropout(config.embedding_dropout)

    def forward(self, input_ids: Tensor) -> Tensor:
        # Token vectors only: no position, no token type (ModernBERT has one segment type).
        return self.drop(self.norm(self.tok_embeddings(input_ids)))


class ModernBertAttention(nn.Module):
    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.Wqkv = nn.Linear(
            config.hidden_size, 3 * config.hidden_size, bias=config.attention_bias
        )
        self.Wo = nn.Linear(config.hidden_size, config.hidden_size, bias=config.attention_bias)
        self.attn_drop = nn.Dropout(config.attention_dropout)
        self.out_drop = nn.Dropout(config.attention_dropout)

    def forward(self, hidden_states: Tensor, mask: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        batch, seq, _ = hidden_states.shape
        # One fused projection, laid out [q | k | v]: view as (batch, seq, 3, heads, head_dim)
        # so that index 0/1/2 of the third axis picks q/k/v and each splits into heads.
        qkv = self.Wqkv(hidden_states).view(batch, seq, 3, self.num_heads, self.head_dim)
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(dim=2))  # (batch, heads, seq, d)
        # Positions enter here and only here: rotate queries and keys, never values (values
        # carry content; the rotation only has to shape the scores q·k).
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim) + mask
        probs = self.attn_drop(scores.softmax(dim=-1))
        context = (probs @ v).transpose(1, 2).reshape(batch, seq, -1)  # merge the heads
        return self.out_drop(self.Wo(context))


class ModernBertEncoderLayer(nn.Module):
    def __init__(self, config: ModernBertConfig, layer_idx: int):
        super().__init__()
        self.is_global = config.is_global(layer_idx)
        self.attn = ModernBertAttention(config)
        self.mlp_norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        self.mlp = GatedMLP(
            config.hidden_size,
            config.intermediate_size,
            config.hidden_activation,
            config.mlp_bias,
            config.mlp_dropout,
        )
        # Layer 0 reads the embeddings, whose last operation is a LayerNorm: normalising again
        # would be redundant, so transformers puts an Identity there and the checkpoint has no
        # layers.0.attn_norm weights. A LayerNorm here would not load.
        self.attn_norm = (
            nn.Identity()
            if layer_idx == 0
            else nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        )

    def forward(self, hidden_states: Tensor, mask: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        hidden_states = hidden_states + self.attn(self.attn_norm(hidden_states), mask, cos, sin)
        return hidden_states + self.mlp(self.mlp_norm(hidden_states))


class ModernBertModel(nn.Module):
    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.config = config
        self.embeddings = ModernBertEmbeddings(config)
        self.layers = nn.ModuleList(
            ModernBertEncoderLayer(config, i) for i in range(config.num_hidden_layers)
        )
        self.final_norm = nn.LayerNorm(
            config.hidden_size, eps=config.norm_eps, bias=config.norm_bias
        )

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        config = self.config
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden_states = self.embeddings(input_ids)
        dtype = hidden_states.dtype
        # Two masks and two rotations, built once and shared by the layers of each kind.
        # Global layers: padding only. Local layers: padding AND distance.
        masks = {
            True: additive_attention_mask(attention_mask, dtype),
            False: sliding_window_mask(attention_mask, config.local_attention, dtype),
        }
        # Global layers look far, so their rotations must turn slowly enough not to wrap
        # around over 8k positions: a larger base (160k). Local layers only see ±64 tokens.
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)[None]  # (1, seq)
        head_dim = config.hidden_size // config.num_attention_heads
        rotations = {
            True: rope_cos_sin(positions, rope_inv_freq(head_dim, config.global_rope_theta), dtype),
            False: rope_cos_sin(positions, rope_inv_freq(head_dim, config.local_rope_theta), dtype),
        }
        for layer in self.layers:
            hidden_states = layer(
                hidden_states, masks[layer.is_global], *rotations[layer.is_global]
            )
        # Pre-LN: nothing normalised the stream inside the stack; this does, once.
        return self.final_norm(hidden_states)
