"""Mutant: labels the true next sentence 1 and the random one 0."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig

from .e18_mlm_head import masked_lm_loss

IS_NEXT, NOT_NEXT = 1, 0


def truncate_seq_pair(
    tokens_a: list[str], tokens_b: list[str], max_num_tokens: int, rng: random.Random
) -> None:
    # google-research/bert create_pretraining_data.py, truncate_seq_pair. Trimming the longer
    # side first keeps the pair balanced (trimming A alone could leave A empty while a long B
    # survives). Its run_classifier.py twin always pops from the back: at fine-tuning time
    # there is no reason for randomness. Here the front or the back is a coin toss, so the
    # model sees segments cut at either end.
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b  # B on ties
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def make_nsp_pair(
    documents: Sequence[Sequence[Sequence[str]]],
    doc_index: int,
    sentence_index: int,
    max_tokens: int,
    rng: random.Random,
) -> tuple[list[str], list[int], int]:
    document = documents[doc_index]
    # list(...) copies: truncation works in place and must not eat into the corpus.
    tokens_a = list(document[sentence_index])
    has_next = sentence_index + 1 < len(document)
    if has_next and rng.random() < 0.5:
        tokens_b = list(document[sentence_index + 1])
        label = IS_NEXT
    else:
        # Any document but this one. Drawing from all documents (own included) would make some
        # "random" B's real neighbours of A, labelled NotNext: contradictory labels. Drawing
        # an index from the others directly avoids a retry loop (Google retries 10 times and
        # then silently keeps the same document).
        other = rng.randrange(len(documents) - 1)
        if other >= doc_index:
            other += 1
        random_document = documents[other]
        tokens_b = list(random_document[rng.randrange(len(random_document))])
        label = NOT_NEXT

    truncate_seq_pair(tokens_a, tokens_b, max_tokens - 3, rng)  # room for [CLS] A [SEP] B [SEP]
    tokens = ["[CLS]", *tokens_a, "[SEP]", *tokens_b, "[SEP]"]
    # Segment embeddings tell the model which side a token is on (§3.2, Figure 2).
    token_type_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
    return tokens, token_type_ids, label


class BertOnlyNSPHead(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> Tensor:
        # NSP is predicted from C, the pooled [CLS] vector (§3.1: "C is used for next
        # sentence prediction"); the pooler (dense + tanh on token 0) is trained by exactly
        # this task. sequence_output[:, 0] skips it; a mean over tokens is another model.
        return self.seq_relationship(pooled_output)  # (batch, 2)


def pretraining_loss(
    prediction_logits: Tensor,
    seq_relationship_logits: Tensor,
    labels: Tensor,
    next_sentence_label: Tensor,
) -> Tensor:
    # "The training loss is the sum of the mean masked LM likelihood and the mean next
    # sentence prediction likelihood" (Appendix A.2); run_pretraining.py: total_loss =
    # masked_lm_loss + next_sentence_loss; transformers' BertForPreTraining the same. An
    # unweighted sum, not an average: (a + b) / 2 halves every gradient (like halving the
    # learning rate) and reports a different number than any BERT code.
    mlm = masked_lm_loss(prediction_logits, labels)
    nsp = F.cross_entropy(seq_relationship_logits.view(-1, 2), next_sentence_label.view(-1))
    return mlm + nsp
