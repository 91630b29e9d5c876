"""Mutant: per-token losses zeroed at -100 positions, then averaged over every position."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig

IGNORE_INDEX = -100


class TokenClassificationHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        p = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, sequence_output: Tensor) -> Tensor:
        return self.classifier(self.dropout(sequence_output))


def token_classification_loss(logits: Tensor, labels: Tensor) -> Tensor:
    num_labels = logits.size(-1)
    labels = labels.reshape(-1)
    losses = F.cross_entropy(logits.reshape(-1, num_labels), labels, reduction="none")
    keep = (labels != IGNORE_INDEX).float()
    return (losses * keep).mean()
