"""Exercise rms_norm: RMSNorm, LayerNorm without the mean.

T5, Llama, Mistral and Gemma replace LayerNorm with RMSNorm (Zhang & Sennrich 2019): divide
each vector by its root mean square and multiply by a learned gain — no mean subtracted, no
bias. Interviewers ask what it drops from LayerNorm and why that is fine, and, for models run
in half precision, why the statistics are computed in float32 (transformers' LlamaRMSNorm).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class RMSNorm(nn.Module):
    """transformers' ``LlamaRMSNorm``: same parameter and attribute names, same numbers."""

    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))  # the gain g; there is no bias
        self.variance_epsilon = eps

    def forward(self, hidden_states: Tensor) -> Tensor:
        """Normalise every vector over its last dimension by its root mean square.

        Args:
            hidden_states: (..., hidden), e.g. (batch, seq, hidden); float32, float16 or
                bfloat16. Not modified.

        Returns:
            (..., hidden), ``weight * x / sqrt(mean(x ** 2) + eps)``, mean over the last
            dimension. Compute the statistics in float32 whatever the input dtype, cast the
            normalised vector back to the input dtype, then multiply by ``weight`` (as
            LlamaRMSNorm does: a float16 module on float16 input returns float16).
        """
        raise NotImplementedError("forward is yours to write; stuck? run: bertprep hint rms_norm")
