"""A small decoder-only transformer (Llama layout) with causal attention and a KV cache.

    input_ids ─► embed_tokens ─► L × LlamaDecoderLayer, pre-norm:
                     x = x + o_proj(CausalAttention(RoPE(q), RoPE(k), v; causal + padding mask))
                     x = x + SwiGLU(RMSNorm(x))
              ─► norm (RMSNorm) ─► last_hidden_state

**KV cache.** A decoder generating token t needs the keys and values of tokens 0..t-1 again.
They do not change (causal: earlier tokens never see later ones), so each layer keeps them:

    cache.keys[layer], cache.values[layer]: (batch, kv_heads, seq_so_far, head_dim)

Prefill runs the prompt once and fills the cache; every later step feeds *one* token
(q_len = 1), appends its k/v (concatenation along seq, like transformers' ``DynamicCache``), and
attends over the whole cache. Per step that is O(seq) work instead of O(seq²), for memory
2 · layers · batch · kv_heads · seq · head_dim numbers. Keys are cached *after* RoPE: a
key's rotation depends only on its own position, which is fixed.

**Batches of different lengths: left padding.** Prompts are padded on the left so that every
row's next token goes in the same column. The 2-D ``attention_mask`` (1 real / 0 pad) covers
cache + new tokens (append a 1 per generated token); position ids count real tokens only
(:func:`~reference.variants.masks.position_ids_from_attention_mask`), so a padded row gets
exactly the rotations (and so the outputs) it would get alone.

**GQA.** ``num_key_value_heads`` < ``num_attention_heads`` shares each k/v head among a group of
query heads (Ainslie et al. 2023), shrinking the cache by that factor.

State-dict keys are transformers' ``LlamaModel`` keys (``models/llama/modeling_llama.py``), so
``model.load_state_dict(hf_llama.state_dict())`` works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from reference.modeling import scaled_dot_product_attention
from reference.variants.glu import LlamaMLP
from reference.variants.masks import causal_padding_mask, position_ids_from_attention_mask
from reference.variants.norms import RMSNorm
from reference.variants.rope import RotaryEmbedding, apply_rotary_pos_emb


@dataclass
class DecoderConfig:
    """A subset of transformers' ``LlamaConfig`` (same names; defaults are Llama-7B)."""

    vocab_size: int = 32000
    hidden_size: int = 4096
    intermediate_size: int = 11008
    num_hidden_layers: int = 32
    num_attention_heads: int = 32
    num_key_value_heads: int | None = None  # None: as many as query heads (plain MHA)
    head_dim: int | None = None  # None: hidden_size // num_attention_heads
    max_position_embeddings: int = 2048
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    attention_bias: bool = False
    mlp_bias: bool = False
    hidden_act: str = "silu"
    pad_token_id: int | None = None

    def __post_init__(self) -> None:
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")


