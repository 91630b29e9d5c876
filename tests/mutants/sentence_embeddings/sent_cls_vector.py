"""Mutant: the [CLS] token's vector instead of the mean of the tokens."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def mean_pooling(last_hidden_state: Tensor, attention_mask: Tensor) -> Tensor:
    # (batch, seq) -> (batch, seq, 1) so it broadcasts over hidden; cast to the hidden
    # states' dtype (an int or bool mask times floats is fine, but the sum of a bool is not
    # what we want as a float count).
    weights = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    summed = (last_hidden_state * weights).sum(dim=1)  # padding contributes 0 to the sum...
    counts = weights.sum(dim=1)  # ...and nothing to the count: divide by the real length,
    # not by seq (dividing the masked sum by seq shrinks short sentences towards zero).
    # A row with no real token has count 0: clamp so it gives 0 / 1e-9 = 0, not 0 / 0 = NaN
    # (sentence-transformers' Pooling does the same).
    return summed / counts.clamp(min=1e-9)


def sentence_embeddings(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor,
    token_type_ids: Tensor | None = None,
) -> Tensor:
    with torch.no_grad():  # inference: no graph to keep
        output = model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
    # transformers' ModelOutput and the reference's NamedTuple both have the attribute; a
    # plain tuple has the last hidden state first (transformers' return_dict=False order).
    hidden = getattr(output, "last_hidden_state", None)
    if hidden is None:
        hidden = output[0]
    pooled = hidden[:, 0]
    # L2 over the hidden dimension, one vector at a time (dim=-1). dim=0 would normalise
    # each feature across the batch, making a sentence's vector depend on its batch-mates.
    # F.normalize divides by max(norm, eps), so an all-padding row (a zero vector) stays 0.
    return F.normalize(pooled, p=2, dim=-1)
