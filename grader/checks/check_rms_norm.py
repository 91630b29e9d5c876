"""Checks for exercise rms_norm (exercises/e25_rms_norm.py)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import Variants, describe, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import hidden_shapes, non_contiguous, randn, scales, seeds
from grader.i18n import _
from reference.variants.norms import RMSNorm as ReferenceRMSNorm

MODULE = "e25_rms_norm"
EPSILONS = (1e-6, 1e-5, 1e-3)
ATOL, RTOL = 1e-5, 1e-5


@pytest.fixture(scope="module")
def norm_cls(learner):
    return learner.RMSNorm


def build(norm_cls, hidden: int, eps: float, seed: int, dtype=torch.float32):
    """(yours, the reference) with the same seeded gain, in ``dtype``."""
    reference = ReferenceRMSNorm(hidden, eps)
    with torch.no_grad():
        reference.weight.copy_(randn((hidden,), seed, 0.2, 1.0))
    reference = reference.to(dtype)
    mine = norm_cls(hidden, eps)
    load_weights(mine, reference.state_dict(), name="RMSNorm")
    return mine.to(dtype), reference


def known_mistakes(x: torch.Tensor, weight: torch.Tensor, eps: float) -> Variants:
    """Each mistake's output on this input (float32 maths, cast back like the reference);
    a mistake written in two ways appears twice."""
    dtype = x.dtype
    xf = x.float()
    mean_square = xf.pow(2).mean(-1, keepdim=True)
    centred = xf - xf.mean(-1, keepdim=True)

    def finish(normalised):
        return weight * normalised.to(dtype)

    return Variants(
        [
            (
                "rms_norm_mean_subtracted",
                lambda: finish(centred * torch.rsqrt(centred.pow(2).mean(-1, keepdim=True) + eps)),
            ),
            ("rms_norm_eps_outside_sqrt", lambda: finish(xf / (mean_square.sqrt() + eps))),
            ("rms_norm_l2_normalised", lambda: finish(xf / (xf.norm(dim=-1, keepdim=True) + eps))),
            (
                "rms_norm_l2_normalised",
                lambda: finish(xf * torch.rsqrt(xf.pow(2).sum(-1, keepdim=True) + eps)),
            ),
            ("rms_norm_missing_weight", lambda: normalised_only(xf, mean_square, eps, dtype)),
        ]
    )


def normalised_only(xf, mean_square, eps, dtype):
    return (xf * torch.rsqrt(mean_square + eps)).to(dtype)


def test_returns_the_input_shape_and_dtype(norm_cls):
    """loads a LlamaRMSNorm-style state dict (weight only); returns x's shape and dtype"""
    mine, _unused = build(norm_cls, 8, 1e-6, 0)
    x = randn((2, 3, 8), 1)
    with torch.no_grad():
        got = mine(x)
    expect_tensor(
        got,
        name="output",
        shape=(2, 3, 8),
        dtype=torch.float32,
        inputs=_("x float32 of shape (2, 3, 8)"),
        shape_names="(batch, seq, hidden)",
    )


@given(
    shape=hidden_shapes(),
    seed=seeds,
    scale=scales,
    eps=st.sampled_from(EPSILONS),
    offset=st.sampled_from([0.0, 3.0]),
    contiguous=st.booleans(),
)
@example(shape=(2, 3, 8), seed=0, scale=1.0, eps=1e-6, offset=3.0, contiguous=True)
@example(shape=(1, 2, 16), seed=1, scale=0.01, eps=1e-3, offset=0.0, contiguous=False)
def test_matches_the_reference(norm_cls, shape, seed, scale, eps, offset, contiguous):
    """output matches the reference RMSNorm (float32)"""
    hidden = shape[-1]
    mine, reference = build(norm_cls, hidden, eps, seed)
    x = randn(shape, seed + 1, scale, offset * scale)
    if not contiguous:
        x = non_contiguous(x)
    parts = [describe(batch=shape[0], seq=shape[1], hidden=hidden, eps=eps),
             _("x scaled by {scale:g}").format(scale=scale)]  # fmt: skip
    if offset:
        parts.append(_("shifted by {offset:g}").format(offset=offset * scale))
    if not contiguous:
        parts.append(_("non-contiguous x"))
    inputs = "; ".join(parts)
    with torch.no_grad():
        want, before = reference(x), x.clone()
        got = mine(x)
        if not torch.equal(x, before):
            fail(_("x was changed in place: for a float32 input, x.to(torch.float32) returns x "
                   "itself, not a copy, so x *= ... or x.mul_(...) overwrites the caller's "
                   "tensor; write x = x * ... instead"), inputs=inputs,
                 diagnosis="rms_norm_modifies_input")  # fmt: skip
        expect_close(
            got,
            want,
            name="output",
            inputs=inputs,
            atol=ATOL,
            rtol=RTOL,
            mistakes=known_mistakes(x, reference.weight, eps),
        )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_like_llama_rms_norm(norm_cls, dtype):
    """a half-precision module on half-precision input: float32 statistics, the input's dtype out"""
    name = str(dtype).removeprefix("torch.")
    mine, reference = build(norm_cls, 16, 1e-6, 2, dtype)
    # |x| up to ~600: x² overflows float16 (largest 65504) unless the statistics are float32.
    x = (randn((2, 3, 16), 3, 1.0) * torch.tensor([1.0, 300.0])[:, None, None]).to(dtype)
    inputs = _("x {name} of shape (2, 3, 16), row 1 with values of a few hundred; module "
               ".to({name})").format(name=name)  # fmt: skip
    with torch.no_grad():
        got = mine(x)
        want = reference(x)
    got = expect_tensor(got, name="output", shape=(2, 3, 16), inputs=inputs)
    if got.dtype != dtype:
        fail(
            _("output has dtype {dtype} for {name} input and a {name} module; "
              "LlamaRMSNorm returns {name}").format(dtype=got.dtype, name=name),
            inputs=inputs,
            diagnosis="rms_norm_not_cast_back",
        )
    # The float32 maths rounded once to a half type can land one step (finfo.eps relative)
    # either side of the reference for a different but equivalent order of operations.
    step = torch.finfo(dtype).eps
    mistakes = known_mistakes(x, reference.weight, 1e-6)
    with torch.no_grad():  # the statistics in half precision: x² overflows float16
        no_upcast = reference.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))
    mistakes.insert(0, ("rms_norm_no_upcast", lambda: no_upcast))
    expect_close(
        got, want, name="output", inputs=inputs, atol=2 * step, rtol=2 * step, mistakes=mistakes
    )


