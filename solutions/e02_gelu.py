"""Solution gelu: the exact GELU activation (Hendrycks & Gimpel 2016).

GELU weighs its input by how likely a standard normal variable is to be below it:
GELU(x) = x * P(X <= x) = x * Phi(x). Phi has a closed form through the error function:
Phi(x) = (1 + erf(x / sqrt(2))) / 2.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def gelu(x: Tensor) -> Tensor:
    # Exact form, as transformers' "gelu" (torch.nn.functional.gelu with approximate="none").
    # The tanh form 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))) was a speed trick
    # in google-research/bert's modeling.py; it is not what HF's BERT checkpoints run.
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
