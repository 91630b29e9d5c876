"""Exercise mlm_head: the masked-LM head, its tied decoder, and the masked-LM loss.

The second half of the blog's Q5 ("implement MLM pre-training"). After the encoder, BERT
scores every position against the whole vocabulary: a small transform (dense -> GELU ->
LayerNorm), then a decoder whose weight *is* the input embedding matrix (weight tying:
google-research/bert ``run_pretraining.py`` ``get_masked_lm_output`` multiplies by
``model.get_embedding_table()``; transformers ties ``cls.predictions.decoder.weight`` to
``bert.embeddings.word_embeddings.weight``), plus a bias of its own. The loss is
cross-entropy over the vocabulary at the selected positions only (labels -100 elsewhere,
from your e08 ``mask_tokens``). Interviewers ask why the weights are tied, which positions
the loss covers and why there is no softmax in the model.

Names follow Hugging Face (``cls.predictions.transform.dense`` and so on), so the weights of
a ``BertForMaskedLM`` / ``BertForPreTraining`` checkpoint load with ``load_state_dict``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reference import BertConfig

from .e02_gelu import gelu  # noqa: F401 (yours, for BertPredictionHeadTransform.forward)


class BertPredictionHeadTransform(nn.Module):
    """dense (hidden -> hidden), then the exact GELU, then LayerNorm, at every position."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor) -> Tensor:
        """(batch, seq, hidden) float -> (batch, seq, hidden): LayerNorm(gelu(dense(x))).

        Use the exact (erf) GELU, your e02 ``gelu``; the LayerNorm is ``self.LayerNorm``.
        """
        raise NotImplementedError(
            "BertPredictionHeadTransform.forward is yours to write; stuck? run: "
            "bertprep hint mlm_head"
        )


class BertLMPredictionHead(nn.Module):
    """Scores over the vocabulary for every position.

    Parameters (transformers' names and shapes):
        transform.dense: Linear(hidden, hidden); transform.LayerNorm: LayerNorm(hidden).
        decoder: Linear(hidden, vocab). Its weight (vocab, hidden) has the shape of the word
            embedding matrix, which it is meant to *be* once ``tie_to`` has run.
        bias: (vocab,), the output-only bias. ``decoder.bias`` is this same Parameter (one
            tensor under the two names checkpoints use), so ``self.decoder(h)`` already adds
            it: do not add ``self.bias`` a second time.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.transform = BertPredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias  # one Parameter, two names (as transformers ties them)

    def forward(self, sequence_output: Tensor) -> Tensor:
        """(batch, seq, hidden) float -> logits (batch, seq, vocab), no softmax.

        logits = transform(sequence_output) @ decoder.weight^T + bias, at every position
        (padding included: the loss decides which positions count).
        """
        raise NotImplementedError(
            "BertLMPredictionHead.forward is yours to write; stuck? run: bertprep hint mlm_head"
        )

    def tie_to(self, word_embeddings: nn.Embedding) -> None:
        """Make ``self.decoder.weight`` the very same Parameter as ``word_embeddings.weight``
        (vocab, hidden), not a copy: afterwards ``self.decoder.weight is
        word_embeddings.weight``, an update of either is an update of both, and gradients
        from the input side and the output side add up in one matrix. ``self.decoder.bias``
        must still be ``self.bias``. Returns nothing.
        """
        raise NotImplementedError(
            "BertLMPredictionHead.tie_to is yours to write; stuck? run: bertprep hint mlm_head"
        )


def masked_lm_loss(prediction_logits: Tensor, labels: Tensor) -> Tensor:
    """The masked-LM loss: mean cross-entropy over the positions that have a label.

    Args:
        prediction_logits: (batch, seq, vocab) float, raw scores from the head.
        labels: (batch, seq) int64: the original token id at the positions selected for
            prediction, -100 everywhere else (unselected tokens, special tokens, padding).
            At least one position has a label.

    Returns:
        A 0-dim float tensor: the cross-entropy averaged over the labelled positions only
        (positions labelled -100 count neither in the sum nor in the number averaged over),
        connected to the graph so that ``.backward()`` works.
    """
    raise NotImplementedError(
        "masked_lm_loss is yours to write; stuck? run: bertprep hint mlm_head"
    )
