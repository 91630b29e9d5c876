"""Mutant: the one-pass variance E[x^2] - E[x]^2, which cancels catastrophically when the
vectors share a large offset."""

import torch


def layer_norm(x, weight, bias, eps=1e-12):
    mean = x.mean(dim=-1, keepdim=True)
    var = (x * x).mean(dim=-1, keepdim=True) - mean * mean
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
