"""Checks for exercise attention (exercises/e04_attention.py)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given

from grader.checks.kit import expect_close, expect_context_and_probs, expect_tensor, fail
from grader.checks.strategies import AttentionCase, attention_cases, randn
from grader.i18n import _
from reference import additive_attention_mask
from reference import scaled_dot_product_attention as reference_attention

MODULE = "e04_attention"


@pytest.fixture(scope="module")
def attention(learner):
    return learner.scaled_dot_product_attention


def expected(case: AttentionCase):
    mask = None if case.mask is None else additive_attention_mask(case.mask, case.query.dtype)
    return reference_attention(case.query, case.key, case.value, mask)


def known_mistakes(case: AttentionCase) -> dict:
    """Each known mistake as a function giving its (context, probs) on this case."""
    q, k, v = case.query, case.key, case.value
    raw = q @ k.transpose(-2, -1)
    scaled = raw / math.sqrt(q.size(-1))
    add = 0.0 if case.mask is None else additive_attention_mask(case.mask, q.dtype)
    keep = None if case.mask is None else case.mask[:, None, None, :].to(q.dtype)

    def with_probs(probs):
        return lambda: (probs @ v, probs)

    mistakes = {
        "unscaled_scores": with_probs((raw + add).softmax(-1)),
        "scaled_by_d_head": with_probs((raw / q.size(-1) + add).softmax(-1)),
        "softmax_over_queries": with_probs((scaled + add).softmax(-2)),
    }
    if case.mask is not None:
        inverted = additive_attention_mask(1 - case.mask, q.dtype)
        mistakes |= {
            "mask_after_softmax": with_probs(scaled.softmax(-1) * keep),
            "mask_ignored": with_probs(scaled.softmax(-1)),
            "mask_inverted": with_probs((scaled + inverted).softmax(-1)),
        }
    return mistakes


def call(attention, case: AttentionCase) -> tuple:
    """The learner's (context, probs) for copies of the case's tensors; fails at once if one of
    them was changed in place (the reference and the known mistakes read the originals)."""
    names = ("query", "key", "value", "attention_mask")
    originals = (case.query, case.key, case.value, case.mask)
    copies = [None if t is None else t.clone() for t in originals]
    result = attention(*copies)
    for name, before, after in zip(names, originals, copies, strict=True):
        if before is not None and not torch.equal(before, after):
            fail(_("{name} was changed in place: compute into new tensors instead").format(
                name=name), inputs=case.describe())  # fmt: skip
    return expect_context_and_probs(result, query=case.query, seq_k=case.key.shape[2],
                                    inputs=case.describe())  # fmt: skip


def compare(attention, case: AttentionCase) -> None:
    context, probs = call(attention, case)
    want_context, want_probs = expected(case)
    mistakes = known_mistakes(case)
    # Rows with no real key have no right answer beyond "finite": leave them out here.
    rows = None if case.mask is None else case.mask.bool().any(-1)[:, None, None, None]
    expect_close(
        probs,
        want_probs,
        name="probs",
        inputs=case.describe(),
        atol=1e-5,
        rtol=1e-4,
        where=rows,
        mistakes={i: (lambda f=f: f()[1]) for i, f in mistakes.items()},
    )
    expect_close(
        context,
        want_context,
        name="context",
        inputs=case.describe(),
        atol=1e-5,
        rtol=1e-4,
        where=rows,
        mistakes={i: (lambda f=f: f()[0]) for i, f in mistakes.items()},
    )


def test_shapes_without_a_mask(attention):
    """returns (context, probs) with the right shapes, no mask"""
    q, k, v = randn((2, 3, 4, 8), 0), randn((2, 3, 5, 8), 1), randn((2, 3, 5, 8), 2)
    case = AttentionCase(q, k, v, None, 1.0, True)
    context, probs = call(attention, case)
    expect_tensor(
        probs,
        name="probs",
        shape=(2, 3, 4, 5),
        inputs=case.describe(),
        shape_names="(batch, heads, seq_q, seq_k)",
    )
    expect_tensor(
        context,
        name="context",
        shape=(2, 3, 4, 8),
        inputs=case.describe(),
        shape_names="(batch, heads, seq_q, d_head)",
    )


@given(case=attention_cases(masked=False))
def test_matches_the_reference_without_a_mask(attention, case):
    """output matches the reference, no mask"""
    compare(attention, case)


@given(case=attention_cases(masked=True, allow_fully_padded=False))
def test_matches_the_reference_with_padding(attention, case):
    """output matches the reference with padded keys"""
    compare(attention, case)


@given(case=attention_cases(masked=True))
def test_rows_sum_to_one_and_padding_gets_zero_weight(attention, case):
    """every row of probs sums to 1 and padded keys get zero weight (no reference needed)"""
    _unused, probs = call(attention, case)
    b, h, sq, _unused = case.query.shape
    probs = expect_tensor(
        probs, name="probs", shape=(b, h, sq, case.key.shape[2]), inputs=case.describe()
    )
    real_rows = case.mask.bool().any(-1)
    if not torch.isfinite(probs).all():
        fail(
            _("probs contain NaN or inf (a row with every key padded?): mask with a large "
              "finite negative number, not -inf"),
            inputs=case.describe(),
            diagnosis="mask_negative_infinity",
        )
    sums = probs.sum(-1)[real_rows]
    if sums.numel() and (sums - 1).abs().max() > 1e-4:
        off = float((sums - 1).abs().max())
        diagnosis = "mask_after_softmax" if bool((sums < 1).all()) else "softmax_over_queries"
        fail(
            _("rows of probs do not sum to 1 over the keys (off by up to {off:.3g})").format(
                off=off
            ),
            inputs=case.describe(),
            diagnosis=diagnosis,
        )
    padded = ~case.mask.bool()[:, None, None, :].expand_as(probs)
    padded &= real_rows[:, None, None, None].expand_as(probs)
    if padded.any() and probs[padded].max() > 1e-6:
        fail(
            _("padded keys get attention weight up to {weight:.3g}").format(
                weight=float(probs[padded].max())
            ),
            inputs=case.describe(),
            diagnosis="mask_ignored",
        )


def test_permuting_keys_and_values_together_changes_nothing(attention):
    """attention is a set operation over keys: permuting keys with their values keeps context"""
    q, k, v = randn((1, 2, 3, 4), 5), randn((1, 2, 6, 4), 6), randn((1, 2, 6, 4), 7)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    case = AttentionCase(q, k, v, mask, 1.0, True)
    context, _unused = call(attention, case)
    permuted = AttentionCase(q, k[:, :, perm], v[:, :, perm], mask[:, perm], 1.0, True)
    context_p, _unused = call(attention, permuted)
    expect_close(
        context_p,
        context,
        name="context",
        atol=1e-5,
        inputs=_("keys, values and mask permuted together"),
    )


def test_large_scores_stay_finite(attention):
    """stays finite when scores are large (subtracting the row max keeps softmax stable)"""
    q, k, v = randn((1, 1, 4, 8), 8, 100.0), randn((1, 1, 4, 8), 9, 100.0), randn((1, 1, 4, 8), 10)
    case = AttentionCase(q, k, v, None, 100.0, True)
    context, probs = call(attention, case)
    if not (torch.isfinite(context).all() and torch.isfinite(probs).all()):
        fail(
            _("large scores overflow to inf/NaN: use torch.softmax (it subtracts the row max) "
              "or subtract the max yourself"),
            inputs=case.describe(),
        )


def test_gradients_match_the_reference(attention):
    """gradients reach query, key and value and equal the reference's"""
    mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]])
    case = AttentionCase(randn((2, 2, 3, 4), 11), randn((2, 2, 5, 4), 12), randn((2, 2, 5, 4), 13),
                         mask, 1.0, True)  # fmt: skip
    inputs = case.describe() + _("; loss = sum(context * fixed random weights)")
    loss_weights = randn((2, 2, 3, 4), 14)
    grads = []
    for mine in (True, False):
        q, k, v = (t.clone().requires_grad_() for t in (case.query, case.key, case.value))
        if mine:
            context, _unused = expect_context_and_probs(attention(q, k, v, mask), query=q,
                                                         seq_k=5, inputs=inputs)  # fmt: skip
            if not context.requires_grad:
                fail(_("context is detached from query, key and value: no torch.no_grad(), "
                       ".detach(), .item() or numpy in the math, or attention cannot be "
                       "trained"), inputs=inputs)  # fmt: skip
        else:
            context, _unused = reference_attention(q, k, v, additive_attention_mask(mask, q.dtype))
        (context * loss_weights).sum().backward()
        grads.append({"query": q.grad, "key": k.grad, "value": v.grad})
    for name, want in grads[1].items():
        got = grads[0][name]
        if got is None:
            fail(_("no gradient reaches {name}").format(name=name), inputs=inputs)
        expect_close(got, want, name=f"{name}.grad", inputs=inputs, atol=1e-5, rtol=1e-4)
