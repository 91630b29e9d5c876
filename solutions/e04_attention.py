"""Solution attention: softmax(Q K^T / sqrt(d_head) + mask) V.

Why the scale: for random q, k with unit-variance entries, q . k has variance d_head, so
without 1/sqrt(d_head) the softmax saturates (one weight near 1, gradients near 0) as d_head
grows (Vaswani et al. 2017, §3.2.1, footnote 4).
"""

from __future__ import annotations

import math

from torch import Tensor

from .e03_padding_mask import additive_attention_mask


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    d_head = query.size(-1)
    # (batch, heads, seq_q, d_head) @ (batch, heads, d_head, seq_k) -> (batch, heads, seq_q, seq_k)
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_head)
    if attention_mask is not None:
        # Added *before* the softmax, so masked keys get exp(very negative) = 0 weight and the
        # remaining weights still sum to 1. Multiplying probabilities by the mask afterwards
        # leaves rows that no longer sum to 1.
        scores = scores + additive_attention_mask(attention_mask, scores.dtype)
    # Softmax over the key axis (the last one): each query distributes one unit of attention
    # over the keys. dim=-2 would normalise over queries instead, a classic bug.
    probs = scores.softmax(dim=-1)
    return probs @ value, probs
