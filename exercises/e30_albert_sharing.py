"""Exercise albert_sharing: ALBERT's two ways to shrink BERT (Lan et al. 2019, §3.1).

1. Factorised embeddings. BERT's token table is V x H (30522 x 768 = 23M parameters in
   BERT-base). Token embeddings are context-free, so ALBERT embeds into a small width E
   (128) and projects E -> H once: V x E + E x H parameters.
2. Cross-layer parameter sharing. The L layers reuse the same weights: the encoder holds
   num_hidden_groups (G) groups of layer weights, and layer i runs group i // (L / G). With
   ALBERT's default G = 1, one layer's weights are applied L times, so depth costs compute
   but no parameters: ALBERT-base has 12M parameters where BERT-base has 108M.

    input_ids ─► embeddings at width E (your e06 BertEmbeddings, built E wide)
              ─► embedding_hidden_mapping_in: E -> H
              ─► L times: the group of layer i, albert_layer_groups[int(i / (L / G))]
              ─► last_hidden_state (batch, seq, H);  pooler: tanh(W · h[:, 0] + b)

Given below: AlbertAttention / AlbertLayer / AlbertLayerGroup (BERT's post-LN layer under
ALBERT's names, built on your e05; each group holds inner_group_num layers). Yours: the two
__init__ methods (which modules exist, how wide: that is where the parameters are saved) and
the two forward methods. Names are transformers' (AlbertModel), so its weights load as they
are.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig
from reference.variants import AlbertConfig

from .e02_gelu import gelu
from .e05_multi_head import BertSelfAttention
from .e06_embeddings import BertEmbeddings  # noqa: F401 (yours, for AlbertModel)


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


# --- yours ------------------------------------------------------------------------------------


class AlbertTransformer(nn.Module):
    def __init__(self, config: AlbertConfig):
        """Declare, under these names:

        - ``self.config = config``;
        - ``self.embedding_hidden_mapping_in``: the nn.Linear of the factorisation, from the
          embedding width to the hidden width;
        - ``self.albert_layer_groups``: an nn.ModuleList of AlbertLayerGroup(config), one per
          *distinct* set of layer weights (config.num_hidden_groups of them), however many
          layers run.
        """
        super().__init__()
        raise NotImplementedError(
            "AlbertTransformer.__init__ is yours to write; stuck? run: bertprep hint albert_sharing"
        )

    def forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """The encoder.

        Args:
            hidden_states: (batch, seq, embedding_size) float, the embeddings.
            attention_mask: optional (batch, seq) integers, 1 = real token, 0 = padding; the
                same for every layer.

        Returns:
            (batch, seq, hidden_size): project E -> H, then run config.num_hidden_layers
            layers, layer i (0-based) being the group albert_layer_groups[int(i / (L / G))],
            L = num_hidden_layers, G = num_hidden_groups.
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint albert_sharing"
        )


class AlbertModel(nn.Module):
    def __init__(self, config: AlbertConfig):
        """Declare, under these names:

        - ``self.config = config``;
        - ``self.embeddings``: your e06 BertEmbeddings, built from
          ``embeddings_config(config, width)`` at the width ALBERT embeds tokens in;
        - ``self.encoder``: an AlbertTransformer(config);
        - ``self.pooler``: nn.Linear(hidden, hidden); ``self.pooler_activation``: nn.Tanh().
        """
        super().__init__()
        raise NotImplementedError(
            "AlbertModel.__init__ is yours to write; stuck? run: bertprep hint albert_sharing"
        )

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Run ALBERT on a batch.

        Args:
            input_ids: (batch, seq) int64; attention_mask: optional (batch, seq), 1 = real,
                0 = padding (None: no padding); token_type_ids: optional (batch, seq) int64
                (None: all zeros).

        Returns:
            (last_hidden_state, pooler_output): (batch, seq, hidden) from the encoder, and
            (batch, hidden) = tanh(pooler(last_hidden_state[:, 0])).
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint albert_sharing"
        )
