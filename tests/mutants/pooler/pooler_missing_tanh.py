"""Mutant: no activation after the dense layer."""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: Tensor) -> Tensor:
        return self.dense(hidden_states[:, 0])
