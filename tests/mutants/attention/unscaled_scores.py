"""Mutant: no 1/sqrt(d_head)."""

from .e03_padding_mask import additive_attention_mask


def scaled_dot_product_attention(query, key, value, attention_mask=None):
    scores = query @ key.transpose(-2, -1)
    if attention_mask is not None:
        scores = scores + additive_attention_mask(attention_mask, scores.dtype)
    probs = scores.softmax(dim=-1)
    return probs @ value, probs
