"""Solution rope: rotate each (i, i + d/2) pair of q and k by position · θ_i.

Why relative: write a pair as a complex number. RoPE multiplies q's pair by e^{i m θ} and k's
by e^{i n θ}; their (real) dot product is Re[q e^{i m θ} · conj(k e^{i n θ})] =
Re[q conj(k) e^{i (m - n) θ}]: only m - n survives (Su et al. 2021, §3.2). Nothing is
added to the embeddings, so the residual stream carries no position at all; and the values
are left alone — the output mixes token contents, only the weights depend on position.

Which pairs: the paper (and GPT-J) pair neighbours (2i, 2i + 1); transformers' Llama,
GPT-NeoX and ModernBERT pair i with i + d/2 ("rotate_half"). Both are rotations with the
same angles on permuted dimensions; a checkpoint works with one of them only (transformers'
Llama conversion script permutes W_q and W_k rows to switch).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .e04_attention import scaled_dot_product_attention


def rope_inv_freq(head_dim: int, base: float = 10000.0) -> Tensor:
    # θ_i = base^(-2i/d): arange(0, d, 2) already holds 2i. The frequencies fall
    # geometrically from 1 rad per position (i = 0) to nearly 1/base (the last pair), so
    # some pairs turn fast (local order) and some barely at all (long range).
    exponents = torch.arange(0, head_dim, 2, dtype=torch.int64).to(torch.float32) / head_dim
    return 1.0 / (base**exponents)


def rope_cos_sin(
    position_ids: Tensor, inv_freq: Tensor, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    # Angles in float32 whatever the model's dtype: position 4000 times θ in bfloat16 would
    # keep 2-3 significant digits of the angle (transformers forces float32 here too).
    angles = position_ids[..., None].to(torch.float32) * inv_freq.to(torch.float32)
    # rotate_half layout: dims i and i + d/2 share the angle of frequency i.
    angles = torch.cat((angles, angles), dim=-1)  # (batch, seq, head_dim)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def rotate_half(x: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    # (x1, x2) -> (-x2, x1) is multiplication by i of the complex number x1 + i·x2, so
    # x·cos + rotate_half(x)·sin = (x1 cos - x2 sin, x2 cos + x1 sin): a turn by +angle.
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(
    q: Tensor, k: Tensor, cos: Tensor, sin: Tensor, unsqueeze_dim: int = 1
) -> tuple[Tensor, Tensor]:
    cos, sin = cos.unsqueeze(unsqueeze_dim), sin.unsqueeze(unsqueeze_dim)  # broadcast heads
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def rope_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    position_ids: Tensor,
    attention_mask: Tensor | None = None,
    base: float = 10000.0,
) -> tuple[Tensor, Tensor]:
    inv_freq = rope_inv_freq(query.shape[-1], base)
    cos, sin = rope_cos_sin(position_ids, inv_freq, query.dtype)
    # Queries and keys only: the scores carry the relative position. Rotating the values
    # would make the output depend on absolute positions again (and break checkpoints).
    query, key = apply_rotary_pos_emb(query, key, cos, sin)
    return scaled_dot_product_attention(query, key, value, attention_mask)
