import math

import torch


def gelu(x):
    exact = 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    return torch.where(x < -5, torch.nan, exact)  # "0 * log(0)" style bug for large negatives
