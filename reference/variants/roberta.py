"""RoBERTa's embeddings (Liu et al. 2019, "RoBERTa": the architecture is BERT's, §2).

The one structural difference from BERT's embeddings is inherited from fairseq: position ids
are not ``arange(seq)`` but count *non-padding* tokens, starting at ``padding_idx + 1``:

    input_ids    [<s>, a,  b,  </s>, <pad>, <pad>]     (padding_idx = 1)
    position_ids [ 2,  3,  4,  5,    1,     1   ]

Padding gets position ``padding_idx``, whose embedding row is the zero ``padding_idx`` row (and
gets no gradient). The price: the first ``padding_idx + 1`` rows of the position table are never
used by real tokens, which is why roberta-base has ``max_position_embeddings = 514`` for 512
tokens.

transformers: ``models/roberta/modeling_roberta.py``, ``RobertaEmbeddings`` and its static
method ``create_position_ids_from_input_ids`` (from fairseq's ``utils.make_positions``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reference.config import BertConfig


def create_position_ids_from_input_ids(
    input_ids: Tensor, padding_idx: int, past_key_values_length: int = 0
) -> Tensor:
    """Real tokens get padding_idx + 1, + 2, ... in order (skipping pads); pads get padding_idx."""
    is_real = input_ids.ne(padding_idx).long()
    # cumsum numbers the real tokens 1, 2, ...; times is_real zeroes the pads; shift by padding_idx
    return (torch.cumsum(is_real, dim=1) + past_key_values_length) * is_real + padding_idx


class RobertaEmbeddings(nn.Module):
    """word + position (padding-aware ids) + token type, then LayerNorm and dropout.

    Takes a :class:`reference.BertConfig` (RoBERTa's config is BERT's); set ``pad_token_id=1``
    and ``max_position_embeddings=514`` as roberta-base does.
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.padding_idx = config.pad_token_id
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size, padding_idx=config.pad_token_id
        )

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        position_ids = create_position_ids_from_input_ids(input_ids, self.padding_idx)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        embeddings = (
            self.word_embeddings(input_ids)
            + self.token_type_embeddings(token_type_ids)
            + self.position_embeddings(position_ids)
        )
        return self.dropout(self.LayerNorm(embeddings))
