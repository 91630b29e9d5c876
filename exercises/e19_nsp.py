"""Exercise nsp: next sentence prediction, BERT's second pre-training task.

Besides the masked LM, BERT is pre-trained to tell whether segment B really follows segment A
(Devlin et al. 2018, §3.1, "Task #2: Next Sentence Prediction"): 50% of the time B is the
actual next sentence ("IsNext"), 50% a random sentence from the corpus ("NotNext"). The pair
is packed as ``[CLS] A [SEP] B [SEP]`` with segment ids 0 then 1, and the classifier reads the
pooled [CLS] vector. The pre-training loss is the MLM loss plus the NSP loss (Appendix A.2).
The blog's MLM answer leaves NSP out entirely; interviewers do not: expect the label
convention, where the random sentence comes from, how pairs are cut to length, and what
RoBERTa found when it dropped the task.

Four pieces, after google-research/bert ``create_pretraining_data.py`` (data) and
transformers' ``BertOnlyNSPHead`` / ``BertForPreTraining`` (head and loss). The data part is
simplified: one sentence for A and one for B, where Google packs several sentences per
segment (see ``reference.pretraining_data.create_nsp_examples`` for the full algorithm).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from torch import Tensor, nn

from reference import BertConfig

from .e18_mlm_head import masked_lm_loss  # noqa: F401 (yours, for pretraining_loss)


def truncate_seq_pair(
    tokens_a: list[str], tokens_b: list[str], max_num_tokens: int, rng: random.Random
) -> None:
    """Shorten the pair *in place* until ``len(tokens_a) + len(tokens_b) <= max_num_tokens``.

    Google's rule: one token at a time, always from the longer list (``tokens_b`` when both
    are equally long), and from its front or its back with equal probability, decided by
    ``rng`` (``rng.random() < 0.5`` -> the front, as Google does; any fair use of ``rng``
    passes). Removing from both ends "adds more randomness and avoids biases": a model that
    only ever saw cut-off endings would learn that they are normal.

    Args:
        tokens_a, tokens_b: lists of tokens (strings), changed in place.
        max_num_tokens: >= 0, the largest total length allowed.
        rng: the only source of randomness to use (not the ``random`` module's functions).

    Returns:
        None. What remains of each list is a contiguous slice of the original.
    """
    raise NotImplementedError("truncate_seq_pair is yours to write; stuck? run: bertprep hint nsp")


def make_nsp_pair(
    documents: Sequence[Sequence[Sequence[str]]],
    doc_index: int,
    sentence_index: int,
    max_tokens: int,
    rng: random.Random,
) -> tuple[list[str], list[int], int]:
    """One NSP training example whose segment A is sentence ``sentence_index`` of document
    ``doc_index``.

    Args:
        documents: a corpus of at least two documents; a document is a list of sentences, a
            sentence a non-empty list of tokens (strings). Must not be modified.
        doc_index, sentence_index: where segment A comes from.
        max_tokens: >= 5, the largest length of the packed sequence (with [CLS] and two
            [SEP]).
        rng: the only source of randomness to use.

    Returns:
        ``(tokens, token_type_ids, next_sentence_label)`` where

        * with probability 1/2, B is the sentence that follows A in its document and
          ``next_sentence_label`` is **0 (IsNext)**; otherwise B is a sentence drawn uniformly
          from a document drawn uniformly among the *other* documents (never A's own) and
          the label is **1 (NotNext)**. When A is the last sentence of its document there is
          no next sentence: B is then always random (label 1). This is the convention of
          Google's data (``1 if is_random_next else 0``) and of transformers'
          ``next_sentence_label``.
        * copies of A and B are shortened with your ``truncate_seq_pair`` to
          ``max_tokens - 3`` tokens together;
        * ``tokens = ["[CLS]", *A, "[SEP]", *B, "[SEP]"]`` (a list of strings);
        * ``token_type_ids = [0] * (len(A) + 2) + [1] * (len(B) + 1)``: 0 for [CLS], A and the
          first [SEP], 1 for B and the last [SEP].
    """
    raise NotImplementedError("make_nsp_pair is yours to write; stuck? run: bertprep hint nsp")


class BertOnlyNSPHead(nn.Module):
    """The NSP classifier: two scores (IsNext, NotNext) per input.

    ``seq_relationship``: nn.Linear(hidden, 2), transformers' name, so the weights of a
    ``BertForPreTraining`` or ``BertForNextSentencePrediction`` checkpoint
    (``cls.seq_relationship.*``) load with ``load_state_dict``.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.seq_relationship = nn.Linear(config.hidden_size, 2)

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> Tensor:
        """Logits (batch, 2): index 0 = IsNext, index 1 = NotNext. No softmax.

        Args:
            sequence_output: (batch, seq, hidden), the encoder's last hidden states; position
                0 is [CLS].
            pooled_output: (batch, hidden), BERT's pooler output tanh(W · h_[CLS] + b).

        One of the two is what BERT's NSP classifier reads; choosing it is part of the
        exercise (transformers' own ``BertOnlyNSPHead.forward`` is given only that one).
        """
        raise NotImplementedError(
            "BertOnlyNSPHead.forward is yours to write; stuck? run: bertprep hint nsp"
        )


def pretraining_loss(
    prediction_logits: Tensor,
    seq_relationship_logits: Tensor,
    labels: Tensor,
    next_sentence_label: Tensor,
) -> Tensor:
    """BERT's pre-training loss, as ``BertForPreTraining`` computes it.

    Args:
        prediction_logits: (batch, seq, vocab) float, the masked-LM head's logits.
        seq_relationship_logits: (batch, 2) float, the NSP head's logits.
        labels: (batch, seq) int64, original ids at the selected positions, -100 elsewhere
            (at least one position is labelled).
        next_sentence_label: (batch,) int64, 0 = IsNext, 1 = NotNext.

    Returns:
        A 0-dim float tensor: the masked-LM loss (mean cross-entropy over the labelled
        positions; your e18 ``masked_lm_loss``) combined with the NSP loss (mean
        cross-entropy over the batch) the way BERT combines them: the paper's Appendix A.2
        says how, and so does ``total_loss`` in google-research/bert ``run_pretraining.py``.
    """
    raise NotImplementedError("pretraining_loss is yours to write; stuck? run: bertprep hint nsp")
