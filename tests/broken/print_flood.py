import math

import torch


def gelu(x):
    for _ in range(10**8):
        print("debugging gelu, debugging gelu, debugging gelu, debugging gelu, debugging")
    return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
