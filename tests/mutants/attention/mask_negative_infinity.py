"""Mutant: -inf for padded keys (NaN when a row has no real key)."""

import math

import torch


def scaled_dot_product_attention(query, key, value, attention_mask=None):
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))
    if attention_mask is not None:
        pad = ~attention_mask.to(torch.bool)[:, None, None, :]
        scores = scores.masked_fill(pad, float("-inf"))
    probs = scores.softmax(dim=-1)
    return probs @ value, probs
