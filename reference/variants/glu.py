"""Gated feed-forward blocks (Shazeer 2020, "GLU Variants Improve Transformer", §2).

BERT's FFN is W2 · GELU(W1 x). A GLU variant multiplies an activated branch by a linear "gate"
branch: W2 · (act(W x) ⊙ V x). GELU -> GeGLU (ModernBERT), SiLU/Swish -> SwiGLU (Llama, PaLM).
The extra matrix costs parameters, so d_ff is usually cut to ~2/3 to keep the count.

Two layouts of the same thing, with transformers' names:

- ``GatedMLP``: ModernBERT's ``ModernBertMLP`` (``models/modernbert/modeling_modernbert.py``):
  one fused ``Wi`` (hidden -> 2·d_ff) split in two with ``chunk``; the *first* half is
  activated, the second is the gate; ``Wo`` (d_ff -> hidden).
- ``LlamaMLP``: ``models/llama/modeling_llama.py``: separate ``gate_proj`` (activated),
  ``up_proj`` and ``down_proj``. Fusing ``[gate_proj; up_proj]`` gives a ``Wi``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from reference.modeling import ACT2FN

GLU_ACTIVATIONS = {**ACT2FN, "silu": F.silu, "swish": F.silu}


class GatedMLP(nn.Module):
    """Wo · drop(act(x Wi[:d_ff]) ⊙ x Wi[d_ff:]). act="gelu": GeGLU; act="silu": SwiGLU."""

    def __init__(
        self,
        hidden_size: int,
        intermediate_size: int,
        activation: str = "gelu",
        bias: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.Wi = nn.Linear(hidden_size, 2 * intermediate_size, bias=bias)
        self.act = GLU_ACTIVATIONS[activation]
        self.drop = nn.Dropout(dropout)
        self.Wo = nn.Linear(intermediate_size, hidden_size, bias=bias)

    def forward(self, hidden_states: Tensor) -> Tensor:
        input, gate = self.Wi(hidden_states).chunk(2, dim=-1)  # the order matters for weights
        return self.Wo(self.drop(self.act(input) * gate))


class LlamaMLP(nn.Module):
    """down_proj(act(gate_proj(x)) ⊙ up_proj(x)): SwiGLU with act="silu" (Llama's default)."""

    def __init__(
        self, hidden_size: int, intermediate_size: int, activation: str = "silu", bias: bool = False
    ):
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=bias)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=bias)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=bias)
        self.act_fn = GLU_ACTIVATIONS[activation]

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))
