"""ELECTRA's replaced-token detection (Clark et al. 2020, "ELECTRA", §2).

A small MLM *generator* fills masked positions with plausible tokens; the *discriminator* (the
model kept afterwards) reads every token and predicts, per position, whether it was replaced:

    L_Disc = E[ Σ_t  -1(x̂_t = x_t) log D(x̂, t) - 1(x̂_t ≠ x_t) log(1 - D(x̂, t)) ]

Every position is a training signal (not just the 15% masked), which is why ELECTRA learns more
per example than BERT. Label 1 = replaced, 0 = original (transformers' convention; the paper's
D(x, t) is "original", so its sign convention is the reverse), and a token the generator
happened to reproduce exactly counts as original.

The discriminator body is BERT (embeddings at width ``embedding_size``, projected to hidden when
they differ). The head is dense -> activation -> dense_prediction (hidden -> 1 logit per token).
The loss is BCE-with-logits averaged over *real* tokens only when an attention mask is given.

transformers: ``models/electra/modeling_electra.py`` (``ElectraModel``,
``ElectraDiscriminatorPredictions``, ``ElectraForPreTraining``); state-dict keys are the same.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor, nn

from reference.config import BertConfig
from reference.modeling import ACT2FN, BertEncoder, additive_attention_mask
from reference.variants.embeddings import FactorizedEmbeddings


@dataclass
class ElectraConfig:
    """transformers' ``ElectraConfig`` names and defaults (electra-small-discriminator-like)."""

    vocab_size: int = 30522
    embedding_size: int = 128
    hidden_size: int = 256
    num_hidden_layers: int = 12
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    def encoder_config(self) -> BertConfig:
        """The encoder is BERT's: the same fields as a :class:`reference.BertConfig`."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        del values["embedding_size"]  # the only field BERT does not have
        return BertConfig(**values)


class ElectraModel(nn.Module):
    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.embeddings = FactorizedEmbeddings(
            config.vocab_size,
            config.embedding_size,
            config.max_position_embeddings,
            config.type_vocab_size,
            config.layer_norm_eps,
            config.hidden_dropout_prob,
            config.pad_token_id,
        )
        if config.embedding_size != config.hidden_size:
            self.embeddings_project = nn.Linear(config.embedding_size, config.hidden_size)
        self.encoder = BertEncoder(config.encoder_config())

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> Tensor:
        """-> last_hidden_state (batch, seq, hidden)."""
        hidden_states = self.embeddings(input_ids, token_type_ids)
        if hasattr(self, "embeddings_project"):
            hidden_states = self.embeddings_project(hidden_states)
        mask = (
            None
            if attention_mask is None
            else additive_attention_mask(attention_mask, hidden_states.dtype)
        )
        return self.encoder(hidden_states, mask)


class ElectraDiscriminatorPredictions(nn.Module):
    """One logit per token: > 0 means "replaced"."""

    def __init__(self, config: ElectraConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = ACT2FN[config.hidden_act]
        self.dense_prediction = nn.Linear(config.hidden_size, 1)

    def forward(self, discriminator_hidden_states: Tensor) -> Tensor:
        hidden = self.activation(self.dense(discriminator_hidden_states))
        return self.dense_prediction(hidden).squeeze(-1)  # (batch, seq)


def replaced_token_detection_loss(
    logits: Tensor, labels: Tensor, attention_mask: Tensor | None = None
) -> Tensor:
    """Mean binary cross-entropy over real tokens (all tokens when no mask is given).

    logits (batch, seq); labels (batch, seq) 1 = replaced, 0 = original; attention_mask 1/0.
    Padding is not a prediction: including it would reward guessing "original" on [PAD].
    """
    if attention_mask is not None:
        real = attention_mask.bool()
        logits, labels = logits[real], labels[real]
    return F.binary_cross_entropy_with_logits(logits, labels.float())


class ElectraPreTrainingOutput(NamedTuple):
    loss: Tensor | None
    logits: Tensor  # (batch, seq)


class ElectraForPreTraining(nn.Module):
    """The ELECTRA discriminator: ``electra`` body + ``discriminator_predictions`` head."""

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
    ) -> ElectraPreTrainingOutput:
        logits = self.discriminator_predictions(
            self.electra(input_ids, attention_mask, token_type_ids)
        )
        loss = None
        if labels is not None:
            loss = replaced_token_detection_loss(logits, labels, attention_mask)
        return ElectraPreTrainingOutput(loss, logits)
