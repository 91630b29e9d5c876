"""Mutant: blocks the real tokens instead of the padding."""

import torch


def additive_attention_mask(attention_mask, dtype=torch.float32):
    pad = attention_mask.to(torch.bool)[:, None, None, :]
    return torch.zeros(pad.shape, dtype=dtype).masked_fill(pad, torch.finfo(dtype).min)
