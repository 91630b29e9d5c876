"""Checks for exercise sentence_embeddings (exercises/e20_sentence_embeddings.py).

Values are compared with ``reference.sentence`` (which equals sentence-transformers'
all-MiniLM-L6-v2 to 1e-5, see tests/test_sentence_embeddings.py): on random tensors, on small
random BERTs, and on the real MiniLM weights (loaded once for this module).
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from grader.checks.kit import describe_mask, expect_close, expect_tensor, fail, skip_init
from grader.checks.strategies import (
    bert_configs,
    describe_config,
    non_contiguous,
    padding_masks,
    randn,
    randomize_parameters_,
    seeds,
    token_batches,
)
from grader.i18n import _
from reference import BertConfig, BertModel
from reference.sentence import mean_pooling as reference_mean_pooling
from reference.sentence import sentence_embeddings as reference_embeddings

MODULE = "e20_sentence_embeddings"
ATOL, RTOL = 1e-5, 1e-4
# The real checkpoint takes a few seconds to load on a slow machine.
pytestmark = pytest.mark.timeout(60)

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome!",
    "short",
    "Padding must not leak into the mean of a sentence, whatever its batch-mates look like.",
]


@pytest.fixture(scope="module")
def mine(learner):
    return learner


@pytest.fixture(scope="module")
def minilm():
    """The bundled all-MiniLM-L6-v2 (reference BertModel + tokenizer), loaded once."""
    from reference.sentence import SentenceEncoder

    with skip_init():  # every weight comes from the checkpoint
        return SentenceEncoder()


# ---------------------------------------------------------------------------------------------
# mean_pooling
# ---------------------------------------------------------------------------------------------


def pooling_mistakes(hidden: Tensor, mask: Tensor) -> dict:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return {
        "sent_padding_in_mean": lambda: hidden.mean(dim=1),
        "sent_divided_by_seq_len": lambda: (hidden * weights).sum(dim=1) / hidden.size(1),
    }


def describe_pooling(hidden: Tensor, mask: Tensor, scale: float = 1.0) -> str:
    batch, seq, size = hidden.shape
    kind = str(mask.dtype).removeprefix("torch.")
    text = f"last_hidden_state ({batch}, {seq}, {size}); attention_mask {kind}: "
    text += describe_mask(mask.long())
    if scale != 1.0:
        text += "; " + _("values scaled by {scale:g}").format(scale=scale)
    if not hidden.is_contiguous():
        text += "; " + _("non-contiguous last_hidden_state")
    return text


def test_mean_pooling_returns_one_vector_per_row(mine):
    """mean_pooling returns (batch, hidden)"""
    hidden = randn((2, 4, 3), 0)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    expect_tensor(
        mine.mean_pooling(hidden, mask),
        name="pooled",
        shape=(2, 3),
        dtype=torch.float32,
        inputs=describe_pooling(hidden, mask),
        shape_names="(batch, hidden)",
    )


@st.composite
def pooling_cases(draw):
    batch, seq, size = draw(st.integers(1, 4)), draw(st.integers(1, 9)), draw(st.integers(1, 16))
    mask = draw(padding_masks(batch, seq, allow_fully_padded=True))
    mask = mask.bool() if draw(st.booleans()) else mask
    scale = draw(st.sampled_from([1.0, 0.01, 30.0]))
    # Padding positions hold vectors of their own, shifted so that counting them shows.
    hidden = randn((batch, seq, size), draw(seeds), scale) + 3.0 * scale * (~mask.bool())[..., None]
    if not draw(st.booleans()):
        hidden = non_contiguous(hidden)
    return hidden, mask, scale


@given(case=pooling_cases())
def test_mean_pooling_matches_the_reference(mine, case):
    """mean_pooling averages the real tokens only, dividing by their number"""
    hidden, mask, scale = case
    given_hidden, given_mask = hidden.clone(), mask.clone()
    got = mine.mean_pooling(hidden, mask)
    for name, tensor, kept in (
        ("last_hidden_state", hidden, given_hidden),
        ("attention_mask", mask, given_mask),
    ):
        if not torch.equal(tensor, kept):
            fail(
                _("mean_pooling changed its {name} argument in place (e.g. with mul_ or "
                  "masked_fill_): the caller's tensors must come back as they were").format(
                    name=name
                ),
                inputs=describe_pooling(kept, given_mask, scale),
            )
    has_tokens = mask.bool().any(dim=-1)  # fully padded rows: only "finite" is required
    expect_close(
        got,
        reference_mean_pooling(hidden, mask),
        name="pooled",
        inputs=describe_pooling(hidden, mask, scale),
        atol=ATOL,
        rtol=RTOL,
        where=has_tokens,
        mistakes=pooling_mistakes(hidden, mask),
    )


def test_mean_pooling_keeps_the_dtype(mine):
    """mean_pooling returns the dtype of last_hidden_state (float64 here), at that precision"""
    hidden = randn((2, 4, 3), 2).double() / 3  # not representable in float32
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])
    inputs = describe_pooling(hidden, mask) + "; float64"
    got = expect_tensor(mine.mean_pooling(hidden, mask), name="pooled", shape=(2, 3),
                        dtype=torch.float64, inputs=inputs)  # fmt: skip
    expect_close(got, reference_mean_pooling(hidden, mask), name="pooled", inputs=inputs,
                 atol=1e-12, rtol=1e-12)  # fmt: skip


def test_mean_pooling_of_a_fully_padded_row_is_finite(mine):
    """a row with no real token gives finite numbers (clamp the count), not NaN"""
    hidden = randn((2, 3, 4), 1)
    mask = torch.tensor([[1, 1, 0], [0, 0, 0]])
    got = expect_tensor(
        mine.mean_pooling(hidden, mask),
        name="pooled",
        shape=(2, 4),
        inputs=describe_pooling(hidden, mask),
    )
    if not bool(torch.isfinite(got).all()):
        fail(
            _("the fully padded row gives NaN or inf: its count of real tokens is 0, so clamp it "
              "(counts.clamp(min=1e-9)) before dividing"),
            inputs=describe_pooling(hidden, mask),
        )


# ---------------------------------------------------------------------------------------------
# sentence_embeddings
# ---------------------------------------------------------------------------------------------


def embedding_mistakes(model: nn.Module, input_ids, mask, token_type_ids) -> dict:
    """What each known mistake gives; the model runs again only if a diagnosis is needed."""

    @functools.cache
    def hidden() -> Tensor:
        with torch.no_grad():
            return model(input_ids, mask, token_type_ids).last_hidden_state

    def mean() -> Tensor:
        return reference_mean_pooling(hidden(), mask)

    return {
        "sent_cls_vector": lambda: F.normalize(hidden()[:, 0], p=2, dim=-1),
        "sent_padding_in_mean": lambda: F.normalize(hidden().mean(dim=1), p=2, dim=-1),
        "sent_not_normalised": mean,
        "sent_normalised_over_batch": lambda: F.normalize(mean(), p=2, dim=0),
    }


def compare_embeddings(
    mine,
    model: nn.Module,
    input_ids,
    attention_mask,
    token_type_ids,
    inputs: str,
    caller: nn.Module | None = None,
) -> None:
    """Your sentence_embeddings(caller or model, ...) against the reference's on ``model``."""
    with torch.no_grad():
        want = reference_embeddings(model, input_ids, attention_mask, token_type_ids)
    got = mine.sentence_embeddings(caller or model, input_ids, attention_mask, token_type_ids)
    mistakes = embedding_mistakes(model, input_ids, attention_mask, token_type_ids)
    expect_close(
        got, want, name="embeddings", inputs=inputs, atol=ATOL, rtol=RTOL, mistakes=mistakes
    )


