import torch


def gelu(x)
    return x * torch.sigmoid(1.702 * x)
