"""ALBERT (Lan et al. 2019, "ALBERT: A Lite BERT", §3.1): two ways to cut BERT's parameters.

1. **Factorised embedding parameterisation.** BERT ties the embedding width E to the hidden
   width H, so the vocabulary table costs V·H. ALBERT embeds into a small E (128) and projects
   E -> H once: V·E + E·H parameters (``embedding_hidden_mapping_in``). WordPiece embeddings are
   context-independent, so they need not be as wide as the contextual hidden states.
2. **Cross-layer parameter sharing.** All L layers use the *same* weights (by default one group
   of one layer, applied L times), so the encoder's parameter count does not grow with depth.
   ``num_hidden_groups`` G splits the L layers into G consecutive blocks, each with its own
   weights; ``inner_group_num`` layers per group.

(The third change, sentence-order prediction instead of NSP, is a pre-training head.)

transformers: ``models/albert/modeling_albert.py`` (``AlbertEmbeddings``, ``AlbertAttention``,
``AlbertLayer``, ``AlbertLayerGroup``, ``AlbertTransformer``, ``AlbertModel``); state-dict keys
are the same. Note ALBERT's default activation is the tanh GELU (``gelu_new``).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from reference.modeling import (
    ACT2FN,
    BaseModelOutput,
    additive_attention_mask,
    scaled_dot_product_attention,
)
from reference.variants.embeddings import FactorizedEmbeddings


@dataclass
class AlbertConfig:
    """transformers' ``AlbertConfig`` names; defaults are its (albert-xxlarge-like) defaults."""

    vocab_size: int = 30000
    embedding_size: int = 128
    hidden_size: int = 4096
    num_hidden_layers: int = 12
    num_hidden_groups: int = 1
    num_attention_heads: int = 64
    intermediate_size: int = 16384
    inner_group_num: int = 1
    hidden_act: str = "gelu_new"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0


AlbertEmbeddings = FactorizedEmbeddings  # word + position + type at width E, LayerNorm, dropout


class AlbertAttention(nn.Module):
    """BERT's attention block, flattened into one module: q/k/v, dense, post-LN residual."""

    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.attention_dropout = nn.Dropout(config.attention_probs_dropout_prob)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.output_dropout = nn.Dropout(config.hidden_dropout_prob)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        batch, seq, _ = hidden_states.shape

        def heads(x: Tensor) -> Tensor:
            return x.view(batch, seq, self.num_heads, self.head_dim).transpose(1, 2)

        q = heads(self.query(hidden_states))
        k = heads(self.key(hidden_states))
        v = heads(self.value(hidden_states))
        context, _ = scaled_dot_product_attention(q, k, v, mask, self.attention_dropout)
        output = self.output_dropout(self.dense(context.transpose(1, 2).reshape(batch, seq, -1)))
        return self.LayerNorm(hidden_states + output)


class AlbertLayer(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.attention = AlbertAttention(config)
        self.ffn = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = ACT2FN[config.hidden_act]
        self.ffn_output = nn.Linear(config.intermediate_size, config.hidden_size)
        self.full_layer_layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        attention_output = self.attention(hidden_states, mask)
        ffn_output = self.ffn_output(self.activation(self.ffn(attention_output)))
        return self.full_layer_layer_norm(ffn_output + attention_output)


class AlbertLayerGroup(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.albert_layers = nn.ModuleList(
            AlbertLayer(config) for _ in range(config.inner_group_num)
        )

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        for layer in self.albert_layers:
            hidden_states = layer(hidden_states, mask)
        return hidden_states


class AlbertTransformer(nn.Module):
    def __init__(self, config: AlbertConfig):
        super().__init__()
        self.config = config
        self.embedding_hidden_mapping_in = nn.Linear(config.embedding_size, config.hidden_size)
        self.albert_layer_groups = nn.ModuleList(
            AlbertLayerGroup(config) for _ in range(config.num_hidden_groups)
        )

    def forward(self, embeddings: Tensor, mask: Tensor | None) -> Tensor:
        hidden_states = self.embedding_hidden_mapping_in(embeddings)  # E -> H, once
        layers, groups = self.config.num_hidden_layers, self.config.num_hidden_groups
        for i in range(layers):
            # layer i runs group i // (L / G): the same weights, again and again
            group = self.albert_layer_groups[int(i / (layers / groups))]
            hidden_states = group(hidden_states, mask)
        return hidden_states


class AlbertModel(nn.Module):
    """``last_hidden_state`` (batch, seq, hidden) and ``pooler_output`` = tanh(W·h_[CLS] + b)."""

    def __init__(self, config: AlbertConfig, add_pooling_layer: bool = True):
        super().__init__()
        self.config = config
        self.embeddings = AlbertEmbeddings(
            config.vocab_size,
            config.embedding_size,
            config.max_position_embeddings,
            config.type_vocab_size,
            config.layer_norm_eps,
            config.hidden_dropout_prob,
            config.pad_token_id,
        )
        self.encoder = AlbertTransformer(config)
        self.pooler = (
            nn.Linear(config.hidden_size, config.hidden_size) if add_pooling_layer else None
        )
        self.pooler_activation = nn.Tanh() if add_pooling_layer else None

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> BaseModelOutput:
        hidden_states = self.embeddings(input_ids, token_type_ids)
        mask = (
            None
            if attention_mask is None
            else additive_attention_mask(attention_mask, hidden_states.dtype)
        )
        sequence_output = self.encoder(hidden_states, mask)
        pooled = None
        if self.pooler is not None:
            pooled = self.pooler_activation(self.pooler(sequence_output[:, 0]))
        return BaseModelOutput(sequence_output, pooled)
