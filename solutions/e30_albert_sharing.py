"""Solution albert_sharing: narrow embeddings, one projection, few layers run many times.

Where the savings come from, for ALBERT-base (V = 30000, E = 128, H = 768, L = 12, G = 1):
the token table is V·E = 3.8M instead of V·H = 23M (plus E·H = 0.1M for the projection), and
the encoder holds one layer (7.1M) instead of twelve (85M). Depth still costs compute: every
one of the L layers runs; sharing saves memory and parameters, not FLOPs.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig
from reference.variants import AlbertConfig

from .e02_gelu import gelu
from .e05_multi_head import BertSelfAttention
from .e06_embeddings import BertEmbeddings  # yours (e06), built E wide


def _embeddings_config(config: AlbertConfig, width: int) -> BertConfig:
    """A BertConfig for your e06 BertEmbeddings, ``width`` wide (vocabulary, positions, token
    types, eps, dropout and padding id taken from ``config``)."""
    return BertConfig(vocab_size=config.vocab_size, hidden_size=width, num_attention_heads=1,
                      max_position_embeddings=config.max_position_embeddings,
                      type_vocab_size=config.type_vocab_size,
                      layer_norm_eps=config.layer_norm_eps,
                      hidden_dropout_prob=config.hidden_dropout_prob,
                      pad_token_id=config.pad_token_id)  # fmt: skip


embeddings_config = _embeddings_config  # given (a helper, not part of the exercise)


# --- given: one ALBERT layer (you wrote its BERT twin in e07) ---------------------------------

_ACTIVATIONS = {"gelu": gelu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
                "relu": F.relu}  # fmt: skip


class AlbertAttention(BertSelfAttention):
    """Your e05 self-attention plus output projection, residual and LayerNorm (post-LN)."""

    def __init__(self, config: AlbertConfig):
        super().__init__(config)  # query, key, value (yours)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.output_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def _forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        context = super().forward(hidden_states, attention_mask)
        return self.LayerNorm(hidden_states + self.output_dropout(self.dense(context)))

    forward = _forward


class AlbertLayer(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(config.hidden_size, config.intermediate_size)
        self.ffn_output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.activation = _ACTIVATIONS[config.hidden_act]
        self.full_layer_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def _forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        attention_output = self.attention(hidden_states, attention_mask)
        ffn_output = self.ffn_output(self.activation(self.ffn(attention_output)))
        return self.full_layer_layer_norm(ffn_output + attention_output)

    forward = _forward


class AlbertLayerGroup(nn.Module):
    """inner_group_num layers run one after the other (1 in every released ALBERT)."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        layers = config.inner_group_num
        self.albert_layers = nn.ModuleList(AlbertLayer(config) for _ in range(layers))

    def _forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        for layer in self.albert_layers:
            hidden_states = layer(hidden_states, attention_mask)
        return hidden_states

    forward = _forward


# --- the exercise ---------------------------------------------------------------------------


class AlbertTransformer(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.config = config
        # Factorisation, part 2: the embeddings are E wide; one E x H matrix lifts them to the
        # width the layers work in. (E = H would make this a useless H x H square.)
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        # Sharing: G groups of weights, not L layers. A ModuleList with L entries here would
        # be BERT again (L times the parameters), whatever forward then does with it.
        self.albert_layer_groups = nn.ModuleList(
            AlbertLayerGroup(config) for _ in range(config.num_hidden_groups)
        )

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        hidden_states = self.embedding_hidden_mapping_in(hidden_states)  # (b, s, E) -> (b, s, H)
        layers, groups = self.config.num_hidden_layers, self.config.num_hidden_groups
        # Loop over the *layers*, not over the groups: with G = 1 a loop over the groups
        # would run a single layer. Layer i uses group int(i / (L / G)): consecutive blocks of
        # L / G layers share one group (transformers computes it exactly this way, so G need
        # not divide L). i % G would interleave the groups instead: another model.
        for i in range(layers):
            group = self.albert_layer_groups[int(i / (layers / groups))]
            hidden_states = group(hidden_states, attention_mask)
        return hidden_states


class AlbertModel(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.config = config
        # Factorisation, part 1: BERT's embeddings (word + position + type, LayerNorm) at the
        # small width E. Building them H wide is the mistake ALBERT exists to fix.
        self.embeddings = BertEmbeddings(embeddings_config(config, config.embedding_size))
        self.encoder = AlbertTransformer(config)
        self.pooler = nn.Linear(config.hidden_size, config.hidden_size)
        self.pooler_activation = nn.Tanh()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        embedded = self.embeddings(input_ids, token_type_ids)  # (batch, seq, E)
        hidden_states = self.encoder(embedded, attention_mask)  # (batch, seq, H)
        pooled = self.pooler_activation(self.pooler(hidden_states[:, 0]))
        return hidden_states, pooled
