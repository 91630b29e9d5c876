"""Solution sequence_classification: classifier(dropout(pooled [CLS])), and HF's loss rule.

Which vector? The paper: "[we] use the final hidden vector C ∈ R^H corresponding to the
first input token ([CLS]) as the aggregate representation. The only new parameters
introduced during fine-tuning are classification layer weights W ∈ R^{K×H}, where K is the
number of labels. We compute a standard classification loss with C and W, i.e.,
log(softmax(CW^T))" (Devlin et al. 2018, §4.1). In the code that C is the *pooled* output,
tanh(W_p · h_[CLS] + b_p): google-research/bert ``run_classifier.py`` ``create_model`` reads
``model.get_pooled_output()``, applies dropout 0.1 while training, then one dense layer. The
pooler was trained by next-sentence prediction, so it starts out as a sentence-level feature.

Fine-tuning hyper-parameters (App. A.3): dropout 0.1 always; batch 16 or 32; Adam learning
rate 5e-5, 3e-5 or 2e-5; 2 to 4 epochs; pick the best on the dev set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig

PROBLEM_TYPES = ("regression", "single_label_classification", "multi_label_classification")


class SequenceClassificationHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        # `is not None`, not `or`: classifier_dropout = 0.0 is a real setting (no dropout).
        p = config.classifier_dropout
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        # The K × H matrix of §4.1 (nn.Linear stores it as (out, in) = (num_labels, hidden)).
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> Tensor:
        # The pooled [CLS], not sequence_output[:, 0] (that skips the pre-trained pooler) and
        # not a mean over tokens (a valid design, Sentence-BERT's, but not BERT's, and a plain
        # mean would also average in the padding). sequence_output is unused here; token-level
        # heads read it.
        return self.classifier(self.dropout(pooled_output))  # (batch, num_labels)


def problem_type_of(labels: Tensor, num_labels: int, problem_type: str | None) -> str:
    """transformers' rule: an explicit problem_type wins; else one output means regression;
    else integer class ids mean one label per input; else (float targets) multi-label."""
    if problem_type is not None:
        if problem_type not in PROBLEM_TYPES:
            raise ValueError(f"problem_type {problem_type!r} is not one of {PROBLEM_TYPES}")
        return problem_type
    if num_labels == 1:
        return "regression"
    if labels.dtype in (torch.long, torch.int):  # (int32 is then rejected by cross_entropy)
        return "single_label_classification"
    return "multi_label_classification"


def sequence_classification_loss(
    logits: Tensor, labels: Tensor, num_labels: int, problem_type: str | None = None
) -> Tensor:
    kind = problem_type_of(labels, num_labels, problem_type)
    if kind == "regression":
        if num_labels == 1:
            # logits are (batch, 1), labels often (batch,). mse_loss((B, 1), (B,)) broadcasts
            # to (B, B) and averages every prediction against every target: a wrong number
            # and only a warning. Squeeze both (as transformers does).
            return F.mse_loss(logits.squeeze(), labels.squeeze())
        return F.mse_loss(logits, labels)
    if kind == "single_label_classification":
        # cross_entropy takes raw logits: it applies log_softmax itself (stably, with the
        # log-sum-exp trick). A softmax first would squash the scores into [0, 1] and
        # flatten the gradients.
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    # Multi-label: each label is its own yes/no question, so a sigmoid per label and binary
    # cross-entropy (with logits: numerically stable), not a softmax that makes labels compete.
    return F.binary_cross_entropy_with_logits(logits, labels)
