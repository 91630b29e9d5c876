"""Mutant: BatchNorm-style statistics over the batch axis."""

import torch


def layer_norm(x, weight, bias, eps=1e-12):
    mean = x.mean(dim=0, keepdim=True)
    var = (x - mean).pow(2).mean(dim=0, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight + bias
