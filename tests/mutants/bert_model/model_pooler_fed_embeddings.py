"""Mutant: pools the embeddings instead of the last layer's output."""

from __future__ import annotations

from torch import Tensor, nn

from reference import BertConfig

from .e06_embeddings import BertEmbeddings
from .e07_encoder_layer import BertLayer
from .e09_pooler import BertPooler


class BertEncoder(nn.Module):
    """Only holds the layers (``encoder.layer.0``, ``encoder.layer.1``, ...), under Hugging
    Face's names; BertModel.forward runs them."""

    def __init__(self, config: BertConfig):
        super().__init__()
        # L separate layers, each with its own weights. nn.ModuleList([layer] * L) would
        # register one layer L times: one set of weights, run L times.
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def _no_forward(self, *args, **kwargs):
        raise TypeError(
            "BertEncoder only holds the layers and has no forward of its own: loop over "
            "self.encoder.layer in BertModel.forward"
        )

    forward = _no_forward


class BertModel(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        embedded = self.embeddings(input_ids, token_type_ids)
        hidden_states = embedded
        for layer in self.encoder.layer:
            hidden_states = layer(hidden_states, attention_mask)
        return hidden_states, self.pooler(embedded)
