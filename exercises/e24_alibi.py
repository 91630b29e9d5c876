"""Exercise alibi: attention with linear biases (ALiBi) instead of position embeddings.

Press et al. (2022) drop position embeddings altogether: each head adds -m · distance to its
attention scores, with a fixed slope m per head, so attention fades with distance and a model
trained on 1024 tokens still works on 2048 ("train short, test long"). BLOOM and MPT use it.
Interviewers ask for the slopes (a geometric sequence, with a special rule when the number
of heads is not a power of two), where the bias is added, and why it extrapolates.
"""

from __future__ import annotations

import torch  # noqa: F401 (for you)
from torch import Tensor

from .e21_causal_attention import causal_mask  # noqa: F401 (yours, for alibi_attention)


def alibi_slopes(num_heads: int) -> Tensor:
    """One slope per head, fixed (never trained).

    For n heads, n a power of two: the geometric sequence that starts at 2^(-8/n) with ratio
    2^(-8/n) (n = 8: 1/2, 1/4, ..., 1/256). Otherwise, with p the largest power of two below
    n: the p slopes for p heads, followed by every other slope of the sequence for 2p heads
    (its 1st, 3rd, 5th, ...), as many as needed to reach n.

    Returns:
        (num_heads,) float32, head 0 first (the steepest).
    """
    raise NotImplementedError("alibi_slopes is yours to write; stuck? run: bertprep hint alibi")


def alibi_bias(num_heads: int, q_len: int, kv_len: int | None = None) -> Tensor:
    """The bias each head adds to its scores: -m_h · (i - j) for query i and key j.

    Args:
        num_heads: n.
        q_len: number of queries; they are the *last* q_len of the kv_len positions.
        kv_len: number of keys (None: q_len).

    Returns:
        (num_heads, q_len, kv_len) float32. Entry [h, a, j] is -slope[h] · (i - j) with
        i = kv_len - q_len + a the query's position: 0 on the diagonal, negative for the past
        (positive for the future, which the causal mask hides anyway).
    """
    raise NotImplementedError("alibi_bias is yours to write; stuck? run: bertprep hint alibi")


def alibi_attention(
    query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Causal self-attention with ALiBi, as in BLOOM (no position embeddings anywhere).

    Args:
        query, key, value: (batch, heads, seq, d_head); the number of heads sets the slopes.
        attention_mask: optional (batch, seq), 1 = real token, 0 = padding (left or right).

    Returns:
        (context, probs): (batch, heads, seq, d_head) and (batch, heads, seq, seq), with
        scores q·k / sqrt(d_head) + the ALiBi bias + the causal + padding mask (your
        causal_mask from e21), softmax over keys; in the dtype of query, and finite even
        where a query has no key to attend to (the first positions of a left-padded row).
    """
    raise NotImplementedError("alibi_attention is yours to write; stuck? run: bertprep hint alibi")
