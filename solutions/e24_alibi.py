"""Solution alibi: a fixed, per-head linear penalty on distance, added to the scores.

Why it extrapolates: nothing in the model is tied to an absolute position. A learned
position table has no row 1025 for a model trained on 1024 tokens; sinusoids have values the
model never saw. ALiBi only ever asks "how far back is this key?", and penalises far keys
so hard (head 0: -1/2 per token with 8 heads) that what lies beyond the training length
contributes next to nothing (Press et al. 2022, §3-4).

Why several slopes: each head gets its own rate of forgetting, from very local (1/2) to
almost flat (1/256), so the layer still sees long-range context through the gentle heads.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .e21_causal_attention import causal_mask


def _geometric(n: int) -> list[float]:
    """2^(-8/n), 2^(-16/n), ..., 2^(-8): start and ratio both 2^(-8/n)."""
    start = 2.0 ** (-8.0 / n)
    return [start ** (i + 1) for i in range(n)]


def alibi_slopes(num_heads: int) -> Tensor:
    closest = 2 ** math.floor(math.log2(num_heads))  # largest power of two <= num_heads
    slopes = _geometric(closest)
    if closest < num_heads:
        # The paper's rule for other head counts (its code; transformers' BLOOM copies it):
        # take the slopes for 2 * closest heads, which interleave with the ones above, and
        # add every other one — not simply the sequence for num_heads.
        slopes += _geometric(2 * closest)[0::2][: num_heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(num_heads: int, q_len: int, kv_len: int | None = None) -> Tensor:
    kv_len = q_len if kv_len is None else kv_len
    query_positions = torch.arange(kv_len - q_len, kv_len)[:, None]  # the last q_len positions
    key_positions = torch.arange(kv_len)[None, :]
    distance = query_positions - key_positions  # i - j: how far back the key is
    # A *penalty*: -m · distance. (+m · distance would reward far tokens.)
    return -alibi_slopes(num_heads)[:, None, None] * distance


def alibi_attention(
    query: Tensor, key: Tensor, value: Tensor, attention_mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    batch, heads, seq, d_head = query.shape
    if attention_mask is None:
        attention_mask = torch.ones(batch, seq, dtype=torch.long, device=query.device)
    # The bias goes in *after* the 1/sqrt(d_head) scaling (Press et al. §3: softmax(q K^T +
    # m · [-(i - 1), ..., -2, -1, 0]), the scaling left implicit); dividing it as well would
    # shrink every slope by sqrt(d_head).
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_head)
    scores = scores + alibi_bias(heads, seq).to(scores.dtype)  # (heads, seq, seq) broadcasts
    scores = scores + causal_mask(attention_mask, scores.dtype)
    probs = scores.softmax(dim=-1)
    return probs @ value, probs
