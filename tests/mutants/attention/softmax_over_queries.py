"""Mutant: softmax over dim=-2 (queries)."""

import math

from .e03_padding_mask import additive_attention_mask


def scaled_dot_product_attention(query, key, value, attention_mask=None):
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))
    if attention_mask is not None:
        scores = scores + additive_attention_mask(attention_mask, scores.dtype)
    probs = scores.softmax(dim=-2)
    return probs @ value, probs
