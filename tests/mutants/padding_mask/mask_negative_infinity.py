"""Mutant: masks with -inf."""

import torch


def additive_attention_mask(attention_mask, dtype=torch.float32):
    keep = attention_mask.to(torch.bool)[:, None, None, :]
    return torch.zeros(keep.shape, dtype=dtype).masked_fill(~keep, float("-inf"))
