"""Exercise layer_norm: LayerNorm from scratch.

BERT normalises after every residual connection (post-LN). Interviewers ask you to write it
because three details separate a right answer from a plausible one: which axis is
normalised, which variance is used, and where epsilon goes.
"""

from __future__ import annotations

from torch import Tensor


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-12) -> Tensor:
    """Normalise each vector over its last dimension, then scale and shift.

    Args:
        x: (..., hidden) floating point, e.g. (batch, seq, hidden). Not modified.
        weight: (hidden,) the learned scale (gamma).
        bias: (hidden,) the learned shift (beta).
        eps: added to the variance for numerical safety (BERT uses 1e-12).

    Returns:
        (..., hidden), same dtype as ``x``: ``(x - mean) / sqrt(var + eps) * weight + bias``,
        mean and var taken over the last dimension for every position separately.
    """
    raise NotImplementedError("layer_norm is yours to write; stuck? run: bertprep hint layer_norm")
