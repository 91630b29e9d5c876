"""Exercise sequence_classification: classify a whole input, and the loss that goes with it.

Fine-tuning BERT on a sentence-level task (sentiment, entailment, paraphrase, a similarity
score) adds a single layer on top of the pre-trained encoder (Devlin et al. 2018, §4.1) and
trains everything end to end. Interviewers ask which vector that layer reads, why there is
no softmax in the model, and which loss fits regression, single-label and multi-label tasks.

You write the head that transformers calls ``BertForSequenceClassification`` keeps on top of
``BertModel``, and its loss. The encoder is given: the checks run a reference BERT and hand
your head both of its outputs.
"""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig


class SequenceClassificationHead(nn.Module):
    """Scores for ``config.num_labels`` classes from the encoder's outputs.

    ``__init__`` declares exactly these two sub-modules, with these names (transformers'
    names: the weights then load from a ``BertForSequenceClassification`` checkpoint, whose
    keys are ``classifier.weight`` and ``classifier.bias``), and nothing else with
    parameters:

        self.dropout: nn.Dropout, with p = config.classifier_dropout when that is set (not
            None), else config.hidden_dropout_prob.
        self.classifier: nn.Linear(config.hidden_size, config.num_labels).
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        raise NotImplementedError(
            "SequenceClassificationHead is yours to write; stuck? run: "
            "bertprep hint sequence_classification"
        )

    def forward(self, sequence_output: Tensor, pooled_output: Tensor) -> Tensor:
        """Logits for each input of the batch.

        Args:
            sequence_output: (batch, seq, hidden), the encoder's last hidden states, one
                vector per token; position 0 is [CLS]. Padding positions hold vectors too.
            pooled_output: (batch, hidden), BERT's pooler output tanh(W · h_[CLS] + b).

        Returns:
            logits: (batch, num_labels), raw scores (no softmax). Dropout applies in
            training mode only (``nn.Dropout`` does that by itself).

        One of the two inputs is what BERT classifies from; choosing it is part of the
        exercise.
        """
        raise NotImplementedError(
            "SequenceClassificationHead.forward is yours to write; stuck? run: "
            "bertprep hint sequence_classification"
        )


def sequence_classification_loss(
    logits: Tensor, labels: Tensor, num_labels: int, problem_type: str | None = None
) -> Tensor:
    """The training loss of transformers' ``BertForSequenceClassification``, rule for rule.

    Args:
        logits: (batch, num_labels) float, from the head.
        labels: depends on the problem:
            regression: float, (batch,) or (batch, 1) when num_labels == 1, else
                (batch, num_labels);
            single-label classification: int64 class ids in [0, num_labels), (batch,);
            multi-label classification: float 0/1 targets (or probabilities), (batch,
                num_labels): any number of the labels can be on at once.
        num_labels: K, the number of outputs.
        problem_type: "regression", "single_label_classification",
            "multi_label_classification", or None. When given, it decides. When None, decide
            as transformers does: num_labels == 1 -> regression; else int64 labels ->
            single-label; else -> multi-label.

    Returns:
        The loss for that problem, averaged over the batch (and over labels where the loss
        is per label), as a 0-dim float tensor that gradients flow back through.
    """
    raise NotImplementedError(
        "sequence_classification_loss is yours to write; stuck? run: "
        "bertprep hint sequence_classification"
    )
