"""Solution embeddings: token + position + segment, LayerNorm, dropout; and the sinusoids.

Why the sum works: the three tables live in the same hidden space and are trained together,
so the model learns to keep their signals separable. Why LayerNorm here: the sum of three
embeddings has no controlled scale, and every encoder layer expects normalised input.

BERT's positions are learned, absolute and capped: position_embeddings has
max_position_embeddings (512) rows, so a 513th token has no embedding at all. The sinusoids
below are defined for any position, which is one reason the original Transformer chose them
(Vaswani et al. 2017, §3.5: "may allow the model to extrapolate"); BERT found learned
positions simpler and no worse at its lengths.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from reference import BertConfig


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        seq = input_ids.size(1)
        if seq > self.position_embeddings.num_embeddings:
            raise ValueError(
                f"sequence of {seq} tokens, but BERT has learned only "
                f"{self.position_embeddings.num_embeddings} positions"
            )
        if token_type_ids is None:
            # One sentence: every token is in segment A.
            token_type_ids = torch.zeros_like(input_ids)
        # Positions count from 0: the [CLS] token at index 0 gets row 0. (RoBERTa offsets its
        # positions past the padding index; BERT does not.)
        position_ids = torch.arange(seq, device=input_ids.device)
        embeddings = (
            self.word_embeddings(input_ids)  # (batch, seq, hidden)
            + self.position_embeddings(position_ids)  # (seq, hidden), broadcast over batch
            + self.token_type_embeddings(token_type_ids)  # (batch, seq, hidden)
        )
        return self.dropout(self.LayerNorm(embeddings))


def sinusoidal_position_encoding(seq_len: int, dim: int) -> Tensor:
    position = torch.arange(seq_len, dtype=torch.float64)[:, None]  # (seq_len, 1)
    # One frequency per column pair i: 1 / 10000^(2i / dim). The exponent uses 2i, the
    # *column* index of the pair's sine, so wavelengths run geometrically from 2*pi (i = 0)
    # up to about 10000 * 2*pi across the columns.
    two_i = torch.arange(0, dim, 2, dtype=torch.float64)  # 0, 2, 4, ... : ceil(dim / 2) pairs
    frequencies = torch.exp(-math.log(10000.0) * two_i / dim)
    angles = position * frequencies  # (seq_len, ceil(dim / 2))
    encoding = torch.empty(seq_len, dim, dtype=torch.float64)
    # Interleaved, as in the paper: sin in even columns, cos in odd ones. (Some code
    # concatenates all sines then all cosines; that is a permutation of the columns, fine
    # for a model trained with it, but not the formula.) For odd dim the last sine has no
    # cosine partner, hence the [: dim // 2].
    encoding[:, 0::2] = torch.sin(angles)
    encoding[:, 1::2] = torch.cos(angles[:, : dim // 2])
    # Computed in float64: at position ~500, float32 angles are already off by ~3e-5.
    return encoding.float()
