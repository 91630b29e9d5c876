"""Exercise electra_rtd: ELECTRA's replaced-token detection (Clark et al. 2020, §2).

BERT learns from the 15% of tokens it masks. ELECTRA learns from all of them: a small MLM
"generator" replaces some tokens with plausible samples, and the model kept afterwards, the
*discriminator*, predicts for every position whether its token was replaced:

    hidden = ElectraModel(corrupted ids)                    (batch, seq, hidden): BERT's encoder
    logits = dense_prediction(act(dense(hidden)))            (batch, seq): > 0 means "replaced"
    labels = 1 where corrupted != original, else 0           a correct guess of the generator
                                                             counts as original
    loss   = mean binary cross-entropy over the real tokens (padding is not a prediction)

Interviewers ask why this is more sample-efficient than MLM, what the label of a token the
generator happened to get right is, and how the loss treats padding. Given below: the body,
``ElectraModel`` (your e06 embeddings at width embedding_size, a projection to hidden when the
widths differ, your e07 layers). Yours: the head's forward, the labels, the loss, and
ElectraForPreTraining.forward. Names are transformers', so its weights load unchanged.
"""

from __future__ import annotations

import dataclasses

import torch.nn.functional as F
from torch import Tensor, nn

from reference.variants import ElectraConfig

from .e02_gelu import gelu
from .e06_embeddings import BertEmbeddings
from .e07_encoder_layer import BertLayer

_ACTIVATIONS = {"gelu": gelu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
                "relu": F.relu}  # fmt: skip


# --- given: the discriminator's body, BERT's encoder -------------------------------------------


class _Layers(nn.Module):
    """Holds ``encoder.layer.0``, ``encoder.layer.1``, ... (your e07 BertLayer)."""

    def __init__(self, config: ElectraConfig):
        super().__init__()
        bert = config.encoder_config()
        self.layer = nn.ModuleList(BertLayer(bert) for _ in range(config.num_hidden_layers))


class ElectraModel(nn.Module):
    def __init__(self, config: ElectraConfig):
        super().__init__()
        narrow = dataclasses.replace(config.encoder_config(), hidden_size=config.embedding_size,
                                     num_attention_heads=1)  # fmt: skip
        self.embeddings = BertEmbeddings(narrow)  # yours (e06), embedding_size wide
        if config.embedding_size != config.hidden_size:
            self.embeddings_project = nn.Linear(config.embedding_size, config.hidden_size)
        self.encoder = _Layers(config)

    def _forward(self, input_ids: Tensor, attention_mask: Tensor | None = None,
                 token_type_ids: Tensor | None = None) -> Tensor:  # fmt: skip
        """-> last_hidden_state (batch, seq, hidden)."""
        hidden_states = self.embeddings(input_ids, token_type_ids)
        if hasattr(self, "embeddings_project"):
            hidden_states = self.embeddings_project(hidden_states)
        for layer in self.encoder.layer:
            hidden_states = layer(hidden_states, attention_mask)
        return hidden_states

    forward = _forward


# --- yours ------------------------------------------------------------------------------------


class ElectraDiscriminatorPredictions(nn.Module):
    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = _ACTIVATIONS[config.hidden_act]  # your e02 gelu for "gelu"
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, discriminator_hidden_states: Tensor) -> Tensor:
        """The discriminator head.

        Args:
            discriminator_hidden_states: (batch, seq, hidden) float.

        Returns:
            (batch, seq) float logits, dense_prediction(activation(dense(h))) with the last
            axis of size 1 removed: raw scores, > 0 meaning "replaced". No sigmoid here.
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint electra_rtd"
        )


def replaced_token_labels(original_ids: Tensor, corrupted_ids: Tensor) -> Tensor:
    """The discriminator's targets.

    Args:
        original_ids: (batch, seq) int64, the text before the generator ran.
        corrupted_ids: (batch, seq) int64, the text the discriminator reads.

    Returns:
        (batch, seq) int64: 1 where the token was replaced (differs from the original), 0
        where it is original, including where the generator sampled the original token back.
    """
    raise NotImplementedError(
        "replaced_token_labels is yours to write; stuck? run: bertprep hint electra_rtd"
    )


def replaced_token_detection_loss(
    logits: Tensor, labels: Tensor, attention_mask: Tensor | None = None
) -> Tensor:
    """The discriminator's loss.

    Args:
        logits: (batch, seq) float, raw scores from the head.
        labels: (batch, seq) integers, 1 = replaced, 0 = original.
        attention_mask: optional (batch, seq), 1 = real token, 0 = padding; None: all real.

    Returns:
        0-dim float: binary cross-entropy between sigmoid(logits) and labels, averaged over
        the real tokens only (every token when attention_mask is None).
    """
    raise NotImplementedError(
        "replaced_token_detection_loss is yours to write; stuck? run: bertprep hint electra_rtd"
    )


class ElectraForPreTraining(nn.Module):
    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.electra = ElectraModel(config)  # given
        self.discriminator_predictions = ElectraDiscriminatorPredictions(config)  # yours

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
    ) -> tuple[Tensor | None, Tensor]:
        """The discriminator on a (corrupted) batch.

        Args:
            input_ids: (batch, seq) int64, the corrupted text; attention_mask: optional
                (batch, seq), 1 = real, 0 = padding; token_type_ids: optional (batch, seq);
                labels: optional (batch, seq), 1 = replaced, 0 = original.

        Returns:
            (loss, logits): loss = your replaced_token_detection_loss (None without labels);
            logits (batch, seq) from your head on self.electra's output.
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint electra_rtd"
        )
