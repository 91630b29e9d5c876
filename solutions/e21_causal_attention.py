"""Solution causal_attention: the decoder's mask is "not in the future" AND "a real key".

Encoder (BERT): query i sees every real key. Decoder (GPT, Llama): query i sees real keys
j <= i only. The causal part does not depend on the data, only on positions: a
lower-triangular (seq, seq) pattern, the same for every batch row and head. The padding part
depends on the row: (batch, 1, 1, seq) along the keys. Combine them as booleans (logical
AND), *then* turn the result into one additive mask: adding two finfo.min masks instead
overflows to -inf where both block a key.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .e03_padding_mask import additive_attention_mask


def causal_mask(attention_mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    seq = attention_mask.shape[-1]
    # Query i (rows) may see key j (columns) iff j <= i: the lower triangle *including* the
    # diagonal (a token always sees itself). torch.tril keeps j <= i + diagonal, so the
    # default diagonal=0 is right; diagonal=1 would leak the next token, -1 would hide the
    # token from itself (and leave the first query with nothing to attend to).
    not_future = torch.ones(seq, seq, dtype=torch.bool, device=attention_mask.device).tril()
    # Padding is a property of keys: it varies along the last axis.
    real_key = attention_mask.to(torch.bool)[:, None, None, :]  # (batch, 1, 1, seq)
    allowed = not_future[None, None] & real_key  # (batch, 1, seq, seq)
    # A finite minimum, not -inf: with left padding the first (padded) query of a row has no
    # allowed key at all, and softmax over a row of -inf is NaN, which would then spread
    # through every later layer. With finfo.min the row is merely uniform, and ignored.
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(
        ~allowed, torch.finfo(dtype).min
    )


def causal_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None = None,
    is_causal: bool = True,
) -> tuple[Tensor, Tensor]:
    batch, _, seq, d_head = query.shape
    if attention_mask is None:
        attention_mask = torch.ones(batch, seq, dtype=torch.long, device=query.device)
    if is_causal:
        mask = causal_mask(attention_mask, query.dtype)  # (batch, 1, seq, seq)
    else:
        mask = additive_attention_mask(attention_mask, query.dtype)  # BERT: (batch, 1, 1, seq)
    scores = query @ key.transpose(-2, -1) / math.sqrt(d_head)
    # The mask goes in *before* the softmax, so the allowed keys' weights still sum to 1.
    probs = (scores + mask).softmax(dim=-1)
    return probs @ value, probs
