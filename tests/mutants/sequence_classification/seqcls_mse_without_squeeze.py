"""Mutant: MSE of (batch, 1) logits against (batch,) labels, which broadcasts to (batch, batch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig

PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")


class SequenceClassificationHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        p = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> Tensor:
        return self.classifier(self.dropout(pooled_output))


def problem_type_of(labels: Tensor, num_labels: int, problem_type: str | None) -> str:
    """transformers' rule: an explicit problem_type wins; else one output means regression;
    else integer class ids mean one label per input; else (float targets) multi-label."""
    if problem_type is not None:
        if problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type {problem_type!r} is not one of {PROBLEM_TYPES}")
        return problem_type
    if num_labels == 1:
        return "regression"
    if labels.dtype in (torch.long, torch.int):
        return "single_label_classification"
    return "multi_label_classification"


def sequence_classification_loss(
    logits: Tensor, labels: Tensor, num_labels: int, problem_type: str | None = None
) -> Tensor:
    kind = problem_type_of(labels, num_labels, problem_type)
    if kind == "regression":
        if num_labels == 1:
            return F.mse_loss(logits, labels)
        return F.mse_loss(logits, labels)
    if kind == "single_label_classification":
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    return F.binary_cross_entropy_with_logits(logits, labels)
