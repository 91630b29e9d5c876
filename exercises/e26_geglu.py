"""Exercise geglu: the gated feed-forward of ModernBERT (GeGLU) and Llama (SwiGLU).

BERT's feed-forward is W2 · GELU(W1 x). Shazeer (2020) showed that multiplying the activated
branch by a second, linear "gate" branch works better: W2 · (act(x W) ⊙ x V). With GELU that
is GeGLU (ModernBERT); with SiLU it is SwiGLU (Llama, PaLM). Interviewers ask how the weights
are laid out, which half is activated, and why the intermediate size shrinks to keep the
parameter count.
"""

from __future__ import annotations

from torch import Tensor, nn

from .e02_gelu import gelu  # noqa: F401 (yours, for forward)


class GatedMLP(nn.Module):
    """transformers' ``ModernBertMLP``: one fused input projection, split in two with chunk.

    ``Wi``: hidden -> 2 · intermediate (the activated half first, then the gate);
    ``Wo``: intermediate -> hidden; ``drop``: dropout on the gated product.
    """

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
        self.activation = activation  # "gelu": GeGLU (ModernBERT); "silu": SwiGLU (Llama)
        self.drop = nn.Dropout(dropout)
        self.Wo = nn.Linear(intermediate_size, hidden_size, bias=bias)

    def forward(self, hidden_states: Tensor) -> Tensor:
        """The gated feed-forward.

        Args:
            hidden_states: (batch, seq, hidden) float.

        Returns:
            (batch, seq, hidden): ``Wo(drop(act(input) * gate))``, where ``input, gate`` are
            the first and second halves (each (batch, seq, intermediate)) of
            ``Wi(hidden_states)`` along the last dimension. ``act`` is the exact (erf) GELU
            for "gelu" — use your ``gelu`` from e02 — and x · sigmoid(x) for "silu".
        """
        raise NotImplementedError("forward is yours to write; stuck? run: bertprep hint geglu")
