"""Solution geglu: Wo(act(x Wi_a) ⊙ x Wi_b), the GLU-variant feed-forward.

Shazeer (2020, "GLU Variants Improve Transformer", eq. 5-6): FFN_GEGLU(x) = (GELU(xW) ⊙ xV) W2
and FFN_SwiGLU(x) = (Swish(xW) ⊙ xV) W2. One branch is squashed by the activation, the other
stays linear and scales it element by element: the network learns, per feature, how much of
the activated signal to let through.

The gate costs a third matrix, so at equal parameter count d_ff shrinks by 2/3 (Shazeer
§2; Llama-7B: 11008 ≈ 2/3 · 4 · 4096 rounded up). ModernBERT-base uses intermediate 1152 with
hidden 768: Wi is 768 -> 2304, Wo is 1152 -> 768.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .e02_gelu import gelu


def silu(x: Tensor) -> Tensor:
    """SiLU / Swish-1: x · sigmoid(x) (Ramachandran et al. 2017; Elfwing et al. 2017)."""
    return x * torch.sigmoid(x)


class GatedMLP(nn.Module):
    def __init__(
        self,
        hidden_size: int,
        intermediate_size: int,
        activation: str = "gelu",
        bias: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        if activation not in ("gelu", "silu"):
            raise ValueError(f"activation must be 'gelu' or 'silu', got {activation!r}")
        self.Wi = nn.Linear(hidden_size, 2 * intermediate_size, bias=bias)
        self.activation = activation
        self.drop = nn.Dropout(dropout)
        self.Wo = nn.Linear(intermediate_size, hidden_size, bias=bias)

    def forward(self, hidden_states: Tensor) -> Tensor:
        # One matmul for both branches, then split the last dim in two contiguous halves.
        # Which half is which is fixed by the checkpoint: in transformers' ModernBertMLP the
        # first half is activated and the second is the gate. Swapping them (or splitting
        # even/odd features with [..., ::2]) still trains from scratch, but silently breaks
        # pretrained weights.
        input, gate = self.Wi(hidden_states).chunk(2, dim=-1)
        # ModernBERT's config says hidden_activation="gelu", which transformers maps to the
        # exact erf GELU (ACT2FN["gelu"]), not the tanh approximation ("gelu_pytorch_tanh").
        act = gelu if self.activation == "gelu" else silu
        # Only the first half goes through the activation; the gate stays linear. act(input *
        # gate) or act(input) * act(gate) are different functions.
        return self.Wo(self.drop(act(input) * gate))
