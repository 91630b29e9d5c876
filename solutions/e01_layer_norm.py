"""Solution layer_norm: LayerNorm from scratch.

LayerNorm normalises each token's vector on its own (over the hidden dimension), unlike
BatchNorm, which normalises each feature across the batch. That is why it works with any
batch size and with padding: no statistic is shared between tokens or sentences.
"""

from __future__ import annotations

import torch
from torch import Tensor


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-12) -> Tensor:
    # Statistics over the last dimension only; keepdim so they broadcast back over hidden.
    mean = x.mean(dim=-1, keepdim=True)
    # The *biased* variance (divide by N, not N - 1): LayerNorm normalises the vector it
    # sees, it does not estimate a population variance. torch.var defaults to N - 1
    # (Bessel's correction), which is a classic source of a ~1/N error.
    var = (x - mean).pow(2).mean(dim=-1, keepdim=True)
    # eps goes *inside* the square root, next to the variance (as in torch.nn.LayerNorm and
    # google-research/bert's tf.contrib.layers.layer_norm).
    normalised = (x - mean) * torch.rsqrt(var + eps)
    return normalised * weight + bias
