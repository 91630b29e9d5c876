"""Mutant: a softmax on the logits before cross_entropy."""

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
    probs = logits.softmax(dim=-1)
    return F.cross_entropy(
        probs.reshape(-1, num_labels), labels.reshape(-1), ignore_index=IGNORE_INDEX
    )
