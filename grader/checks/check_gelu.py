"""Checks for exercise gelu (exercises/e02_gelu.py)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from grader.checks.kit import expect_close, expect_tensor, fail
from grader.checks.strategies import hidden_shapes, non_contiguous, randn, scales, seeds
from grader.i18n import _

MODULE = "e02_gelu"


@pytest.fixture(scope="module")
def gelu(learner):
    return learner.gelu


def known_mistakes(x):
    return {
        "gelu_tanh_approximation": lambda: F.gelu(x, approximate="tanh"),
        "gelu_sigmoid_approximation": lambda: x * torch.sigmoid(1.702 * x),
        "gelu_is_relu": lambda: torch.relu(x),
    }


def test_returns_a_tensor_of_the_input_shape(gelu):
    """returns a tensor with the shape and dtype of x"""
    got = gelu(torch.linspace(-3, 3, 7))
    expect_tensor(got, name="gelu(x)", shape=(7,), dtype=torch.float32,
                  inputs=_("x of shape (7,)"))  # fmt: skip


def test_matches_the_exact_form_on_a_grid(gelu):
    """matches x * Phi(x) on a fine grid from -8 to 8 (float64)"""
    x = torch.linspace(-8, 8, 4001, dtype=torch.float64)
    want = 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    expect_close(
        gelu(x),
        want,
        name="gelu(x)",
        inputs=_("4001 points from -8 to 8, float64"),
        atol=1e-9,
        rtol=1e-9,
        mistakes=known_mistakes(x),
    )


@given(shape=hidden_shapes(), seed=seeds, scale=scales)
def test_matches_the_reference(gelu, shape, seed, scale):
    """matches the reference GELU on drawn tensors"""
    x = non_contiguous(randn(shape, seed, scale))
    from reference import gelu as reference_gelu

    expect_close(
        gelu(x),
        reference_gelu(x),
        name="gelu(x)",
        inputs=_("x of shape {shape}, scaled by {scale:g}, non-contiguous").format(
            shape=shape, scale=scale
        ),
        atol=1e-6,
        rtol=1e-5,
        mistakes=known_mistakes(x),
    )


def test_known_values(gelu):
    """GELU(0) = 0, GELU(x) -> x for large x, -> 0 for very negative x, minimum near -0.17"""
    x = torch.tensor([0.0, 10.0, -10.0, -0.7518], dtype=torch.float64)
    got = expect_tensor(gelu(x), name="gelu(x)", shape=(4,))
    if abs(got[0]) > 1e-12 or abs(got[1] - 10) > 1e-9 or abs(got[2]) > 1e-9:
        fail(_("gelu([0, 10, -10]) should be about [0, 10, 0], got {got}").format(
            got=got[:3].tolist()
        ))
    if abs(got[3] + 0.16997) > 1e-4:
        fail(
            _("the minimum of GELU is about -0.16997 at x = -0.7518, got {minimum:.5f}").format(
                minimum=float(got[3])
            ),
            diagnosis="gelu_is_relu" if got[3] == 0 else None,
        )


def test_does_not_modify_its_input(gelu):
    """leaves x unchanged and keeps gradients flowing"""
    x = torch.linspace(-2, 2, 9, requires_grad=True)
    before = x.detach().clone()
    out = expect_tensor(gelu(x), name="gelu(x)", shape=(9,))
    if not torch.equal(x.detach(), before):
        fail(_("x was changed in place"))
    if not out.requires_grad:
        fail(_("the output is detached from x: keep the computation in torch"))
