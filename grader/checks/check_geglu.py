"""Checks for exercise geglu (exercises/e26_geglu.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import Variants, describe, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import non_contiguous, randn, randomize_parameters_, seeds
from grader.i18n import _
from reference.variants.glu import GatedMLP as ReferenceGatedMLP

MODULE = "e26_geglu"
ATOL, RTOL = 1e-5, 1e-5
NAMES = {"gelu": "GeGLU (activation='gelu')", "silu": "SwiGLU (activation='silu')"}


@pytest.fixture(scope="module")
def mlp_cls(learner):
    return learner.GatedMLP


def build(mlp_cls, hidden: int, intermediate: int, activation: str, bias: bool, seed: int,
          dropout: float = 0.1):  # fmt: skip
    """(yours, the reference) with the same seeded weights, in eval mode."""
    reference = ReferenceGatedMLP(hidden, intermediate, activation, bias, dropout=dropout)
    randomize_parameters_(reference, seed).eval()
    mine = mlp_cls(hidden, intermediate, activation, bias, dropout)
    load_weights(mine, reference.state_dict(), name="GatedMLP")
    return mine.eval(), reference


def known_mistakes(reference, x: torch.Tensor, activation: str) -> Variants:
    """Each wrong way to wire the gate, on the reference's weights."""
    act = F.gelu if activation == "gelu" else F.silu
    projected = reference.Wi(x)
    first, second = projected.chunk(2, dim=-1)
    even, odd = projected[..., 0::2], projected[..., 1::2]
    wo = reference.Wo
    mistakes = Variants(
        [
            ("geglu_halves_swapped", lambda: wo(act(second) * first)),
            ("geglu_activation_on_both", lambda: wo(act(first) * act(second))),
            ("geglu_activation_after_product", lambda: wo(act(first * second))),
            ("geglu_interleaved_split", lambda: wo(act(even) * odd)),
            ("geglu_interleaved_split", lambda: wo(act(odd) * even)),
        ]
    )
    if activation == "gelu":
        mistakes.append(("geglu_tanh_gelu", lambda: wo(F.gelu(first, approximate="tanh") * second)))
    else:
        mistakes.append(("swiglu_sigmoid_not_silu", lambda: wo(torch.sigmoid(first) * second)))
    return mistakes


@st.composite
def cases(draw, activation: str):
    hidden, intermediate = draw(st.integers(1, 24)), draw(st.integers(1, 32))
    batch, seq, seed = draw(st.integers(1, 3)), draw(st.integers(1, 7)), draw(seeds)
    return hidden, intermediate, draw(st.booleans()), batch, seq, seed, draw(st.booleans())


def compare(mlp_cls, activation, hidden, intermediate, bias, batch, seq, seed, contiguous):
    mine, reference = build(mlp_cls, hidden, intermediate, activation, bias, seed)
    x = randn((batch, seq, hidden), seed + 1, 2.0)
    if not contiguous:
        x = non_contiguous(x)
    inputs = (
        f"{NAMES[activation]}; "
        + describe(batch=batch, seq=seq, hidden=hidden, intermediate=intermediate)
        + f"; bias={bias}"
        + ("" if contiguous else "; " + _("non-contiguous hidden_states"))
    )
    with torch.no_grad():
        got, want = mine(x), reference(x)
        expect_tensor(
            got,
            name="output",
            shape=(batch, seq, hidden),
            inputs=inputs,
            shape_names="(batch, seq, hidden)",
        )
        expect_close(
            got,
            want,
            name="output",
            inputs=inputs,
            atol=ATOL,
            rtol=RTOL,
            mistakes=known_mistakes(reference, x, activation),
        )


def test_loads_modernbert_mlp_weights_and_keeps_the_shape(mlp_cls):
    """loads a ModernBertMLP state dict (Wi to 2·intermediate, Wo); returns (batch, seq, hidden)"""
    mine, _unused = build(mlp_cls, 8, 12, "gelu", False, 0)
    x = randn((2, 3, 8), 1)
    with torch.no_grad():
        got = mine(x)
    expect_tensor(
        got,
        name="output",
        shape=(2, 3, 8),
        dtype=torch.float32,
        inputs=_("hidden=8, intermediate=12, no bias; x of shape (2, 3, 8)"),
        shape_names="(batch, seq, hidden)",
    )


@given(case=cases("gelu"))
@example(case=(8, 12, False, 2, 3, 0, True))
@example(case=(6, 5, True, 1, 4, 7, False))
def test_geglu_matches_the_reference(mlp_cls, case):
    """GeGLU (exact erf GELU, as ModernBERT) matches the reference, eval mode"""
    compare(mlp_cls, "gelu", *case)


@given(case=cases("silu"))
@example(case=(8, 12, False, 2, 3, 0, True))
def test_swiglu_matches_the_reference(mlp_cls, case):
    """SwiGLU (activation='silu', as Llama) matches the reference, eval mode"""
    compare(mlp_cls, "silu", *case)


