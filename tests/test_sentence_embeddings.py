"""Sentence embeddings (mean pooling + L2) equal sentence-transformers' all-MiniLM-L6-v2."""

from __future__ import annotations

import pytest
import torch
from conftest import record_max_diff

from reference.sentence import SentenceEncoder, mean_pooling

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome!",
    "北京是中国的首都。",
    "Ünïcödé àccents and emoji 🤖 in one sentence.",
    "short",
    # Longer than the model's 256-token window: both sides must truncate the same way.
    " ".join(["tokenization"] * 200),
    "",
]


@pytest.fixture(scope="module")
def encoders(minilm_dir):
    from sentence_transformers import SentenceTransformer

    theirs = SentenceTransformer(str(minilm_dir), device="cpu")
    return SentenceEncoder(minilm_dir), theirs


def test_embeddings_match_sentence_transformers(encoders):
    ours, theirs = encoders
    got = ours.encode(TEXTS, batch_size=3)
    want = theirs.encode(TEXTS, convert_to_tensor=True, batch_size=3)
    diff = (got - want).abs().max().item()
    record_max_diff("sentence embeddings vs sentence-transformers", diff)
    assert got.shape == (len(TEXTS), 384)
    assert diff < 1e-5, f"embeddings differ by {diff:.2e}"
    assert torch.allclose(got.norm(dim=1), torch.ones(len(TEXTS)), atol=1e-5)


def test_similarity_ranks_paraphrases_first(encoders):
    ours, _ = encoders
    vectors = ours.encode(TEXTS[:3])
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.3  # eating food ~ eating bread, not the movie


def test_embedding_does_not_depend_on_batch_mates(encoders):
    """Padding must not leak into the mean: alone or next to a long text, same vector."""
    ours, _ = encoders
    alone = ours.encode(["short"])
    batched = ours.encode(["short", TEXTS[6]])[:1]
    assert (alone - batched).abs().max() < 1e-5


def test_mean_pooling_ignores_padding_and_survives_empty_rows():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 5.0]] * 3])
    mask = torch.tensor([[1, 1, 0], [0, 0, 0]])
    pooled = mean_pooling(hidden, mask)
    assert torch.equal(pooled[0], torch.tensor([2.0, 3.0]))
    assert torch.equal(pooled[1], torch.zeros(2))


def test_encode_rejects_a_bare_string(encoders):
    with pytest.raises(TypeError, match="list of texts"):
        encoders[0].encode("one text")
