import torch


def gelu(x):
    # A computed name: only the run-time watch can see which function this is.
    return getattr(torch.nn.functional, "ge" + "lu")(x)