def test_the_gate_half_enters_linearly(mlp_cls):
    """doubling the gate half of Wi doubles what reaches Wo: only the first half is activated"""
    mine, _unused = build(mlp_cls, 6, 10, "gelu", False, 3)
    x = randn((2, 4, 6), 4, 2.0)
    inputs = _("hidden=6, intermediate=10, no bias; rows 10..19 of Wi.weight (the gate) doubled")
    with torch.no_grad():
        before = expect_tensor(mine(x), name="output", shape=(2, 4, 6), inputs=inputs)
        mine.Wi.weight[10:] *= 2
        after = expect_tensor(mine(x), name="output", shape=(2, 4, 6), inputs=inputs)
    expect_close(after, 2 * before, name="output", inputs=inputs, atol=1e-5, rtol=1e-5)


def test_dropout_only_in_training(mlp_cls):
    """dropout(0.1) acts in train mode only: eval output is deterministic, train output differs"""
    mine, _unused = build(mlp_cls, 8, 16, "gelu", True, 5)
    x = randn((2, 6, 8), 6)
    with torch.no_grad():
        first, second = mine(x), mine(x)
        if not torch.equal(first, second):
            fail(_("in eval mode two calls on the same input differ: dropout should be off"))
        mine.train()
        torch.manual_seed(0)
        trained = mine(x)
    if torch.allclose(trained, first):
        fail(_("in train mode the output equals eval mode: apply self.drop to the gated product"))


def dropout_models(reference, x: torch.Tensor, seed: int) -> Variants:
    """GeGLU on the reference's weights with dropout in each known wrong place, under ``seed``."""
    drop, wo = reference.drop, reference.Wo

    def gated(h):
        first, second = reference.Wi(h).chunk(2, dim=-1)
        return F.gelu(first), second

    def on_output():
        act, gate = gated(x)
        return drop(wo(act * gate))

    def on_input():
        act, gate = gated(drop(x))
        return wo(act * gate)

    def seeded(run):
        def output():
            torch.manual_seed(seed)
            return run()

        return output

    return Variants(("geglu_dropout_misplaced", seeded(run))
                    for run in (on_output, on_input))  # fmt: skip


def test_dropout_acts_on_the_gated_product(mlp_cls):
    """in train mode dropout masks act(input) * gate, as the reference's: same mask under a seed"""
    # A rate other than the 0.1 the other checks use: the module's dropout argument counts.
    mine, reference = build(mlp_cls, 8, 16, "gelu", True, 6, dropout=0.3)
    x = randn((2, 6, 8), 7)
    inputs = _("hidden=8, intermediate=16, dropout 0.3, bias; x of shape (2, 6, 8); train mode, "
               "torch.manual_seed(11)")  # fmt: skip
    mine.train()
    reference.train()
    with torch.no_grad():
        torch.manual_seed(11)
        got = expect_tensor(mine(x), name="output", shape=(2, 6, 8), inputs=inputs)
        torch.manual_seed(11)
        want = reference(x)
        mistakes = dropout_models(reference, x, 11)
        expect_close(got, want, name="output (train mode)", inputs=inputs, atol=1e-5, rtol=1e-4,
                     mistakes=mistakes)  # fmt: skip


@pytest.mark.parametrize("activation", ["gelu", "silu"])
def test_gradients_match_the_reference(mlp_cls, activation):
    """gradients reach hidden_states, Wi and Wo, and equal the reference's"""
    mine, reference = build(mlp_cls, 6, 10, activation, True, 8)
    x = randn((2, 4, 6), 9, 2.0)
    weights = randn((2, 4, 6), 10)
    inputs = _("{name}; hidden=6, intermediate=10, bias; loss = sum(output · fixed random "
               "weights)").format(name=NAMES[activation])  # fmt: skip
    grads = []
    for model in (mine, reference):
        leaf = x.clone().requires_grad_()
        try:
            out = model(leaf)
            if model is mine:
                out = expect_tensor(out, name="output", shape=(2, 4, 6), inputs=inputs)
                if not out.requires_grad:
                    fail(_("the output is detached: no torch.no_grad(), .detach(), .item() or "
                           "numpy in forward, or the MLP cannot be trained"),
                         inputs=inputs)  # fmt: skip
            (out * weights).sum().backward()
        except RuntimeError as err:
            fail(_("with gradients on, your MLP failed: {err}. An in-place operation (mul_, *=, "
                   "+=) overwrote a tensor autograd still needs; compute into new "
                   "tensors").format(err=err), inputs=inputs)  # fmt: skip
        grads.append({"hidden_states": leaf.grad, "Wi.weight": model.Wi.weight.grad,
                      "Wo.weight": model.Wo.weight.grad})  # fmt: skip
    for name, want in grads[1].items():
        got = grads[0][name]
        if got is None:
            fail(_("no gradient reaches {name}").format(name=name), inputs=inputs)
        expect_close(got, want, name=f"{name}.grad", inputs=inputs, atol=1e-5, rtol=1e-4)