def test_a_constant_vector_is_not_centred_away(norm_cls):
    """a constant vector c·(1, ..., 1) normalises to sign(c)·weight (LayerNorm would give 0)"""
    mine, _unused = build(norm_cls, 6, 1e-6, 4)
    with torch.no_grad():
        mine.weight.fill_(1.0)
        x = torch.tensor([[2.5] * 6, [-0.5] * 6])
        got = mine(x)
    got = expect_tensor(got, name="output", shape=(2, 6), inputs="x = 2.5·1 and -0.5·1, hidden=6")
    want = torch.tensor([[1.0] * 6, [-1.0] * 6])
    if (got - want).abs().max() > 1e-4:
        diagnosis = "rms_norm_mean_subtracted" if got.abs().max() < 1e-3 else None
        fail(
            _("a constant vector should normalise to ±1 (its RMS is |c|), got {got}").format(
                got=got[0, :3].tolist()
            ),
            inputs="x = 2.5·(1, ..., 1) and -0.5·(1, ..., 1), hidden=6, weight 1",
            diagnosis=diagnosis,
        )


@given(shape=hidden_shapes(), seed=seeds)
def test_unit_root_mean_square(norm_cls, shape, seed):
    """with weight 1, every output vector has root mean square 1 (no reference needed)"""
    hidden = shape[-1]
    mine, _unused = build(norm_cls, hidden, 1e-6, seed)
    with torch.no_grad():
        mine.weight.fill_(1.0)
        x = randn(shape, seed + 1, 3.0, 1.0)
        got = mine(x)
    got = expect_tensor(
        got,
        name="output",
        shape=shape,
        inputs=describe(batch=shape[0], seq=shape[1], hidden=hidden),
    )
    rms = got.pow(2).mean(-1).sqrt()
    if (rms - 1).abs().max() > 1e-3:
        l2 = hidden > 1 and bool(((rms - hidden**-0.5).abs() < 1e-3).all())
        fail(
            _("output vectors have root mean square {low:.4g} to "
              "{high:.4g}, not 1").format(low=float(rms.min()), high=float(rms.max())),
            inputs=describe(batch=shape[0], seq=shape[1], hidden=hidden) + "; weight 1",
            diagnosis="rms_norm_l2_normalised" if l2 else None,
        )


def test_gradients_flow_and_input_is_kept(norm_cls):
    """leaves x unchanged and lets gradients reach x and weight"""
    mine, reference = build(norm_cls, 5, 1e-6, 5)
    x = randn((2, 5), 6).requires_grad_()
    before = x.detach().clone()
    got = expect_tensor(mine(x), name="output", shape=(2, 5), inputs=_("x of shape (2, 5)"))
    if not torch.equal(x.detach(), before):
        fail(_("x was changed in place: compute into new tensors instead"))
    if not got.requires_grad:
        fail(_("the output is detached: avoid .detach(), .item() or numpy in the maths"))
    weights = randn((2, 5), 7)  # loss = sum(output · fixed random weights)
    (got * weights).sum().backward()
    if mine.weight.grad is None:
        fail(_("no gradient reaches weight: multiply by self.weight (the gain) in forward"))
    if x.grad is None:
        fail(_("no gradient reaches x: the input is detached (.detach(), torch.no_grad() or "
               "numpy in forward)"), inputs=_("x of shape (2, 5)"))  # fmt: skip
    leaf = x.detach().clone().requires_grad_()
    (reference(leaf) * weights).sum().backward()
    inputs = _("x of shape (2, 5); loss = sum(output · fixed random weights)")
    for name, got_grad, want in (("x.grad", x.grad, leaf.grad),
                                 ("weight.grad", mine.weight.grad, reference.weight.grad)):
        # A detached statistic (mean_square.detach()) still lets a gradient reach x, a wrong
        # one: the normalisation itself depends on x.
        expect_close(got_grad, want, name=name, inputs=inputs, atol=1e-5, rtol=1e-4)