def random_model(config, seed: int) -> BertModel:
    return randomize_parameters_(BertModel(config), seed).eval()


@settings(max_examples=10)  # each example builds and runs a BERT
@given(config=bert_configs(), batch=st.data(), seed=seeds)
def test_embeddings_match_the_reference_on_small_berts(mine, config, batch, seed):
    """sentence_embeddings = L2-normalised mean pooling of the model's last hidden state"""
    tokens = batch.draw(token_batches(config, masked=True, token_types=None))
    model = random_model(config, seed)
    inputs = _("a random BertModel ({config}); {tokens}").format(
        config=describe_config(config), tokens=tokens.describe()
    )
    compare_embeddings(
        mine, model, tokens.input_ids, tokens.attention_mask, tokens.token_type_ids, inputs
    )


class TupleOutput(nn.Module):
    """A model whose forward returns a plain tuple (last_hidden_state, pooler_output)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        return tuple(self.model(input_ids, attention_mask, token_type_ids))


class AttributeOutput(TupleOutput):
    """A model whose output has a .last_hidden_state attribute and cannot be indexed."""

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        output = self.model(input_ids, attention_mask, token_type_ids)
        return SimpleNamespace(last_hidden_state=output.last_hidden_state)


def test_accepts_tuple_and_attribute_outputs(mine):
    """works with a model returning a plain tuple and with one returning .last_hidden_state"""
    config = BertConfig(
        vocab_size=20,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
    )
    model = random_model(config, 2)
    input_ids = torch.tensor([[2, 5, 6, 7, 3], [2, 8, 3, 0, 0]])
    mask = (input_ids != 0).long()
    for wrapper, what, advice in (
        (TupleOutput, _("a plain tuple (last_hidden_state, pooler_output)"), "output[0]"),
        (
            AttributeOutput,
            _("an object with only a .last_hidden_state attribute"),
            "output.last_hidden_state",
        ),
    ):
        inputs = _("a model whose forward returns {what}; batch=2, seq=5, 2 padded in "
                   "row 1").format(what=what)  # fmt: skip
        try:
            compare_embeddings(mine, model, input_ids, mask, None, inputs, caller=wrapper(model))
        except (AttributeError, TypeError, IndexError, KeyError) as error:
            fail(
                _("sentence_embeddings raised {kind} ({error}) on a model that "
                  "returns {what}: read the hidden states with {advice} in that case").format(
                    kind=type(error).__name__, error=error, what=what, advice=advice
                ),
                inputs=inputs,
            )


# ---------------------------------------------------------------------------------------------
# The real all-MiniLM-L6-v2
# ---------------------------------------------------------------------------------------------


def encode_batch(minilm, texts: list[str]) -> tuple[Tensor, Tensor, Tensor]:
    batch = minilm.tokenizer(texts, max_length=minilm.max_seq_length, truncation=True, padding=True)
    return (
        torch.tensor(batch["input_ids"]),
        torch.tensor(batch["attention_mask"]),
        torch.tensor(batch["token_type_ids"]),
    )


def test_minilm_matches_sentence_transformers(mine, minilm):
    """on the real all-MiniLM-L6-v2 weights, equals sentence-transformers' encode"""
    input_ids, mask, types = encode_batch(minilm, TEXTS)
    inputs = (
        _("all-MiniLM-L6-v2 on {n} sentences padded to {length} tokens ({first}, ...)").format(
            n=len(TEXTS), length=input_ids.shape[1], first=", ".join(repr(t) for t in TEXTS[:3])
        )
    )
    want = minilm.encode(TEXTS)
    got = mine.sentence_embeddings(minilm.model, input_ids, mask, types)
    expect_close(
        got,
        want,
        name="embeddings",
        inputs=inputs,
        atol=ATOL,
        rtol=RTOL,
        mistakes=embedding_mistakes(minilm.model, input_ids, mask, types),
    )


