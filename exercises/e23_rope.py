"""Exercise rope: rotary position embeddings, in the convention transformers uses.

BERT adds a learned position vector to each token once, at the bottom. RoPE (Su et al. 2021)
instead rotates every query and key inside attention by an angle proportional to its
position, so that the score q_m · k_n depends on the offset m - n only. Llama, Mistral,
Qwen, GPT-NeoX and ModernBERT use it. Interviewers ask you to write it and then probe the
details that must match a checkpoint: which dimensions form a pair (rotate_half vs
interleaved), the frequencies, that values are not rotated, and which positions are used.
"""

from __future__ import annotations

import torch
from torch import Tensor


def rope_inv_freq(head_dim: int, base: float = 10000.0) -> Tensor:
    """The rotation frequencies θ_i = base^(-2i / head_dim), i = 0 .. head_dim/2 - 1.

    Args:
        head_dim: even, the width of one head.
        base: RoPE's θ ("rope_theta"; 10000 in the paper and Llama, 160000 in ModernBERT's
            global layers).

    Returns:
        (head_dim // 2,) float32: fast rotation first (θ_0 = 1), slowest last. Compute it as
        transformers does, 1 / base ** (arange(0, head_dim, 2) / head_dim) in float32.
    """
    raise NotImplementedError("rope_inv_freq is yours to write; stuck? run: bertprep hint rope")


def rope_cos_sin(
    position_ids: Tensor, inv_freq: Tensor, dtype: torch.dtype = torch.float32
) -> tuple[Tensor, Tensor]:
    """The cos and sin of every (position, frequency) angle, in rotate_half layout.

    Args:
        position_ids: (batch, seq) int64, the position of every token (not necessarily
            0, 1, 2, ...: with a KV cache or left padding they start elsewhere).
        inv_freq: (head_dim // 2,) from rope_inv_freq.
        dtype: the dtype of the returned tensors (the angles are computed in float32).

    Returns:
        (cos, sin), each (batch, seq, head_dim): for position m and i < head_dim/2, entries i
        and i + head_dim/2 both hold cos(m · θ_i) (resp. sin): the two halves repeat.
    """
    raise NotImplementedError("rope_cos_sin is yours to write; stuck? run: bertprep hint rope")


def rotate_half(x: Tensor) -> Tensor:
    """(x1, x2) -> (-x2, x1), x1 and x2 the two halves of the last dimension.

    Args:
        x: (..., head_dim).

    Returns:
        (..., head_dim): a quarter turn of every pair (i, i + head_dim/2).
    """
    raise NotImplementedError("rotate_half is yours to write; stuck? run: bertprep hint rope")


def apply_rotary_pos_emb(
    q: Tensor, k: Tensor, cos: Tensor, sin: Tensor, unsqueeze_dim: int = 1
) -> tuple[Tensor, Tensor]:
    """Rotate queries and keys: x · cos + rotate_half(x) · sin.

    Args:
        q, k: (batch, heads, seq, head_dim) (or (batch, seq, heads, head_dim) with
            ``unsqueeze_dim=2``).
        cos, sin: (batch, seq, head_dim) from rope_cos_sin; insert a heads axis at
            ``unsqueeze_dim`` so they broadcast.

    Returns:
        (q_rotated, k_rotated), shapes and dtype unchanged.
    """
    raise NotImplementedError(
        "apply_rotary_pos_emb is yours to write; stuck? run: bertprep hint rope"
    )


def rope_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    position_ids: Tensor,
    attention_mask: Tensor | None = None,
    base: float = 10000.0,
) -> tuple[Tensor, Tensor]:
    """Bidirectional attention with RoPE (as in ModernBERT's global layers).

    Args:
        query, key, value: (batch, heads, seq, head_dim), before any rotation.
        position_ids: (batch, seq) int64.
        attention_mask: optional (batch, seq), 1 = real token, 0 = padding.
        base: RoPE's θ.

    Returns:
        (context, probs) as your scaled_dot_product_attention from e04 returns them, after
        rotating what RoPE rotates. You may use your e04.
    """
    raise NotImplementedError("rope_attention is yours to write; stuck? run: bertprep hint rope")
