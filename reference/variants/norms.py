"""RMSNorm (Zhang & Sennrich 2019, "Root Mean Square Layer Normalization", §4).

LayerNorm re-centres (subtract the mean) and re-scales (divide by the std). RMSNorm keeps only
the re-scaling: x / sqrt(mean(x²) + eps) · g. No mean, no bias, one fewer reduction; used by T5,
Llama, Mistral, Gemma.

Two details decide bit-equality with transformers' ``LlamaRMSNorm``
(``models/llama/modeling_llama.py``):

- eps goes *inside* the square root: rsqrt(mean(x²) + eps), not 1 / (rms + eps);
- the statistics are computed in fp32, the normalised activations are cast back to the input
  dtype, and only *then* multiplied by the weight (so a bf16 model gets weight · bf16(x̂)).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RMSNorm(nn.Module):
    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))  # the gain g; no bias
        self.variance_epsilon = eps  # HF's attribute name

    def forward(self, hidden_states: Tensor) -> Tensor:
        input_dtype = hidden_states.dtype
        x = hidden_states.to(torch.float32)  # mean of squares overflows/underflows in fp16
        mean_square = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(mean_square + self.variance_epsilon)
        return self.weight * x.to(input_dtype)

    def extra_repr(self) -> str:
        return f"{tuple(self.weight.shape)}, eps={self.variance_epsilon}"
