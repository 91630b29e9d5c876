"""The debug round's clean template: a whole BertModel, embeddings to pooler, equal to
transformers' BertModel on the real all-MiniLM-L6-v2 weights (tests/test_debug.py).

It is written so that every step a reviewer checks is a small named function or method:
``bertprep debug`` copies this file with seeded bugs (grader/debug/bugs.py swaps named code
fragments) into ``.bertprep/debug/<date>-<seed>/broken_bert.py``. State-dict keys are Hugging
Face's, so the real weights load with ``load_state_dict`` and nothing else. Mask convention:
``attention_mask`` is 1 for tokens, 0 for padding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference import BertConfig


def gelu(x: Tensor) -> Tensor:
    """The exact GELU: x times the standard normal CDF."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def additive_attention_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """(batch, seq) of 1 = token / 0 = padding -> (batch, 1, 1, seq), added to the scores:
    0 where a key may be attended to, the most negative number where it is padding."""
    keep = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - keep) * torch.finfo(dtype).min


class LayerNorm(nn.Module):
    """Normalise each token's vector over the hidden axis, then scale and shift."""

    def __init__(self, hidden_size: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.bias = nn.Parameter(torch.zeros(hidden_size))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias


class BertEmbeddings(nn.Module):
    """Token + learned absolute position + segment embeddings, LayerNorm, dropout."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:
        position_ids = torch.arange(input_ids.size(1), device=input_ids.device)
        embeddings = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(position_ids)
            + self.token_type_embeddings(token_type_ids)
        )
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    """Multi-head self-attention: project, split into heads, attend, merge the heads."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_heads = config.num_attention_heads
        self.head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def split_heads(self, x: Tensor) -> Tensor:
        """(batch, seq, hidden) -> (batch, heads, seq, head_size)."""
        batch, seq, _ = x.shape
        return x.view(batch, seq, self.num_heads, self.head_size).transpose(1, 2)

    def merge_heads(self, x: Tensor) -> Tensor:
        """(batch, heads, seq, head_size) -> (batch, seq, hidden)."""
        batch, _, seq, _ = x.shape
        return x.transpose(1, 2).reshape(batch, seq, self.num_heads * self.head_size)

    def attention_scores(self, query: Tensor, key: Tensor) -> Tensor:
        """(batch, heads, seq_q, seq_k): how well each query matches each key."""
        return query @ key.transpose(-2, -1) / math.sqrt(self.head_size)

    def attention_probs(self, scores: Tensor, mask: Tensor | None) -> Tensor:
        """Each query's attention over the keys, padded keys blocked."""
        if mask is not None:
            scores = scores + mask
        return self.dropout(F.softmax(scores, dim=-1))

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        query = self.split_heads(self.query(hidden_states))
        key = self.split_heads(self.key(hidden_states))
        value = self.split_heads(self.value(hidden_states))
        probs = self.attention_probs(self.attention_scores(query, key), mask)
        return self.merge_heads(probs @ value)


class BertSelfOutput(nn.Module):
    """The attention's output projection, dropout, residual, LayerNorm (post-LN)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        return self.LayerNorm(input_tensor + self.dropout(self.dense(hidden_states)))


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        return self.output(self.self(hidden_states, mask), hidden_states)


class BertIntermediate(nn.Module):
    """The feed-forward's first half: hidden -> intermediate (4 x hidden), GELU."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return gelu(self.dense(hidden_states))


class BertOutput(nn.Module):
    """The feed-forward's second half: back to hidden, dropout, residual, LayerNorm."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = LayerNorm(config.hidden_size, config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: Tensor, input_tensor: Tensor) -> Tensor:
        return self.LayerNorm(input_tensor + self.dropout(self.dense(hidden_states)))


class BertLayer(nn.Module):
    """One encoder layer: the attention sub-layer, then the feed-forward sub-layer."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        attention_output = self.attention(hidden_states, mask)
        intermediate_output = self.intermediate(attention_output)
        return self.output(intermediate_output, attention_output)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden_states: Tensor, mask: Tensor | None) -> Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, mask)
        return hidden_states


class BertPooler(nn.Module):
    """tanh(W h_[CLS] + b): the sentence vector that NSP and classifiers read."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden_states: Tensor) -> Tensor:
        return torch.tanh(self.dense(hidden_states[:, 0]))


class BertModel(nn.Module):
    """input_ids, attention_mask, token_type_ids (batch, seq) -> (last_hidden_state
    (batch, seq, hidden), pooler_output (batch, hidden))."""

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
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        hidden_states = self.embeddings(input_ids, token_type_ids)
        mask = additive_attention_mask(attention_mask, hidden_states.dtype)
        sequence_output = self.encoder(hidden_states, mask)
        return sequence_output, self.pooler(sequence_output)
