"""Checks for exercise layer_norm (exercises/e01_layer_norm.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import describe, expect_close, expect_tensor, fail
from grader.checks.strategies import hidden_shapes, non_contiguous, randn, scales, seeds
from grader.i18n import _

MODULE = "e01_layer_norm"
EPSILONS = (1e-12, 1e-5, 1e-3)


@pytest.fixture(scope="module")
def layer_norm(learner):
    return learner.layer_norm


def expected(x, weight, bias, eps):
    # reference/ uses torch.nn.LayerNorm, i.e. exactly this.
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)


def known_mistakes(x, weight, bias, eps):
    mean = x.mean(-1, keepdim=True)
    centred = x - mean
    biased_var = centred.pow(2).mean(-1, keepdim=True)
    mistakes = {}
    if x.shape[-1] > 1:  # over one feature N - 1 = 0 gives NaN, which tells nothing
        mistakes["layernorm_bessel_variance"] = lambda: (
            centred / torch.sqrt(x.var(-1, keepdim=True) + eps) * weight + bias
        )
    return mistakes | {
        "layernorm_eps_outside_sqrt": lambda: centred / (biased_var.sqrt() + eps) * weight + bias,
        "layernorm_missing_affine": lambda: centred / torch.sqrt(biased_var + eps),
        "layernorm_wrong_axis": lambda: (
            (x - x.mean(0, keepdim=True))
            / torch.sqrt(x.var(0, keepdim=True, unbiased=False) + eps)
            * weight
            + bias
        ),
        "layernorm_one_pass_variance": lambda: (
            centred / torch.sqrt(x.pow(2).mean(-1, keepdim=True) - mean.pow(2) + eps) * weight
            + bias
        ),
    }


def test_returns_a_tensor_of_the_input_shape(layer_norm):
    """returns a tensor with the shape and dtype of x"""
    x = randn((2, 3, 8), seed=0)
    got = layer_norm(x, torch.ones(8), torch.zeros(8), 1e-12)
    expect_tensor(
        got,
        name="output",
        shape=(2, 3, 8),
        dtype=torch.float32,
        inputs=_("x of shape (2, 3, 8)"),
        shape_names="(batch, seq, hidden)",
    )


@given(
    shape=hidden_shapes(),
    seed=seeds,
    scale=scales,
    eps=st.sampled_from(EPSILONS),
    offset=st.sampled_from([0.0, 5.0]),
    contiguous=st.booleans(),
)
# first an ordinary batch: over a single feature (drawn early) the variance is 0, and a NaN
# there tells apart none of the mistakes that divide by it
@example(shape=(2, 3, 8), seed=0, scale=1.0, eps=1e-12, offset=0.0, contiguous=True)
def test_matches_the_reference(layer_norm, shape, seed, scale, eps, offset, contiguous):
    """output matches the reference LayerNorm"""
    hidden = shape[-1]
    if scale < 1:
        offset = 0.0  # a tiny spread on a large offset is ill-conditioned in float32 for anyone
    x = randn(shape, seed, scale, offset)
    weight, bias = randn((hidden,), seed + 1, 0.5, 1.0), randn((hidden,), seed + 2, 0.1)
    if not contiguous:
        x = non_contiguous(x)
    parts = [describe(batch=shape[0], seq=shape[1], hidden=hidden, eps=eps),
             _("x scaled by {scale:g}").format(scale=scale)]  # fmt: skip
    if offset:
        parts.append(_("shifted by {offset:g}").format(offset=offset))
    if not contiguous:
        parts.append(_("non-contiguous x"))
    inputs = "; ".join(parts)
    want = expected(x, weight, bias, eps)
    got = layer_norm(x, weight, bias, eps)
    expect_close(
        got,
        want,
        name="output",
        inputs=inputs,
        atol=1e-5,
        rtol=1e-4,
        mistakes=known_mistakes(x, weight, bias, eps),
    )


@given(shape=hidden_shapes(), seed=seeds)
def test_each_vector_gets_zero_mean_and_unit_variance(layer_norm, shape, seed):
    """with weight 1 and bias 0, every (batch, seq) vector has mean 0 and variance 1"""
    if shape[-1] < 2:
        shape = (*shape[:-1], 2)
    x = randn(shape, seed, 3.0, 2.0)
    got = expect_tensor(
        layer_norm(x, torch.ones(shape[-1]), torch.zeros(shape[-1]), 1e-12),
        name="output",
        shape=shape,
    )
    inputs = describe(batch=shape[0], seq=shape[1], hidden=shape[-1])
    mean = got.mean(-1)
    var = got.var(-1, unbiased=False)
    if mean.abs().max() > 1e-4:
        fail(
            _("vectors do not have mean 0 over hidden (largest |mean| {mean:.3g})").format(
                mean=float(mean.abs().max())
            ),
            inputs=inputs,
            diagnosis="layernorm_wrong_axis",
        )
    if (var - 1).abs().max() > 1e-3:
        off = float((var - 1).abs().max())
        diagnosis = "layernorm_bessel_variance" if var.max() < 1 else None
        fail(
            _("vectors do not have variance 1 over hidden (off by {off:.3g})").format(off=off),
            inputs=inputs,
            diagnosis=diagnosis,
        )


def test_does_not_modify_its_input(layer_norm):
    """leaves x, weight and bias unchanged"""
    x, weight, bias = randn((2, 4, 6), 1), randn((6,), 2), randn((6,), 3)
    copies = x.clone(), weight.clone(), bias.clone()
    layer_norm(x, weight, bias, 1e-12)
    for name, before, after in zip(("x", "weight", "bias"), copies, (x, weight, bias), strict=True):
        if not torch.equal(before, after):
            fail(_("{name} was changed in place: compute into new tensors instead").format(
                name=name
            ))


def test_keeps_float64(layer_norm):
    """keeps the dtype of x (float64 in, float64 out) and lets gradients flow"""
    x = randn((2, 5), 4).double().requires_grad_()
    got = layer_norm(
        x, torch.ones(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64), 1e-12
    )
    got = expect_tensor(
        got, name="output", shape=(2, 5), dtype=torch.float64,
        inputs=_("x float64 of shape (2, 5)"),
    )
    if not got.requires_grad:
        fail(_("the output is detached from x: avoid .detach(), .item() or numpy in the math"))
    got.sum().backward()


def test_eps_defaults_to_bert_s(layer_norm):
    """without an eps argument, eps is 1e-12 (BERT's)"""
    x = randn((2, 3, 8), 5, 1e-3)
    weight, bias = randn((8,), 6, 0.5, 1.0), randn((8,), 7, 0.1)
    expect_close(
        layer_norm(x, weight, bias),
        expected(x, weight, bias, 1e-12),
        name="output",
        inputs=_("x of shape (2, 3, 8) scaled by 0.001 (variance about 1e-6); eps not passed"),
        atol=1e-5,
        rtol=1e-4,
    )


def test_float64_keeps_float64_precision(layer_norm):
    """float64 x is normalised to float64 precision, also with a large common offset"""
    weight = randn((16,), 9, 0.5, 1.0).double()
    bias = randn((16,), 10, 0.1).double()
    for offset in (0.0, 1e4):
        x = randn((2, 3, 16), 8).double() + offset
        inputs = _("x float64 of shape (2, 3, 16), spread 1, shifted by {offset:g}").format(
            offset=offset
        )
        want = expected(x, weight, bias, 1e-12)
        got = layer_norm(x, weight, bias, 1e-12)
        got = expect_tensor(got, name="output", shape=(2, 3, 16), dtype=torch.float64,
                            inputs=inputs)  # fmt: skip
        mistakes = known_mistakes(x, weight, bias, 1e-12)
        expect_close(got, want, name="output", inputs=inputs, atol=1e-9, rtol=1e-9,
                     mistakes=mistakes)  # fmt: skip


def test_gradients_match_the_reference(layer_norm):
    """gradients reach x, weight and bias and equal the reference's (mean and variance included)"""
    inputs = _("x float64 of shape (2, 3, 8); loss = sum(output * fixed random weights)")
    loss_weights = randn((2, 3, 8), 14).double()
    grads = []
    for norm in (layer_norm, expected):
        x = (randn((2, 3, 8), 11, 2.0, 1.0).double()).requires_grad_()
        weight = randn((8,), 12, 0.5, 1.0).double().requires_grad_()
        bias = randn((8,), 13, 0.1).double().requires_grad_()
        out = norm(x, weight, bias, 1e-12)
        if norm is layer_norm:
            out = expect_tensor(out, name="output", shape=(2, 3, 8), inputs=inputs)
            if not out.requires_grad:
                fail(_("the output is detached from x: avoid .detach(), .item() or numpy in the "
                       "math"), inputs=inputs)  # fmt: skip
        (out * loss_weights).sum().backward()
        grads.append({"x": x.grad, "weight": weight.grad, "bias": bias.grad})
    for name, want in grads[1].items():
        got = grads[0][name]
        if got is None:
            fail(_("no gradient reaches {name}").format(name=name), inputs=inputs)
        if name == "x" and not torch.allclose(got, want, rtol=1e-7, atol=1e-9):
            fail(
                _("the gradient with respect to x differs from the reference's (by up to "
                  "{diff:.3g}): mean and variance depend on x too, so compute them inside "
                  "autograd (no torch.no_grad(), .detach() or .item())").format(
                    diff=float((got - want).abs().max())
                ),
                inputs=inputs,
            )
        expect_close(got, want, name=f"{name}.grad", inputs=inputs, atol=1e-9, rtol=1e-7)
