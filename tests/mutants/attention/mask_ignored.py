"""Mutant: never applies the mask."""

import math


def scaled_dot_product_attention(query, key, value, attention_mask=None):
    probs = (query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))).softmax(dim=-1)
    return probs @ value, probs
