"""Rotary position embedding (RoPE; Su et al. 2021, "RoFormer", §3.2).

Each pair of dimensions of a query/key is rotated by an angle ``position * θ_i`` with
``θ_i = base^(-2i/d)``. Because a rotation by m·θ dotted with a rotation by
n·θ depends only on (m - n)·θ, the score q_m·k_n sees *relative* position; nothing is added to
the token embeddings, and the values are not rotated.

Which dimensions form a pair is a convention:

- **rotate_half** (transformers' Llama, ModernBERT, GPT-NeoX): dim i pairs with i + d/2.
  ``cos``/``sin`` are ``cat(freqs, freqs)``; ``x·cos + rotate_half(x)·sin``.
- **interleaved** (the paper's own form, GPT-J, Meta's original Llama code): dim 2i pairs with
  2i + 1. Same math on permuted dimensions: converting a checkpoint between the two conventions
  permutes the rows of W_q and W_k (what transformers' Llama conversion script does).

transformers: ``models/llama/modeling_llama.py`` (``LlamaRotaryEmbedding``, ``rotate_half``,
``apply_rotary_pos_emb``), ``models/modernbert`` (same functions, one base per layer type),
``models/gptj/modeling_gptj.py`` (``rotate_every_two``, interleaved).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def rope_inv_freq(head_dim: int, base: float = 10000.0) -> Tensor:
    """θ_i = base^(-2i/d) for i = 0 .. d/2 - 1: fast rotation first, slow last. (head_dim/2,)"""
    return 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float) / head_dim))


class RotaryEmbedding(nn.Module):
    """cos/sin caches for every position up to ``max_position_embeddings``, in rotate_half layout.

    ``forward(position_ids)`` looks the rows up: (batch, seq, head_dim) each. The angles are
    computed in fp32 whatever the model dtype (large positions times small θ lose precision in
    bf16), then cast, as transformers does.
    """

    def __init__(self, head_dim: int, base: float = 10000.0, max_position_embeddings: int = 2048):
        super().__init__()
        self.head_dim, self.base = head_dim, base
        inv_freq = rope_inv_freq(head_dim, base)
        positions = torch.arange(max_position_embeddings, dtype=torch.float)
        freqs = positions[:, None] * inv_freq[None, :]  # (max_pos, head_dim/2): angle m·θ_i
        emb = torch.cat((freqs, freqs), dim=-1)  # dim i and i + d/2 share an angle
        # Derived from the config, never trained: not saved in the state dict (as in HF).
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.register_buffer("cos_cached", emb.cos(), persistent=False)
        self.register_buffer("sin_cached", emb.sin(), persistent=False)

    def forward(
        self, position_ids: Tensor, dtype: torch.dtype = torch.float32
    ) -> tuple[Tensor, Tensor]:
        """position_ids (batch, seq) or (seq,) -> (cos, sin), each (..., seq, head_dim)."""
        if int(position_ids.max()) >= self.cos_cached.shape[0]:
            raise ValueError(
                f"position {int(position_ids.max())} is past the cache "
                f"(max_position_embeddings={self.cos_cached.shape[0]})"
            )
        return self.cos_cached[position_ids].to(dtype), self.sin_cached[position_ids].to(dtype)


def rotate_half(x: Tensor) -> Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last dim: a 90° turn of each (i, i + d/2)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(
    q: Tensor, k: Tensor, cos: Tensor, sin: Tensor, unsqueeze_dim: int = 1
) -> tuple[Tensor, Tensor]:
    """Rotate queries and keys: x·cos + rotate_half(x)·sin (rotate_half convention).

    q, k: (batch, heads, seq, head_dim); cos, sin: (batch, seq, head_dim), broadcast over heads
    by inserting a dim at ``unsqueeze_dim`` (use 2 for (batch, seq, heads, head_dim) inputs).
    """
    cos, sin = cos.unsqueeze(unsqueeze_dim), sin.unsqueeze(unsqueeze_dim)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


# --- the interleaved (GPT-J) pairing, for contrast ---------------------------------------------


def rotate_every_two(x: Tensor) -> Tensor:
    """(x0, x1, x2, x3, ...) -> (-x1, x0, -x3, x2, ...): a 90° turn of each (2i, 2i + 1) pair."""
    x_even, x_odd = x[..., 0::2], x[..., 1::2]
    return torch.stack((-x_odd, x_even), dim=-1).flatten(-2)


def apply_rotary_pos_emb_interleaved(
    q: Tensor, k: Tensor, cos: Tensor, sin: Tensor, unsqueeze_dim: int = 1
) -> tuple[Tensor, Tensor]:
    """The same rotation with GPT-J's pairing. Takes the rotate_half-layout cos/sin of
    ``RotaryEmbedding`` and repeats each angle twice in a row (θ0, θ0, θ1, θ1, ...)."""
    half = cos.shape[-1] // 2
    cos = cos[..., :half].repeat_interleave(2, dim=-1).unsqueeze(unsqueeze_dim)
    sin = sin[..., :half].repeat_interleave(2, dim=-1).unsqueeze(unsqueeze_dim)
    return q * cos + rotate_every_two(q) * sin, k * cos + rotate_every_two(k) * sin


def interleaved_to_half(x: Tensor) -> Tensor:
    """Reorder the last dim from pairs (2i, 2i+1) to halves (i, i + d/2): evens first, then odds.

    ``interleaved(x) == half_to_interleaved(rotate_half_rope(interleaved_to_half(x)))``; applied to
    the output rows of W_q / W_k this converts a checkpoint from one convention to the other.
    """
    return torch.cat((x[..., 0::2], x[..., 1::2]), dim=-1)


def half_to_interleaved(x: Tensor) -> Tensor:
    """Inverse of :func:`interleaved_to_half`."""
    first, second = x.chunk(2, dim=-1)
    return torch.stack((first, second), dim=-1).flatten(-2)
