"""Exercise sentence_embeddings: one vector per sentence, the all-MiniLM-L6-v2 way.

BERT gives one vector per *token*. Semantic search, clustering and deduplication need one
per *sentence*, compared by cosine similarity. Sentence-BERT (Reimers & Gurevych 2019, §3)
found that averaging the token vectors beats taking the [CLS] vector, whose pre-training
(NSP) never asked it to place similar sentences close together. The checkpoint bundled with
this project, sentence-transformers' all-MiniLM-L6-v2 (a 6-layer BERT), ships exactly this
recipe: Transformer -> Pooling(mean) -> Normalize. Interviewers ask how to turn BERT into a
sentence encoder and what goes wrong with padding.

The checks run your functions on random tensors, on small random BERTs, and on the real
MiniLM weights, where your vectors must equal sentence-transformers' ``encode``.
"""

from __future__ import annotations

from torch import Tensor, nn


def mean_pooling(last_hidden_state: Tensor, attention_mask: Tensor) -> Tensor:
    """Average each sequence's token vectors over its real tokens only.

    Args:
        last_hidden_state: (batch, seq, hidden) float, one vector per token; padding
            positions hold vectors too (not zeros).
        attention_mask: (batch, seq), 0/1 integers (int64, as tokenizers return it) or bool;
            1 = real token ([CLS] and [SEP] included: they count), 0 = padding.

    Returns:
        (batch, hidden), same dtype as last_hidden_state: for each row, the sum of its real
        tokens' vectors divided by the number of real tokens. A row with no real token at
        all must give finite numbers, not NaN (sentence-transformers clamps the count to at
        least 1e-9, which gives zeros there).
    """
    raise NotImplementedError(
        "mean_pooling is yours to write; stuck? run: bertprep hint sentence_embeddings"
    )


def sentence_embeddings(
    model: nn.Module,
    input_ids: Tensor,
    attention_mask: Tensor,
    token_type_ids: Tensor | None = None,
) -> Tensor:
    """Unit-length sentence vectors from a BERT encoder.

    Args:
        model: a BERT encoder (reference ``BertModel``, transformers' ``BertModel``, or any
            module alike). Call it as ``model(input_ids=input_ids,
            attention_mask=attention_mask, token_type_ids=token_type_ids)``. It returns
            either an object with a ``.last_hidden_state`` attribute (transformers' output,
            the reference's ``BaseModelOutput``) or a plain tuple whose first element is the
            last hidden state (batch, seq, hidden): accept both. The model is already in
            eval mode; running it under ``torch.no_grad()`` is up to you.
        input_ids: (batch, seq) int64 token ids, right-padded.
        attention_mask: (batch, seq) 0/1 int64, 1 = real token, 0 = padding.
        token_type_ids: (batch, seq) int64 or None (pass it on as it is).

    Returns:
        (batch, hidden) float: each row the mean pooling of that sentence's real tokens,
        scaled to unit L2 norm, so that the cosine similarity of two sentences is the dot
        product of their vectors. A row without any real token must stay finite.
    """
    raise NotImplementedError(
        "sentence_embeddings is yours to write; stuck? run: bertprep hint sentence_embeddings"
    )
