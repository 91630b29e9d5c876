"""Checks for exercise padding_mask (exercises/e03_padding_mask.py)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import CheckFailure, describe, describe_mask, expect_tensor, fail
from grader.checks.strategies import non_contiguous, padding_masks
from grader.i18n import _

MODULE = "e03_padding_mask"


@pytest.fixture(scope="module")
def additive_attention_mask(learner):
    return learner.additive_attention_mask


@st.composite
def masks(draw):
    batch, seq = draw(st.integers(1, 4)), draw(st.integers(1, 10))
    return draw(padding_masks(batch, seq))


def check_mask(got, mask, dtype):
    batch, seq = mask.shape
    inputs = describe(batch=batch, seq=seq, dtype=str(dtype).removeprefix("torch.")) + (
        f"; {describe_mask(mask)}"
    )
    if isinstance(got, torch.Tensor) and got.shape == (batch, 1, seq, 1) and seq > 1:
        raise CheckFailure(
            _("the mask varies along the query axis instead of the key axis"),
            inputs=inputs,
            expected=f"shape {(batch, 1, 1, seq)}",
            got=f"shape {tuple(got.shape)}",
            diagnosis="mask_wrong_axis",
        )
    got = expect_tensor(
        got,
        name="mask",
        shape=(batch, 1, 1, seq),
        dtype=dtype,
        inputs=inputs,
        shape_names="(batch, 1, 1, seq): broadcast over heads and queries",
    )
    keep = mask.bool()[:, None, None, :]
    if torch.isinf(got).any() or torch.isnan(got).any():
        diagnosis = "mask_overflows_fp16" if dtype == torch.float16 else "mask_negative_infinity"
        fail(
            _("the mask holds -inf or NaN: a fully padded row would give softmax(-inf...) = NaN; "
              "use a large *finite* negative number"),
            inputs=inputs,
            diagnosis=diagnosis,
        )
    if keep.any() and (got[keep] != 0).any():
        if bool((got[keep] == 1).all()):
            diagnosis = "mask_not_additive"
        elif bool((got[keep] < -1e4).all()):
            diagnosis = "mask_inverted"
        else:
            diagnosis = None
        fail(
            _("real tokens (mask 1) must get exactly 0 added to their scores"),
            inputs=inputs,
            diagnosis=diagnosis,
        )
    if (~keep).any():
        worst = float(got[~keep].max())
        if worst > -1e4:
            as_is = mask[:, None, None, :].to(dtype)  # the 0/1 mask returned as the bias
            diagnosis = "mask_not_additive" if torch.equal(got, as_is) else None
            fail(
                _("padding (mask 0) must get a large negative number (<= -1e4), got "
                  "{worst:g}").format(worst=worst),
                inputs=inputs,
                diagnosis=diagnosis,
            )


def call(additive_attention_mask, mask, dtype):
    """The learner's mask for a copy of ``mask``; fails at once if that copy was changed in
    place (the checks below read the original)."""
    theirs = mask.clone()  # same strides: a non-contiguous mask stays non-contiguous
    got = additive_attention_mask(theirs, dtype)
    if not torch.equal(theirs, mask):
        batch, seq = mask.shape
        fail(
            _("attention_mask was changed in place: the caller's mask is no longer what it "
              "passed; compute into a new tensor"),
            inputs=describe(batch=batch, seq=seq) + f"; {describe_mask(mask)}",
        )
    return got


def test_shape_and_values_on_a_small_batch(additive_attention_mask):
    """(batch, 1, 1, seq): 0 for real tokens, large negative for padding"""
    mask = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0]])
    check_mask(call(additive_attention_mask, mask, torch.float32), mask, torch.float32)


@given(mask=masks(), dtype=st.sampled_from([torch.float32, torch.float64]),
       contiguous=st.booleans())  # fmt: skip
def test_drawn_masks(additive_attention_mask, mask, dtype, contiguous):
    """correct for drawn masks (right-padded, scattered, fully padded rows, any memory layout)"""
    if not contiguous:
        mask = non_contiguous(mask)
    check_mask(call(additive_attention_mask, mask, dtype), mask, dtype)


def test_bool_masks_are_accepted(additive_attention_mask):
    """accepts a bool mask as well as 0/1 integers"""
    mask = torch.tensor([[True, False, True]])
    check_mask(call(additive_attention_mask, mask, torch.float32), mask.long(), torch.float32)


def test_stays_finite_in_float16(additive_attention_mask):
    """stays finite in float16 (a hard-coded -1e9 overflows to -inf there)"""
    mask = torch.tensor([[1, 1, 0], [0, 0, 0]])
    check_mask(call(additive_attention_mask, mask, torch.float16), mask, torch.float16)


def test_softmax_gives_padding_zero_weight(additive_attention_mask):
    """after softmax(scores + mask), padded keys get zero weight; fully padded rows stay finite"""
    mask = torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0]])
    scores = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(0)) * 20
    got = call(additive_attention_mask, mask, torch.float32)
    check_mask(got, mask, torch.float32)
    probs = (scores + got).softmax(-1)
    if not torch.isfinite(probs).all():
        fail(_("softmax of masked scores has NaN"), diagnosis="mask_negative_infinity")
    if probs[0, :, :, 2:].max() > 1e-6:
        fail(_("padded keys still get attention weight after the softmax"))
