"""BERT-style input embeddings at a width E that may differ from the hidden width H.

word + learned absolute position + token type, then LayerNorm and dropout, exactly BERT's
recipe (Devlin et al. 2018, §3) but with ``embedding_size`` E as the width. ALBERT and ELECTRA
both embed narrow and project to H afterwards (ALBERT's ``embedding_hidden_mapping_in``,
ELECTRA's ``embeddings_project``). Names as transformers' ``AlbertEmbeddings`` /
``ElectraEmbeddings``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class FactorizedEmbeddings(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        embedding_size: int,
        max_position_embeddings: int,
        type_vocab_size: int,
        layer_norm_eps: float,
        dropout: float,
        pad_token_id: int | None,
    ):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, embedding_size, padding_idx=pad_token_id)
        self.position_embeddings = nn.Embedding(max_position_embeddings, embedding_size)
        self.token_type_embeddings = nn.Embedding(type_vocab_size, embedding_size)
        self.LayerNorm = nn.LayerNorm(embedding_size, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        """input_ids, token_type_ids (default all 0): (batch, seq) -> (batch, seq, E)."""
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        position_ids = torch.arange(input_ids.shape[1], device=input_ids.device)
        embeddings = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(token_type_ids)
            + self.position_embeddings(position_ids)
        )
        return self.dropout(self.LayerNorm(embeddings))
