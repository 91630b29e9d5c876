import torch


def gelu(x):
    return torch.ones(10**12) * 0 + x
