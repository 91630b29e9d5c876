"""Attention masks after BERT: causal, causal + padding, and the bidirectional sliding window.

BERT only hides padded *keys*. A decoder also hides the future (Radford et al. 2018; Vaswani
et al. 2017, §3.2.3: "masking out ... all values in the input of the softmax which correspond
to illegal connections"), and ModernBERT's local layers hide keys farther than a window.

Conventions, as in ``reference/``:

- a 2-D ``attention_mask`` (batch, kv_len) is 1 for real tokens, 0 for padding; it covers the
  cached past *and* the current tokens, exactly like the mask a transformers decoder takes;
- the masks built here are *additive*: 0 where a query may look, ``finfo(dtype).min`` where it
  may not, shape (batch, 1, q_len, kv_len) so they broadcast over heads. A finite minimum (not
  -inf) keeps a row with nothing to look at (a left-padding query) finite instead of NaN.

transformers builds the same tensors in ``masking_utils.py`` (``create_causal_mask``,
``create_bidirectional_sliding_window_mask``; ``eager_mask`` turns booleans into 0 / min).
"""

from __future__ import annotations

import torch
from torch import Tensor


def to_additive(allowed: Tensor, dtype: torch.dtype) -> Tensor:
    """Boolean "may attend" -> additive bias: 0 where allowed, the dtype's minimum elsewhere."""
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(
        ~allowed, torch.finfo(dtype).min
    )


def causal_allowed(q_len: int, kv_len: int, device: torch.device | None = None) -> Tensor:
    """(q_len, kv_len) booleans: query i may see key j iff j <= its absolute position.

    The queries are the *last* q_len of the kv_len positions (the first kv_len - q_len are the
    cached past), so with a KV cache the new token at position kv_len - 1 sees everything.
    """
    past = kv_len - q_len
    if past < 0:
        raise ValueError(f"q_len ({q_len}) cannot exceed kv_len ({kv_len})")
    q_pos = torch.arange(past, kv_len, device=device)[:, None]
    k_pos = torch.arange(kv_len, device=device)[None, :]
    return k_pos <= q_pos  # lower-triangular (shifted right by `past`)


def causal_mask(
    q_len: int,
    kv_len: int | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | None = None,
) -> Tensor:
    """The causal mask alone, additive, (1, 1, q_len, kv_len)."""
    kv_len = q_len if kv_len is None else kv_len
    return to_additive(causal_allowed(q_len, kv_len, device)[None, None], dtype)


def causal_padding_mask(
    attention_mask: Tensor, q_len: int | None = None, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Causal AND padding: query i sees key j iff j is not in its future and j is a real token.

    attention_mask: (batch, kv_len), 1 keep / 0 pad, over past + current tokens.
    q_len: how many of the last positions are queries (default: all, i.e. no cache).
    Returns the additive mask (batch, 1, q_len, kv_len).
    """
    kv_len = attention_mask.shape[-1]
    q_len = kv_len if q_len is None else q_len
    allowed = causal_allowed(q_len, kv_len, attention_mask.device)[None, None]
    allowed = allowed & attention_mask[:, None, None, :].bool()  # both conditions must hold
    return to_additive(allowed, dtype)


def sliding_window_mask(
    attention_mask: Tensor, half_window: int, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Bidirectional local attention: query i sees key j iff |i - j| <= half_window and j is real.

    ModernBERT's ``local_attention`` (e.g. 128) is the *whole* window; each token sees
    ``local_attention // 2`` tokens on each side plus itself (transformers:
    ``config.sliding_window = local_attention // 2``, ``sliding_window_bidirectional_overlay``).
    Returns the additive mask (batch, 1, seq, seq).
    """
    seq = attention_mask.shape[-1]
    pos = torch.arange(seq, device=attention_mask.device)
    near = (pos[:, None] - pos[None, :]).abs() <= half_window
    return to_additive(near[None, None] & attention_mask[:, None, None, :].bool(), dtype)


def padding_mask(attention_mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """BERT's padding-only mask, (batch, 1, 1, kv_len): every query sees every real key."""
    return to_additive(attention_mask[:, None, None, :].bool(), dtype)


def position_ids_from_attention_mask(attention_mask: Tensor) -> Tensor:
    """Positions that skip left padding: the first real token of every row is position 0.

    With left padding, ``arange(seq)`` would give a row padded by 3 the positions 3, 4, ...
    and so different RoPE rotations from the same text unpadded. Counting real tokens
    (cumsum - 1) fixes that; padded slots get 0 (they are masked anyway). This is what
    transformers' ``generate`` does for decoder-only models.
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)
