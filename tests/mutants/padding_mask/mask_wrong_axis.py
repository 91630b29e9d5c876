"""Mutant: lays the mask along the query axis."""

import torch


def additive_attention_mask(attention_mask, dtype=torch.float32):
    keep = attention_mask.to(torch.bool)[:, None, :, None]
    return torch.zeros(keep.shape, dtype=dtype).masked_fill(~keep, torch.finfo(dtype).min)
