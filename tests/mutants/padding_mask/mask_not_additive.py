"""Mutant: returns the 0/1 mask, reshaped, as the bias."""

import torch


def additive_attention_mask(attention_mask, dtype=torch.float32):
    return attention_mask[:, None, None, :].to(dtype)
