"""Solution token_classification: classifier(dropout(h_i)) at every position i; cross-entropy
over the labelled positions only.

Each token is classified from its own final hidden vector T_i (Devlin et al. 2018, §5.3 and
Figure 4(d)); nothing reads the pooled [CLS] here. The same K × H layer is applied at every
position, so the head has as few parameters as the sentence classifier.

Which positions count: a word that WordPiece splits ("Washington" -> "Wash", "##ington")
gets its tag on the first piece only; the paper's NER setup predicts from the first
sub-token. The other pieces, [CLS], [SEP] and padding get label -100, the ignore_index of
PyTorch's cross-entropy (and its default), so they add nothing to the loss and the mean is
taken over the labelled tokens. Fine-tuning hyper-parameters as for every task (App. A.3):
dropout 0.1, Adam lr in {5e-5, 3e-5, 2e-5}, batch 16 or 32, 2-4 epochs.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig

IGNORE_INDEX = -100


class TokenClassificationHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        p = config.classifier_dropout  # `is not None`: 0.0 is a real setting
        self.dropout = nn.Dropout(config.hidden_dropout_prob if p is None else p)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, sequence_output: Tensor) -> Tensor:
        # nn.Linear acts on the last axis, so one call classifies every (batch, seq) position.
        return self.classifier(self.dropout(sequence_output))  # (batch, seq, num_labels)


def token_classification_loss(logits: Tensor, labels: Tensor) -> Tensor:
    num_labels = logits.size(-1)
    # Flatten (batch, seq) into one axis of tokens: cross_entropy wants (N, C) and (N,).
    # With ignore_index the mean is over the labelled tokens: sum / (number not ignored).
    # reduction="none" followed by .mean() would divide by *every* position instead, so a
    # batch with more padding would get a smaller loss for the same predictions.
    # cross_entropy takes raw logits (it applies log_softmax itself).
    return F.cross_entropy(
        logits.reshape(-1, num_labels), labels.reshape(-1), ignore_index=IGNORE_INDEX
    )
