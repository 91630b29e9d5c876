"""Mutant: output 0 is returned as the end score and output 1 as the start score."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig


class QuestionAnsweringHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.qa_outputs = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.qa_outputs(sequence_output)
        end_logits, start_logits = logits.unbind(dim=-1)
        return start_logits.contiguous(), end_logits.contiguous()


def question_answering_loss(
    start_logits: Tensor, end_logits: Tensor, start_positions: Tensor, end_positions: Tensor
) -> Tensor:
    seq = start_logits.size(1)
    start = start_positions.clamp(0, seq)
    end = end_positions.clamp(0, seq)
    start_loss = F.cross_entropy(start_logits, start, ignore_index=seq)
    end_loss = F.cross_entropy(end_logits, end, ignore_index=seq)
    return (start_loss + end_loss) / 2
