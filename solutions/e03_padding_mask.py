"""Solution padding_mask: from a 0/1 padding mask to an additive attention bias.

Scores have shape (batch, heads, seq_q, seq_k). Padding is a property of keys, so the mask
varies along the last axis only and broadcasts over heads and queries: (batch, 1, 1, seq_k).
"""

from __future__ import annotations

import torch
from torch import Tensor


def additive_attention_mask(attention_mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    keep = attention_mask.to(torch.bool)[:, None, None, :]
    # The most negative finite value of the dtype (what transformers v5 uses). Google's BERT
    # used -10000.0, fine in float32. A hard-coded -1e9 overflows to -inf in float16, and
    # -inf turns a fully padded row into softmax(-inf, ..., -inf) = NaN.
    very_negative = torch.finfo(dtype).min
    mask = torch.zeros(keep.shape, dtype=dtype, device=attention_mask.device)
    return mask.masked_fill(~keep, very_negative)
