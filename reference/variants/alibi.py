"""ALiBi: attention with linear biases (Press et al. 2022, "Train Short, Test Long", §3).

No position embeddings at all: each head h adds a penalty proportional to the distance to the
key, ``-m_h · (i - j)``, to the attention scores. The slopes m_h form a geometric sequence fixed
before training: for n heads (n a power of 2) it starts at 2^(-8/n) with that same ratio, e.g.
n = 8: 1/2, 1/4, ..., 1/256. For other n the paper takes the 2^⌊log2 n⌋ slopes of the nearest
smaller power of two, then fills up with every other slope of the sequence for twice that
number (the code in the paper's repository; transformers: ``_get_alibi_slopes``).

Two equivalent forms of the bias:

- relative (the paper's picture): bias[h, i, j] = -m_h · (i - j) for the keys j <= i;
- per key (BLOOM's ``build_alibi_tensor``): bias[h, j] = m_h · j, the same for every query.
  It differs from the relative form by m_h · i, a constant within each query row, and softmax
  ignores a constant added to a whole row, so under the causal mask both give the same
  attention. The key position j counts real tokens only (cumsum of the mask), so left padding
  does not shift it.

transformers: ``models/bloom/modeling_bloom.py`` (``_get_alibi_slopes``, ``build_alibi_tensor``);
``models/falcon`` has a copy.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _power_of_two_slopes(n: int) -> list[float]:
    start = 2.0 ** (-8.0 / n)  # the first slope and the ratio: 2^(-8/n)
    return [start ** (i + 1) for i in range(n)]


def alibi_slopes(num_heads: int) -> Tensor:
    """(num_heads,) float32 slopes, largest (most local head) first."""
    closest = 2 ** math.floor(math.log2(num_heads))
    slopes = _power_of_two_slopes(closest)
    if closest != num_heads:  # interleave in the missing heads from the 2·closest sequence
        slopes += _power_of_two_slopes(2 * closest)[0::2][: num_heads - closest]
    return torch.tensor(slopes, dtype=torch.float32)


def alibi_bias(q_len: int, kv_len: int | None = None, num_heads: int = 8) -> Tensor:
    """The relative form, (num_heads, q_len, kv_len): -m_h · (i - j), queries being the last
    q_len positions. Future keys (j > i) get a positive value: combine with a causal mask."""
    kv_len = q_len if kv_len is None else kv_len
    q_pos = torch.arange(kv_len - q_len, kv_len)[:, None]
    distance = q_pos - torch.arange(kv_len)[None, :]  # i - j
    return -alibi_slopes(num_heads)[:, None, None] * distance


def build_alibi_tensor(attention_mask: Tensor, num_heads: int, dtype: torch.dtype) -> Tensor:
    """BLOOM's per-key form: m_h · (number of real tokens before key j), zero on padding.

    attention_mask (batch, seq) 1/0 -> (batch · num_heads, 1, seq), to add to the scores of
    every query (the layout BLOOM's ``baddbmm`` expects).
    """
    batch, seq = attention_mask.shape
    key_pos = ((attention_mask.cumsum(-1) - 1) * attention_mask)[:, None, :]  # (batch, 1, seq)
    slopes = alibi_slopes(num_heads).to(attention_mask.device)
    bias = slopes[None, :, None] * key_pos  # (batch, heads, seq)
    return bias.reshape(batch * num_heads, 1, seq).to(dtype)
