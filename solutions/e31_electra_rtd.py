"""Solution electra_rtd: one logit per token, labels from a comparison, BCE over real tokens.

The whole objective fits in a few lines; the care is in three details. The head returns
*logits*: the sigmoid lives inside binary_cross_entropy_with_logits (numerically stable, and
applying it twice squashes every probability into (0.5, 0.73)). Labels compare tokens: a
position the generator "corrupted" with the original token is original. Padding is removed
before averaging: the loss is a mean over real tokens, not over the padded grid.
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


# --- the exercise ---------------------------------------------------------------------------


class ElectraDiscriminatorPredictions(nn.Module):
    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = _ACTIVATIONS[config.hidden_act]
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, discriminator_hidden_states: Tensor) -> Tensor:
        # Same shape as BERT's MLM transform (dense + activation), but one output per token
        # instead of a vocabulary: the discriminator answers a yes/no question everywhere.
        hidden = self.activation(self.dense(discriminator_hidden_states))
        return self.dense_prediction(hidden).squeeze(-1)  # (batch, seq, 1) -> (batch, seq)


def replaced_token_labels(original_ids: Tensor, corrupted_ids: Tensor) -> Tensor:
    # Compare tokens, not "was this position masked": when the generator samples the original
    # token back, nothing was replaced, and calling it "replaced" would teach the
    # discriminator to flag correct text (Clark et al. 2020, §2).
    return (corrupted_ids != original_ids).long()


def replaced_token_detection_loss(
    logits: Tensor, labels: Tensor, attention_mask: Tensor | None = None
) -> Tensor:
    if attention_mask is not None:
        # Keep the real tokens only (boolean indexing flattens to (n_real,)). Averaging over
        # the padded grid would add easy "original" answers on [PAD] and make the loss depend
        # on how much padding the batch has.
        real = attention_mask.bool()
        logits, labels = logits[real], labels[real]
    # With logits: log-sigmoid computed stably inside. Never pass sigmoid(logits) here.
    return F.binary_cross_entropy_with_logits(logits, labels.float())


class ElectraForPreTraining(nn.Module):
    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.electra = ElectraModel(config)
        self.discriminator_predictions = ElectraDiscriminatorPredictions(config)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        labels: Tensor | None = None,
    ) -> tuple[Tensor | None, Tensor]:
        hidden = self.electra(input_ids, attention_mask, token_type_ids)
        logits = self.discriminator_predictions(hidden)
        loss = None
        if labels is not None:
            loss = replaced_token_detection_loss(logits, labels, attention_mask)
        return loss, logits
