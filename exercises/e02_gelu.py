"""Exercise gelu: the exact GELU activation.

BERT's feed-forward block uses GELU. Hugging Face's "gelu" is the exact form built on the
Gaussian CDF; Google's TF code used a tanh approximation. They differ by up to ~1e-3 per
activation, enough to miss a reference implementation by ~1e-4 on BERT's hidden states.
"""

from __future__ import annotations

from torch import Tensor


def gelu(x: Tensor) -> Tensor:
    """GELU(x) = x * Phi(x), Phi the standard normal CDF, computed exactly (with erf).

    Args:
        x: any shape, floating point. Not modified.

    Returns:
        Same shape and dtype as ``x``. Do not call ``torch.nn.functional.gelu``: write the
        formula.
    """
    raise NotImplementedError("gelu is yours to write; stuck? run: bertprep hint gelu")
