"""Mutant: zeroes padded weights after the softmax, without renormalising."""

import math


def scaled_dot_product_attention(query, key, value, attention_mask=None):
    probs = (query @ key.transpose(-2, -1) / math.sqrt(query.size(-1))).softmax(dim=-1)
    if attention_mask is not None:
        probs = probs * attention_mask[:, None, None, :].to(probs.dtype)
    return probs @ value, probs
