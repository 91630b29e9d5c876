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


def call(gelu, x, inputs: str):
    """gelu(x) on a copy of x; fails at once if x was changed in place (the reference and the
    known mistakes are computed from the original)."""
    mine = x.clone()  # same strides: a non-contiguous x stays non-contiguous
    got = gelu(mine)
    if not torch.equal(mine, x):
        fail(_("x was changed in place"), inputs=inputs)
    return got


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
        call(gelu, x, _("4001 points from -8 to 8, float64")),
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

    inputs = _("x of shape {shape}, scaled by {scale:g}, non-contiguous").format(
        shape=shape, scale=scale
    )
    expect_close(
        call(gelu, x, inputs),
        reference_gelu(x),
        name="gelu(x)",
        inputs=inputs,
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


def test_gradient_is_that_of_the_exact_form(gelu):
    """the gradient is the exact GELU's, Phi(x) + x * phi(x): Phi stays inside autograd"""
    x = torch.linspace(-4, 4, 81, dtype=torch.float64, requires_grad=True)
    inputs = _("81 points from -4 to 4, float64; gradient of sum(gelu(x))")
    out = expect_tensor(gelu(x), name="gelu(x)", shape=(81,), inputs=inputs)
    if not out.requires_grad:
        fail(_("the output is detached from x: keep the computation in torch"), inputs=inputs)
    (grad,) = torch.autograd.grad(out.sum(), x)
    with torch.no_grad():
        cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
        pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        want = cdf + x * pdf
    if not torch.allclose(grad, want, rtol=1e-7, atol=1e-9):
        fail(
            _("the gradient of your GELU is not Phi(x) + x * phi(x) (off by up to {diff:.3g}): "
              "compute Phi(x) with torch.erf on x itself, not on x.detach() or through numpy or "
              "scipy, so autograd sees it").format(diff=float((grad - want).abs().max())),
            inputs=inputs,
        )
