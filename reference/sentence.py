"""Sentence embeddings the all-MiniLM-L6-v2 way: masked mean pooling, then L2 normalisation.

BERT's [CLS] vector is trained for NSP, not for similarity; Sentence-BERT (Reimers & Gurevych
2019, §3) found that averaging the token vectors works better for semantic search. The recipe
here is the one this checkpoint ships with (``modules.json``: Transformer -> Pooling(mean) ->
Normalize; sentence-transformers ``models/Pooling.py`` and ``models/Normalize.py``), so the
vectors equal ``SentenceTransformer("all-MiniLM-L6-v2").encode(...)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from reference.modeling import BertModel
from reference.tokenizer import BertTokenizer
from reference.weights import load_pretrained, minilm_dir

MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of all-MiniLM-L6-v2


def mean_pooling(last_hidden_state: Tensor, attention_mask: Tensor) -> Tensor:
    """Average the token vectors of real tokens only: (batch, seq, hidden) -> (batch, hidden).

    Padding must not count, or a sentence's vector would depend on how long its batch-mates
    are. [CLS] and [SEP] do count (sentence-transformers includes them).
    """
    weights = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)  # (batch, seq, 1)
    summed = (last_hidden_state * weights).sum(dim=1)
    counts = weights.sum(dim=1).clamp(min=1e-9)  # a fully padded row gives 0, not NaN
    return summed / counts


def sentence_embeddings(
    model: BertModel,
    input_ids: Tensor,
    attention_mask: Tensor,
    token_type_ids: Tensor | None = None,
) -> Tensor:
    """Unit-length sentence vectors (batch, hidden); cosine similarity is then a dot product."""
    hidden = model(input_ids, attention_mask, token_type_ids).last_hidden_state
    return F.normalize(mean_pooling(hidden, attention_mask), p=2, dim=1)


class SentenceEncoder:
    """Text in, unit vectors out, on the bundled all-MiniLM-L6-v2 (or any BERT checkpoint)."""

    def __init__(self, model_dir=None, max_seq_length: int = MAX_SEQ_LENGTH):
        model_dir = model_dir if model_dir is not None else minilm_dir()
        self.model = load_pretrained(BertModel, model_dir)
        self.tokenizer = BertTokenizer.from_vocab_file(f"{model_dir}/vocab.txt")
        self.max_seq_length = max_seq_length

    @torch.inference_mode()
    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Tensor:
        if isinstance(texts, str):
            raise TypeError("encode takes a list of texts; wrap a single text as [text]")
        chunks = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(
                list(texts[start : start + batch_size]),
                max_length=self.max_seq_length,
                truncation=True,
                padding=True,
            )
            chunks.append(
                sentence_embeddings(
                    self.model,
                    torch.tensor(batch["input_ids"]),
                    torch.tensor(batch["attention_mask"]),
                    torch.tensor(batch["token_type_ids"]),
                )
            )
        if not chunks:
            return torch.empty(0, self.model.config.hidden_size)
        return torch.cat(chunks)
