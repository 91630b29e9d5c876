"""Solution rms_norm: x / sqrt(mean(x²) + eps) · g, statistics in float32.

LayerNorm does two things: re-centre (subtract the mean) and re-scale (divide by the standard
deviation). Zhang & Sennrich (2019) found the re-centring is not what makes it work: keeping
only the re-scaling by the root mean square gives the same quality with one reduction fewer
(no mean), and no bias. Because the mean is not removed, RMS(x) is sqrt(mean² + variance):
a vector far from zero is scaled down by its offset too, not just by its spread.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states: Tensor) -> Tensor:
        input_dtype = hidden_states.dtype
        # Float32 for the statistics: in float16, x² overflows for |x| >= 256 (65504 is the
        # largest float16) and a mean of many small squares loses digits. transformers'
        # LlamaRMSNorm upcasts for this reason; so did Meta's original Llama code.
        x = hidden_states.to(torch.float32)
        mean_square = x.pow(2).mean(dim=-1, keepdim=True)  # no mean subtracted: that is LN
        # eps inside the square root, added to the mean square (rsqrt = 1 / sqrt).
        # x / (x.norm(dim=-1) + eps) would be an L2 normalisation, smaller by sqrt(hidden).
        x = x * torch.rsqrt(mean_square + self.variance_epsilon)
        # Back to the input dtype *before* the gain, as LlamaRMSNorm does, so a half-precision
        # model keeps half-precision activations (weight * float32 would return float32).
        return self.weight * x.to(input_dtype)
