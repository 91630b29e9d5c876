"""Mutant: ReLU instead of tanh."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reference import BertConfig


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: Tensor) -> Tensor:
        return torch.relu(self.dense(hidden_states[:, 0]))
