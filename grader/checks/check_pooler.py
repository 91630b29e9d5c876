"""Checks for exercise pooler (exercises/e09_pooler.py)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import describe, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import (
    final_example,
    non_contiguous,
    randn,
    randomize_parameters_,
    scales,
    seeds,
)
from grader.i18n import _
from reference import BertConfig
from reference import modeling as ref

MODULE = "e09_pooler"
ATOL, RTOL = 1e-5, 1e-4


@pytest.fixture(scope="module")
def pooler_cls(learner):
    return learner.BertPooler


def build(pooler_cls, hidden: int, seed: int):
    """(yours, the reference) with the same seeded weights."""
    config = BertConfig(vocab_size=10, hidden_size=hidden, num_hidden_layers=1,
                        num_attention_heads=1, intermediate_size=4,
                        max_position_embeddings=16)  # fmt: skip
    reference = randomize_parameters_(ref.BertPooler(config), seed).eval()
    mine = pooler_cls(config)
    load_weights(mine, reference.state_dict(), name="BertPooler")
    return mine.eval(), reference


def known_mistakes(reference, h) -> dict:
    dense = reference.dense
    return {
        "pooler_mean_pooling": lambda: torch.tanh(dense(h.mean(1))),
        "pooler_last_token": lambda: torch.tanh(dense(h[:, -1])),
        "pooler_missing_tanh": lambda: dense(h[:, 0]),
        "pooler_relu_not_tanh": lambda: torch.relu(dense(h[:, 0])),
    }


def pool(mine, h, inputs: str):
    with torch.no_grad():
        got = mine(h)
    batch, _, hidden = h.shape
    return expect_tensor(got, name="pooled", shape=(batch, hidden), inputs=inputs,
                         shape_names="(batch, hidden)")  # fmt: skip


def test_returns_batch_by_hidden(pooler_cls):
    """forward returns one vector per sequence: (batch, hidden)"""
    mine, _ = build(pooler_cls, 8, 0)
    got = pool(mine, randn((2, 5, 8), 1), describe(batch=2, seq=5, hidden=8))
    expect_tensor(got, name="pooled", shape=(2, 8), dtype=torch.float32)


def test_output_lies_in_minus_one_one(pooler_cls):
    """every pooled feature lies in (-1, 1), negative ones included: the activation is tanh"""
    mine, _unused = build(pooler_cls, 16, 5)
    inputs = describe(batch=4, seq=3, hidden=16) + "; " + _("hidden_states scaled by 30")
    got = pool(mine, randn((4, 3, 16), 6, 30.0), inputs)
    if not (got < 0).any():
        fail(
            _("no pooled feature is negative: tanh is odd, tanh(-x) = -tanh(x)"),
            inputs=inputs,
            diagnosis="pooler_relu_not_tanh",
        )
    if got.abs().max() > 1:
        fail(
            _("pooled features reach {largest:.3g}: tanh keeps them in (-1, 1)").format(
                largest=float(got.abs().max())
            ),
            inputs=inputs,
            diagnosis="pooler_missing_tanh",
        )


@given(
    batch=st.integers(1, 3),
    seq=st.integers(1, 9),
    hidden=st.integers(1, 32),
    seed=seeds,
    scale=scales,
    contiguous=st.booleans(),
)
def test_matches_the_reference(pooler_cls, batch, seq, hidden, seed, scale, contiguous):
    """output matches the reference BertPooler (same weights)"""
    mine, reference = build(pooler_cls, hidden, seed)
    h = randn((batch, seq, hidden), seed + 1, scale)
    if not contiguous:
        h = non_contiguous(h)
    parts = [describe(batch=batch, seq=seq, hidden=hidden)]
    if scale != 1:
        parts.append(_("hidden_states scaled by {scale:g}").format(scale=scale))
    if not contiguous:
        parts.append(_("non-contiguous hidden_states"))
    inputs = "; ".join(parts)
    got = pool(mine, h, inputs)
    with torch.no_grad():
        want = reference(h)
    mistakes = known_mistakes(reference, h) if final_example() else None
    expect_close(got, want, name="pooled", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip


def test_reads_only_the_cls_token(pooler_cls):
    """only position 0 ([CLS]) matters: changing every other position changes nothing"""
    mine, _unused = build(pooler_cls, 8, 2)
    h = randn((2, 6, 8), 3)
    changed = h.clone()
    changed[:, 1:] = randn((2, 5, 8), 4, 5.0)
    inputs = describe(batch=2, seq=6, hidden=8) + "; positions 1..5 changed"
    difference = float((pool(mine, changed, inputs) - pool(mine, h, inputs)).abs().max())
    if difference > 1e-6:
        fail(
            _("changing positions 1.. changed the pooled output (by up to {difference:.3g}): "
              "the pooler reads the [CLS] token only, hidden_states[:, 0]").format(
                difference=difference
            ),
            inputs=inputs,
        )


def test_train_mode_and_gradients(pooler_cls):
    """in train mode too the output equals the reference (no dropout), and gradients flow back"""
    mine, reference = build(pooler_cls, 8, 7)
    mine.train()
    h = randn((3, 4, 8), 8).requires_grad_()
    inputs = describe(batch=3, seq=4, hidden=8) + "; " + _("train mode")
    got = mine(h)
    got = expect_tensor(got, name="pooled", shape=(3, 8), inputs=inputs,
                        shape_names="(batch, hidden)")  # fmt: skip
    with torch.no_grad():
        want = reference.train()(h)
    expect_close(got.detach(), want, name="pooled (train mode)", inputs=inputs, atol=ATOL,
                 rtol=RTOL)  # fmt: skip
    if not got.requires_grad:
        fail(
            _("the pooled output is detached from hidden_states and the dense layer: avoid "
              ".detach() and torch.no_grad() in forward (NSP and classification train through "
              "the pooler)"),
            inputs=inputs,
        )
    got.sum().backward()
    if h.grad is None or mine.dense.weight.grad is None:
        fail(_("no gradient reaches hidden_states or dense.weight"), inputs=inputs)
    if bool((h.grad[:, 1:] != 0).any()) or not bool((h.grad[:, 0] != 0).any()):
        fail(
            _("the gradient of the pooled output should reach position 0 of hidden_states "
              "and no other position"),
            inputs=inputs,
        )
