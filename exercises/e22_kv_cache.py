"""Exercise kv_cache: incremental decoding with a key/value cache.

A decoder generates one token at a time. Without a cache, step t runs the whole prefix again:
O(t²) attention work per step, and every key and value of tokens 0..t-1 recomputed although
causality means they never change. With a cache each layer keeps them, the step feeds only
the new token (one query), appends its key and value, and attends over the cache. "Add a KV
cache to your attention" follows "make it causal" in most interviews, with: what shape is the
cache, how much memory does it take, what does the mask look like at decode time, and which
position does the new token get?

The model here is GPT-2's layout stripped to what caching touches: token embeddings plus
learned absolute position embeddings (as BERT's), then layers of x = x + attention(x) with
Llama's projection names and no biases. No LayerNorm, no MLP: neither sees other positions.
"""

from __future__ import annotations

import torch  # noqa: F401 (torch.cat and friends, for you)
from torch import Tensor, nn

from .e21_causal_attention import causal_mask  # noqa: F401 (yours, if you want it)


class KVCache:
    """Keys and values of every token seen so far, one pair of tensors per layer.

    ``keys[layer]`` and ``values[layer]``: (batch, heads, seq_so_far, d_head), seq_so_far
    counting every position fed so far (padding included).
    """

    def __init__(self) -> None:
        self.keys: list[Tensor] = []
        self.values: list[Tensor] = []

    def update(self, layer_idx: int, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor]:
        """Append this step's key and value for ``layer_idx``; return that layer's full cache.

        Args:
            layer_idx: which layer (layers call this in order 0, 1, ...; the first call for a
                layer creates its entry).
            key, value: (batch, heads, new, d_head), the new positions only.

        Returns:
            (keys, values) of that layer after appending: (batch, heads, seq_so_far, d_head).
        """
        raise NotImplementedError("update is yours to write; stuck? run: bertprep hint kv_cache")

    def get_seq_length(self, layer_idx: int = 0) -> int:
        """How many positions the cache holds for ``layer_idx`` (0 before the first update)."""
        raise NotImplementedError(
            "get_seq_length is yours to write; stuck? run: bertprep hint kv_cache"
        )


class CachedSelfAttention(nn.Module):
    """Causal multi-head self-attention that can read and extend a KVCache."""

    def __init__(self, hidden_size: int, num_heads: int, layer_idx: int = 0):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.layer_idx = layer_idx  # which entry of the cache is this layer's
        self.q_proj = nn.Linear(hidden_size, hidden_size, bias=False)
        self.k_proj = nn.Linear(hidden_size, hidden_size, bias=False)
        self.v_proj = nn.Linear(hidden_size, hidden_size, bias=False)
        self.o_proj = nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(
        self, hidden_states: Tensor, attention_mask: Tensor, cache: KVCache | None = None
    ) -> Tensor:
        """Attend from the new positions to every position so far.

        Args:
            hidden_states: (batch, q_len, hidden), the *new* positions only (the whole prompt
                at prefill, one token per decoding step).
            attention_mask: (batch, past + q_len), 1 = real token, 0 = padding, over the
                cached positions *and* the new ones; the new positions are its last q_len.
            cache: None (no caching: past = 0), or a KVCache to read and extend.

        Returns:
            (batch, q_len, hidden), in the dtype of hidden_states (a model may run in
            float16 after ``.half()``): o_proj of the merged heads. Scores are scaled by
            1/sqrt(head_dim); the mask is causal (a query sees no later position) and padding
            (no padded key), added before the softmax as finfo(dtype).min.
        """
        raise NotImplementedError("forward is yours to write; stuck? run: bertprep hint kv_cache")


class TinyDecoder(nn.Module):
    """Token + learned position embeddings, then ``num_layers`` of x = x + attention(x)."""

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        num_heads: int,
        num_layers: int,
        max_position_embeddings: int,
    ):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, hidden_size)  # token embeddings (GPT-2's name)
        self.wpe = nn.Embedding(max_position_embeddings, hidden_size)  # learned positions
        self.layers = nn.ModuleList(
            CachedSelfAttention(hidden_size, num_heads, layer_idx=i) for i in range(num_layers)
        )

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, cache: KVCache | None = None
    ) -> Tensor:
        """Run the new tokens, reading and extending ``cache`` when one is given.

        Args:
            input_ids: (batch, q_len) int64, the new tokens only.
            attention_mask: (batch, past + q_len), 1 = real, 0 = padding, over cache + new
                tokens (None: all real). Prompts of different lengths are padded on the left.
            cache: None, or the KVCache of the earlier calls (empty at prefill).

        Returns:
            (batch, q_len, hidden). The position of a token is the number of real tokens
            before it in its row (so a left-padded row gets the positions it would get alone;
            padded slots may use position 0).
        """
        raise NotImplementedError("forward is yours to write; stuck? run: bertprep hint kv_cache")