class KVCache:
    """Keys and values of every token seen so far, one pair of tensors per layer.

    Shapes: ``keys[layer]`` and ``values[layer]`` are (batch, kv_heads, seq_so_far, head_dim).
    """

    def __init__(self) -> None:
        self.keys: list[Tensor] = []
        self.values: list[Tensor] = []

    def update(self, layer_idx: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Append this step's (batch, kv_heads, new, head_dim) k/v; return the full k/v."""
        if layer_idx == len(self.keys):  # first call for this layer: the prefill
            self.keys.append(key)
            self.values.append(value)
        else:
            self.keys[layer_idx] = torch.cat((self.keys[layer_idx], key), dim=-2)
            self.values[layer_idx] = torch.cat((self.values[layer_idx], value), dim=-2)
        return self.keys[layer_idx], self.values[layer_idx]

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.keys[layer_idx].shape[-2] if layer_idx < len(self.keys) else 0


def repeat_kv(x: Tensor, n_rep: int) -> Tensor:
    """(batch, kv_heads, seq, d) -> (batch, kv_heads·n_rep, seq, d): kv head h serves query heads
    h·n_rep .. h·n_rep + n_rep - 1 (``repeat_interleave`` order, as transformers)."""
    return x if n_rep == 1 else x.repeat_interleave(n_rep, dim=1)


class CausalSelfAttention(nn.Module):
    """Multi-head (or grouped-query) self-attention with RoPE, an additive mask and a cache."""

    def __init__(self, config: DecoderConfig, layer_idx: int = 0):
        super().__init__()
        self.layer_idx = layer_idx
        self.head_dim = config.head_dim
        self.num_key_value_groups = config.num_attention_heads // config.num_key_value_heads
        heads, kv_heads, bias = (
            config.num_attention_heads,
            config.num_key_value_heads,
            config.attention_bias,
        )
        self.q_proj = nn.Linear(config.hidden_size, heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(config.hidden_size, kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(config.hidden_size, kv_heads * self.head_dim, bias=bias)
        self.o_proj = nn.Linear(heads * self.head_dim, config.hidden_size, bias=bias)

    def forward(
        self,
        hidden_states: Tensor,
        mask: Tensor | None,
        position_embeddings: tuple[Tensor, Tensor] | None = None,
        cache: KVCache | None = None,
    ) -> Tensor:
        """hidden_states (batch, q_len, hidden); mask additive (batch, 1, q_len, kv_len) from
        :func:`causal_padding_mask`; position_embeddings (cos, sin) or None for no RoPE."""
        batch, q_len, _ = hidden_states.shape
        shape = (batch, q_len, -1, self.head_dim)
        q = self.q_proj(hidden_states).view(shape).transpose(1, 2)  # (batch, heads, q_len, d)
        k = self.k_proj(hidden_states).view(shape).transpose(1, 2)  # (batch, kv_heads, q_len, d)
        v = self.v_proj(hidden_states).view(shape).transpose(1, 2)
        if position_embeddings is not None:
            q, k = apply_rotary_pos_emb(q, k, *position_embeddings)
        if cache is not None:
            k, v = cache.update(self.layer_idx, k, v)  # now (batch, kv_heads, kv_len, d)
        k, v = repeat_kv(k, self.num_key_value_groups), repeat_kv(v, self.num_key_value_groups)
        context, _ = scaled_dot_product_attention(q, k, v, mask)
        return self.o_proj(context.transpose(1, 2).reshape(batch, q_len, -1))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, config: DecoderConfig, layer_idx: int):
        super().__init__()
        self.self_attn = CausalSelfAttention(config, layer_idx)
        self.mlp = LlamaMLP(
            config.hidden_size, config.intermediate_size, config.hidden_act, config.mlp_bias
        )
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(
        self,
        hidden_states: Tensor,
        mask: Tensor | None,
        position_embeddings: tuple[Tensor, Tensor],
        cache: KVCache | None = None,
    ) -> Tensor:
        hidden_states = hidden_states + self.self_attn(
            self.input_layernorm(hidden_states), mask, position_embeddings, cache
        )
        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


class DecoderOutput(NamedTuple):
    last_hidden_state: Tensor  # (batch, q_len, hidden)
    cache: KVCache | None  # transformers 5 calls this field ``cache`` (formerly past_key_values)


class DecoderModel(nn.Module):
    """transformers' ``LlamaModel``: embeddings, pre-norm decoder layers, final RMSNorm."""

    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size, config.pad_token_id)
        self.layers = nn.ModuleList(
            LlamaDecoderLayer(config, i) for i in range(config.num_hidden_layers)
        )
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(
            config.head_dim, config.rope_theta, config.max_position_embeddings
        )

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        position_ids: Tensor | None = None,
        cache: KVCache | None = None,
        use_cache: bool = False,
    ) -> DecoderOutput:
        """input_ids (batch, q_len): the new tokens only; attention_mask (batch, past + q_len)
        over cache + new tokens (default: all real); position_ids (batch, q_len) (default:
        counted from the mask, so left padding is skipped)."""
        if use_cache and cache is None:
            cache = KVCache()
        batch, q_len = input_ids.shape
        past = cache.get_seq_length() if cache is not None else 0
        if attention_mask is None:
            attention_mask = torch.ones(
                batch, past + q_len, dtype=torch.long, device=input_ids.device
            )
        if position_ids is None:
            position_ids = position_ids_from_attention_mask(attention_mask)[:, -q_len:]
        hidden_states = self.embed_tokens(input_ids)
        mask = causal_padding_mask(attention_mask, q_len, hidden_states.dtype)
        position_embeddings = self.rotary_emb(position_ids, hidden_states.dtype)
        for layer in self.layers:
            hidden_states = layer(hidden_states, mask, position_embeddings, cache)
        return DecoderOutput(self.norm(hidden_states), cache)
