"""Exercise token_classification: a label for every token (NER, part-of-speech tagging).

BERT tags tokens by putting one linear layer on every position of the final hidden states
(Devlin et al. 2018, §5.3: for CoNLL-2003 NER "we use the representation of the first
sub-token as the input to the token-level classifier over the NER label set"). Interviewers
ask which vectors the classifier reads, and what happens to the positions that have no
label: [CLS], [SEP], padding, and the word pieces after the first one of each word.

You write the head that transformers' ``BertForTokenClassification`` keeps on top of
``BertModel``, and its loss. The encoder is given: the checks run a reference BERT.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

IGNORE_INDEX = -100  # the label of positions that must not count in the loss


class TokenClassificationHead(nn.Module):
    """Scores for ``config.num_labels`` tags at every position.

    ``__init__`` declares exactly these two sub-modules, with these names (transformers'
    names: the weights then load from a ``BertForTokenClassification`` checkpoint, whose keys
    are ``classifier.weight`` and ``classifier.bias``), and nothing else with parameters:

        self.dropout: nn.Dropout, with p = config.classifier_dropout when that is set (not
            None), else config.hidden_dropout_prob.
        self.classifier: nn.Linear(config.hidden_size, config.num_labels).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        raise NotImplementedError(
            "TokenClassificationHead is yours to write; stuck? run: "
            "bertprep hint token_classification"
        )

    def forward(self, sequence_output: Tensor) -> Tensor:
        """Logits for every token.

        Args:
            sequence_output: (batch, seq, hidden), the encoder's last hidden states; position
                0 is [CLS].

        Returns:
            logits: (batch, seq, num_labels), raw scores (no softmax). Dropout applies in
            training mode only.
        """
        raise NotImplementedError(
            "TokenClassificationHead.forward is yours to write; stuck? run: "
            "bertprep hint token_classification"
        )


def token_classification_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """The training loss of transformers' ``BertForTokenClassification``.

    Args:
        logits: (batch, seq, num_labels) float.
        labels: (batch, seq) int64: a tag id in [0, num_labels) where a token has a label,
            IGNORE_INDEX (-100) where it has none ([CLS], [SEP], padding, and every word piece
            of a word but the first). The checks always leave at least one real label.

    Returns:
        The mean cross-entropy over the labelled positions only, a 0-dim float tensor that
        gradients flow back through. Positions labelled -100 change neither the value nor
        the gradient.
    """
    raise NotImplementedError(
        "token_classification_loss is yours to write; stuck? run: "
        "bertprep hint token_classification"
    )
