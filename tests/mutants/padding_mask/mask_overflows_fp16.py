"""Mutant: a hard-coded -1e9, which is -inf in float16."""

import torch


def additive_attention_mask(attention_mask, dtype=torch.float32):
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * -1e9
