"""Exercise question_answering: extractive QA (SQuAD) as two scores per token.

For SQuAD, BERT reads "[CLS] question [SEP] passage [SEP]" and points at the answer span in
the passage: every token gets a score for "the answer starts here" and one for "the answer
ends here" (Devlin et al. 2018, §4.2). Interviewers ask how many new parameters that takes,
how the loss is built from the two scores, and what happens when a long passage is cut into
windows and the answer is not in the current one.

You write the head that transformers' ``BertForQuestionAnswering`` keeps on top of
``BertModel``, and its loss. The encoder is given: the checks run a reference BERT.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig


class QuestionAnsweringHead(nn.Module):
    """A start score and an end score for every token.

    ``__init__`` declares exactly one sub-module, with this name (transformers' name: the
    weights then load from a ``BertForQuestionAnswering`` checkpoint, whose keys are
    ``qa_outputs.weight`` and ``qa_outputs.bias``), and nothing else with parameters:

        self.qa_outputs: nn.Linear(config.hidden_size, 2). Output 0 is the start score,
            output 1 the end score.

    (transformers' QA head has no dropout of its own.)
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        raise NotImplementedError(
            "QuestionAnsweringHead is yours to write; stuck? run: bertprep hint question_answering"
        )

    def forward(self, sequence_output: Tensor) -> tuple[Tensor, Tensor]:
        """Start and end scores.

        Args:
            sequence_output: (batch, seq, hidden), the encoder's last hidden states.

        Returns:
            (start_logits, end_logits), each (batch, seq): raw scores over the positions of
            each row (no softmax).
        """
        raise NotImplementedError(
            "QuestionAnsweringHead.forward is yours to write; stuck? run: "
            "bertprep hint question_answering"
        )


def question_answering_loss(
    start_logits: Tensor, end_logits: Tensor, start_positions: Tensor, end_positions: Tensor
) -> Tensor:
    """The training loss of transformers' ``BertForQuestionAnswering``.

    Args:
        start_logits, end_logits: (batch, seq) float, from the head.
        start_positions, end_positions: (batch,) int64, the token index of the answer's
            first and last token. An answer cut out of this window has positions >= seq;
            such a position must not count (transformers clamps positions to [0, seq] and
            has cross-entropy ignore the index seq). The checks always leave at least one
            start and one end inside the window.

    Returns:
        The mean of the start loss and the end loss, each a cross-entropy over the seq
        positions averaged over the examples that count, as a 0-dim float tensor that
        gradients flow back through.
    """
    raise NotImplementedError(
        "question_answering_loss is yours to write; stuck? run: bertprep hint question_answering"
    )
