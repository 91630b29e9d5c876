"""Exercise padding_mask: turn a 0/1 padding mask into an additive attention mask.

Batches are padded to one length; attention must give padded keys zero weight. BERT adds a
large negative number to their scores before the softmax. Getting the shape (which axis is
the key axis) and the constant right is a favourite follow-up question.
"""

from __future__ import annotations

import torch
from torch import Tensor


def additive_attention_mask(attention_mask: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """Build the bias added to attention scores.

    Args:
        attention_mask: (batch, seq) integers or bools, 1 = real token (attend to it),
            0 = padding (ignore it).
        dtype: the floating dtype of the scores the mask will be added to.

    Returns:
        (batch, 1, 1, seq) of ``dtype``: 0.0 where attention_mask is 1, and a large negative
        *finite* number where it is 0, so that it broadcasts over heads and queries and
        masks keys. The value must stay finite in ``dtype`` (think float16).
    """
    raise NotImplementedError(
        "additive_attention_mask is yours to write; stuck? run: bertprep hint padding_mask"
    )
