"""Solution roberta_positions: count the real tokens, shift by padding_idx, leave pads on it.

One cumulative sum does it: over a 0/1 "is real" mask, cumsum numbers the real tokens 1, 2, 3
... in order, multiplying by the mask puts the pads back to 0, and adding padding_idx shifts
everything so that real tokens start at padding_idx + 1 and pads land on padding_idx itself.
This is fairseq's ``utils.make_positions``, copied into transformers.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from reference import BertConfig


def create_position_ids_from_input_ids(input_ids: Tensor, padding_idx: int) -> Tensor:
    is_real = input_ids.ne(padding_idx).long()  # (batch, seq): 1 real, 0 padding
    # cumsum counts real tokens so far: [1, 2, 3, 3, 3] for [a, b, c, pad, pad]. Without the
    # "* is_real" the pads after the text would repeat the last position (3, 3) instead of
    # sitting on the padding row; without "+ padding_idx" the text would start at 1 and read
    # the padding row (padding_idx = 1) for its second token.
    counts = torch.cumsum(is_real, dim=1) * is_real
    return counts + padding_idx


class RobertaEmbeddings(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.padding_idx = config.pad_token_id
        self.word_embeddings = nn.Embedding(
            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id
        )
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        # padding_idx here too: the padding row starts at zero and never gets a gradient, so
        # a pad's embedding is its word vector (also zero) plus its token type only.
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size, padding_idx=config.pad_token_id
        )

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        # The one line that differs from BERT's embeddings (e06): positions come from the ids,
        # not from arange(seq). That is why a RoBERTa checkpoint run through BERT's embeddings
        # gives wrong outputs: every real token reads the row padding_idx + 1 places too early.
        position_ids = create_position_ids_from_input_ids(input_ids, self.padding_idx)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)  # RoBERTa has one segment type
        embeddings = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(position_ids)
            + self.token_type_embeddings(token_type_ids)
        )
        return self.dropout(self.LayerNorm(embeddings))