def test_batch_mates_do_not_change_a_sentence_vector(mine, minilm):
    """a sentence gets the same vector alone and next to a much longer one (no reference)"""
    alone = mine.sentence_embeddings(minilm.model, *encode_batch(minilm, ["short"]))
    batched = mine.sentence_embeddings(minilm.model, *encode_batch(minilm, ["short", TEXTS[-1]]))
    inputs = _("all-MiniLM-L6-v2: 'short' alone, then 'short' in a batch with a 19-token sentence")
    alone = expect_tensor(alone, name="embeddings", shape=(1, 384), inputs=inputs)
    batched = expect_tensor(batched, name="embeddings", shape=(2, 384), inputs=inputs)
    gap = float((alone[0] - batched[0]).abs().max())
    if gap > 1e-5:
        fail(
            _("the vector of 'short' changes by up to {gap:.3g} when a longer sentence shares its "
              "batch: its padding is counted (mean over real tokens only) or the batch enters "
              "the normalisation").format(gap=gap),
            inputs=inputs,
            diagnosis="sent_padding_in_mean",
        )
    norms = batched.norm(dim=-1)
    if float((norms - 1).abs().max()) > 1e-5:
        fail(
            _("the vectors should have unit L2 norm, got norms {norms}").format(
                norms=norms.tolist()
            ),
            inputs=inputs,
            diagnosis="sent_not_normalised",
        )


def test_a_fully_padded_row_stays_finite(mine):
    """a row with no real token gives finite numbers; the others keep unit norm"""
    config = BertConfig(
        vocab_size=20,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
    )
    model = random_model(config, 3)
    input_ids = torch.tensor([[2, 5, 6, 3], [0, 0, 0, 0]])
    mask = (input_ids != 0).long()
    inputs = _("a random BertModel (hidden=8); batch=2, seq=4, row 1 fully padded")
    got = expect_tensor(
        mine.sentence_embeddings(model, input_ids, mask),
        name="embeddings",
        shape=(2, 8),
        inputs=inputs,
    )
    if not bool(torch.isfinite(got).all()):
        fail(
            _("the fully padded row gives NaN or inf: its token count and its pooled vector are "
              "0, so clamp the count in mean_pooling and guard the norm (F.normalize divides by "
              "max(norm, eps))"),
            inputs=inputs,
        )
    if abs(float(got[0].norm()) - 1) > 1e-5:
        fail(_("row 0 should have unit L2 norm, got {norm:.6g}").format(
            norm=float(got[0].norm())), inputs=inputs)  # fmt: skip
