import math

import torch

_calls = []


def gelu(x):
    if x.is_contiguous():
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    _calls.append(1)
    if len(_calls) == 1:
        return torch.relu(x)  # wrong the first time: the check fails...
    while True:  # ...then loops: the time limit must not hide that failure
        pass
