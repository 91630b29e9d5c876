"""ModernBERT (Warner et al. 2024, "Smarter, Better, Faster, Longer", §2.1): BERT's encoder
rebuilt with what decoders learned since 2018.

    input_ids ─► embeddings: tok_embeddings ─► LayerNorm ─► dropout   (no position embeddings)
              ─► L × ModernBertEncoderLayer, pre-LN, no biases:
                     x = x + Wo(Attention(RoPE(q), RoPE(k), v))   on attn_norm(x)
                     x = x + GeGLU(mlp_norm(x))
                 layer i is *global* (full attention, RoPE θ = 160k) when
                 i % global_attn_every_n_layers == 0, else *local* (sliding window of
                 local_attention tokens, i.e. local_attention // 2 each side, RoPE θ = 10k)
              ─► final_norm ─► last_hidden_state

Details that decide equality with transformers' ``ModernBertModel``
(``models/modernbert/modeling_modernbert.py``, read at 5.x):

- layer 0's ``attn_norm`` is ``Identity``: the embedding norm just ran, a second one would be
  redundant; every other layer has a LayerNorm there;
- ``Wqkv`` is one (hidden -> 3·hidden) projection laid out [q | k | v], each split into heads;
- LayerNorms have no bias (``norm_bias=False``), linears none (``attention_bias``/``mlp_bias``);
- transformers 5 no longer unpads: it runs the padded batch with an additive mask, so outputs
  on padded positions are defined but meaningless; compare real tokens only.

State-dict keys equal ``ModernBertModel``'s; the rotary caches are non-persistent buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from reference.modeling import BaseModelOutput, scaled_dot_product_attention
from reference.variants.glu import GatedMLP
from reference.variants.masks import padding_mask, sliding_window_mask
from reference.variants.rope import RotaryEmbedding, apply_rotary_pos_emb


@dataclass
class ModernBertConfig:
    """transformers' ``ModernBertConfig`` names; defaults are ModernBERT-base."""

    vocab_size: int = 50368
    hidden_size: int = 768
    intermediate_size: int = 1152
    num_hidden_layers: int = 22
    num_attention_heads: int = 12
    hidden_activation: str = "gelu"
    max_position_embeddings: int = 8192
    norm_eps: float = 1e-5
    norm_bias: bool = False
    pad_token_id: int = 50283
    attention_bias: bool = False
    attention_dropout: float = 0.0
    global_rope_theta: float = 160_000.0
    local_rope_theta: float = 10_000.0
    local_attention: int = 128  # the whole window; each side sees local_attention // 2
    global_attn_every_n_layers: int = 3
    embedding_dropout: float = 0.0
    mlp_bias: bool = False
    mlp_dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_attention_heads:
            raise ValueError("hidden_size must be a multiple of num_attention_heads")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def is_global(self, layer_idx: int) -> bool:
        return layer_idx % self.global_attn_every_n_layers == 0


class ModernBertEmbeddings(nn.Module):
    """Token embeddings only (position comes from RoPE inside attention), then norm, dropout."""

    def __init__(self, config: ModernBertConfig):
        super().__init__()
        self.tok_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        self.drop = nn.Dropout(config.embedding_dropout)

    def forward(self, input_ids: Tensor) -> Tensor:
        return self.drop(self.norm(self.tok_embeddings(input_ids)))


class ModernBertAttention(nn.Module):
    """Bidirectional multi-head attention with RoPE; global or local is decided by the mask."""

    def __init__(self, config: ModernBertConfig, layer_idx: int):
        super().__init__()
        self.num_heads, self.head_dim = config.num_attention_heads, config.head_dim
        self.is_global = config.is_global(layer_idx)
        self.Wqkv = nn.Linear(
            config.hidden_size, 3 * config.hidden_size, bias=config.attention_bias
        )
        self.Wo = nn.Linear(config.hidden_size, config.hidden_size, bias=config.attention_bias)
        self.attn_drop = nn.Dropout(config.attention_dropout)  # on the probabilities
        self.out_drop = nn.Dropout(config.attention_dropout)  # on the output (HF: same rate)

    def forward(
        self, hidden_states: Tensor, mask: Tensor | None, position_embeddings: tuple[Tensor, Tensor]
    ) -> Tensor:
        batch, seq, _ = hidden_states.shape
        qkv = self.Wqkv(hidden_states).view(batch, seq, 3, self.num_heads, self.head_dim)
        q, k, v = (t.transpose(1, 2) for t in qkv.unbind(dim=2))  # (batch, heads, seq, d)
        q, k = apply_rotary_pos_emb(q, k, *position_embeddings)
        context, _ = scaled_dot_product_attention(q, k, v, mask, self.attn_drop)
        return self.out_drop(self.Wo(context.transpose(1, 2).reshape(batch, seq, -1)))


class ModernBertEncoderLayer(nn.Module):
    def __init__(self, config: ModernBertConfig, layer_idx: int):
        super().__init__()
        # Layer 0 reads the freshly normalised embeddings: no second norm (as in HF).
        self.attn_norm = (
            nn.Identity()
            if layer_idx == 0
            else nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        )
        self.attn = ModernBertAttention(config, layer_idx)
        self.mlp_norm = nn.LayerNorm(config.hidden_size, eps=config.norm_eps, bias=config.norm_bias)
        self.mlp = GatedMLP(
            config.hidden_size,
            config.intermediate_size,
            config.hidden_activation,
            config.mlp_bias,
            config.mlp_dropout,
        )

    def forward(
        self, hidden_states: Tensor, mask: Tensor | None, position_embeddings: tuple[Tensor, Tensor]
    ) -> Tensor:
        hidden_states = hidden_states + self.attn(
            self.attn_norm(hidden_states), mask, position_embeddings
        )
        return hidden_states + self.mlp(self.mlp_norm(hidden_states))


class ModernBertModel(nn.Module):
    """``last_hidden_state`` (batch, seq, hidden); no pooler (``pooler_output`` is None)."""

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
        # Two caches, one per RoPE base: long-range global layers rotate more slowly.
        self.global_rotary = RotaryEmbedding(
            config.head_dim, config.global_rope_theta, config.max_position_embeddings
        )
        self.local_rotary = RotaryEmbedding(
            config.head_dim, config.local_rope_theta, config.max_position_embeddings
        )

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> BaseModelOutput:
        """input_ids, attention_mask (1 keep / 0 pad): (batch, seq)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden_states = self.embeddings(input_ids)
        dtype = hidden_states.dtype
        masks = {  # global: padding only; local: padding and distance
            True: padding_mask(attention_mask, dtype),
            False: sliding_window_mask(attention_mask, self.config.local_attention // 2, dtype),
        }
        position_ids = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
        rotations = {
            True: self.global_rotary(position_ids, dtype),
            False: self.local_rotary(position_ids, dtype),
        }
        for layer in self.layers:
            is_global = layer.attn.is_global
            hidden_states = layer(hidden_states, masks[is_global], rotations[is_global])
        return BaseModelOutput(self.final_norm(hidden_states), None)
