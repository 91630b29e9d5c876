"""Exercise modernbert_layer: the capstone of Part II, a whole ModernBERT encoder.

ModernBERT (Warner et al. 2024) is BERT's encoder rebuilt with what decoders learned since
2018, and "what does ModernBERT change?" is the question that collects all of Part II:

    input_ids ─► tok_embeddings ─► LayerNorm ─► dropout          no position embeddings
              ─► L x ModernBertEncoderLayer, pre-LN (your e27's idea), no biases anywhere:
                     x = x + Wo(attention(RoPE(q), RoPE(k), v))   on attn_norm(x)
                     x = x + GeGLU(mlp_norm(x))                    (your e26 GatedMLP)
                 layer i is GLOBAL when i % global_attn_every_n_layers == 0: full attention,
                 RoPE base global_rope_theta (160k); otherwise LOCAL: each token sees the
                 tokens at distance <= local_attention // 2 on either side (a window of
                 local_attention + 1), RoPE base local_rope_theta (10k)
              ─► final_norm ─► last_hidden_state (batch, seq, hidden)

Layer 0's attn_norm is nn.Identity: the embeddings were just normalised, a second LayerNorm
would be redundant (and the checkpoint has no weights for it). Yours: sliding_window_mask,
the forward methods, and layer attn_norm in ModernBertEncoderLayer.__init__. Everything else
in __init__ is declared with transformers' names (ModernBertModel), so its state dict loads.
RoPE comes from your e23, the GeGLU from your e26, the padding mask of the global layers from
your e03.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reference.variants import ModernBertConfig

from .e03_padding_mask import additive_attention_mask  # noqa: F401 (yours, global layers)
from .e23_rope import apply_rotary_pos_emb, rope_cos_sin, rope_inv_freq  # noqa: F401 (yours)
from .e26_geglu import GatedMLP


def sliding_window_mask(
    attention_mask: Tensor, local_attention: int, dtype: torch.dtype = torch.float32
) -> Tensor:
    """The additive mask of ModernBERT's local layers: near AND real.

    Args:
        attention_mask: (batch, seq) integers, 1 = real token, 0 = padding.
        local_attention: the config's window size (e.g. 128), the *whole* window.
        dtype: the dtype of the scores the mask is added to.

    Returns:
        (batch, 1, seq, seq) of ``dtype``: entry [b, 0, i, j] is 0.0 when |i - j| <=
        local_attention // 2 and key j is a real token, torch.finfo(dtype).min otherwise.
    """
    raise NotImplementedError(
        "sliding_window_mask is yours to write; stuck? run: bertprep hint modernbert_layer"
    )


class ModernBertEmbeddings(nn.Module):
    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.tok_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        self.drop = nn.Dropout(config.embedding_dropout)

    def forward(self, input_ids: Tensor) -> Tensor:
        """(batch, seq) int64 -> (batch, seq, hidden): drop(norm(tok_embeddings(input_ids)))."""
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint modernbert_layer"
        )


class ModernBertAttention(nn.Module):
    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_dim = config.hidden_size // config.num_attention_heads
        self.Wqkv = nn.Linear(
            config.hidden_size, 3 * config.hidden_size, bias=config.attention_bias
        )
        self.Wo = nn.Linear(config.hidden_size, config.hidden_size, bias=config.attention_bias)
        self.attn_drop = nn.Dropout(config.attention_dropout)  # on the probabilities
        self.out_drop = nn.Dropout(config.attention_dropout)  # on the output

    def forward(self, hidden_states: Tensor, mask: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        """Bidirectional multi-head attention with RoPE.

        Args:
            hidden_states: (batch, seq, hidden) float, already normalised by the layer.
            mask: additive, (batch, 1, 1, seq) (global layers) or (batch, 1, seq, seq) (local).
            cos, sin: (batch or 1, seq, head_dim) from your e23 rope_cos_sin, for this
                layer's RoPE base.

        Returns:
            (batch, seq, hidden): Wqkv(x) is laid out [q | k | v], each hidden wide and split
            into heads (head h = features h·head_dim ... (h+1)·head_dim - 1); rotate q and k
            (never v) with your apply_rotary_pos_emb; softmax(q kᵀ / sqrt(head_dim) + mask)
            over the keys, dropout, times v; merge the heads; out_drop(Wo(...)).
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint modernbert_layer"
        )


class ModernBertEncoderLayer(nn.Module):
    def __init__(self, config: ModernBertConfig, layer_idx: int):
        """Declare ``self.attn_norm`` yourself (the rest is given): the norm before the
        attention, an nn.LayerNorm(hidden, eps=config.norm_eps, bias=config.norm_bias) —
        except in layer 0, which reads freshly normalised embeddings. What goes there?"""
        super().__init__()
        self.is_global = config.is_global(layer_idx)  # i % global_attn_every_n_layers == 0
        self.attn = ModernBertAttention(config)
        self.mlp_norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        self.mlp = GatedMLP(
            config.hidden_size,
            config.intermediate_size,
            config.hidden_activation,
            config.mlp_bias,
            config.mlp_dropout,
        )  # your e26: Wi, Wo
        raise NotImplementedError(
            "attn_norm is yours to declare; stuck? run: bertprep hint modernbert_layer"
        )

    def forward(self, hidden_states: Tensor, mask: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
        """One pre-LN layer: x + attn(attn_norm(x), ...), then + mlp(mlp_norm(x)).

        Args and shapes as ModernBertAttention.forward; returns (batch, seq, hidden).
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint modernbert_layer"
        )


class ModernBertModel(nn.Module):
    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.config = config
        self.embeddings = ModernBertEmbeddings(config)
        self.layers = nn.ModuleList(
            ModernBertEncoderLayer(config, i) for i in range(config.num_hidden_layers)
        )
        self.final_norm = nn.LayerNorm(
            config.hidden_size, eps=config.norm_eps, bias=config.norm_bias
        )

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """Run ModernBERT on a batch.

        Args:
            input_ids: (batch, seq) int64.
            attention_mask: optional (batch, seq), 1 = real token, 0 = padding (None: none).

        Returns:
            last_hidden_state (batch, seq, hidden): embeddings; then every layer with the mask
            and the RoPE cos/sin of its kind (global: padding mask, global_rope_theta; local:
            sliding_window_mask, local_rope_theta; positions 0 .. seq - 1); then final_norm.
        """
        raise NotImplementedError(
            "forward is yours to write; stuck? run: bertprep hint modernbert_layer"
        )
