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


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: handing work to more threads costs more than the maths (far more on a
    busy machine), so these checks run on one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def mlp_cls(learner):
    return learner.GatedMLP


def build(mlp_cls, hidden: int, intermediate: int, activation: str, bias: bool, seed: int):
    """(yours, the reference) with the same seeded weights, in eval mode (dropout 0.1)."""
    reference = ReferenceGatedMLP(hidden, intermediate, activation, bias, dropout=0.1)
    randomize_parameters_(reference, seed).eval()
    mine = mlp_cls(hidden, intermediate, activation, bias, 0.1)
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
