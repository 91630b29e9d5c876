"""Checks for exercise rope (exercises/e23_rope.py).

Each piece against ``reference/variants/rope.py`` (proven equal to transformers' Llama and
ModernBERT rotary code in tests/), then RoPE's defining properties, which need no reference:
a rotation keeps lengths, position 0 changes nothing, and q·k depends only on the offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import Variants, describe, expect_close, expect_tensor, fail
from grader.checks.strategies import make_generator, non_contiguous, padding_masks, randn, seeds
from grader.i18n import _
from reference import additive_attention_mask, scaled_dot_product_attention
from reference.variants.rope import (
    RotaryEmbedding,
    apply_rotary_pos_emb,
    apply_rotary_pos_emb_interleaved,
    rope_inv_freq,
    rotate_every_two,
    rotate_half,
)

MODULE = "e23_rope"
ATOL, RTOL = 1e-5, 1e-5
BASES = (10000.0, 160000.0, 500000.0)  # the paper and Llama; ModernBERT global; Llama 3
#: Positions stay below this in value checks: the angle m·θ is a float32 product, and a
#: different but equivalent way of computing θ would differ by m times θ's rounding.
MAX_POSITION = 48


@pytest.fixture(scope="module")
def rope(learner):
    return learner


# --- the known mistakes -----------------------------------------------------------------------


def wrong_inv_freqs(head_dim: int, base: float) -> Variants:
    i = torch.arange(0, head_dim, 2, dtype=torch.float32)
    return Variants(
        [
            ("rope_wrong_exponent", lambda: 1.0 / base ** ((i / 2) / head_dim)),  # base^(-i/d)
            ("rope_wrong_exponent", lambda: 1.0 / base ** (i / (head_dim // 2))),  # base^(-4i/d)
            ("rope_wrong_exponent", lambda: 1.0 / base ** (i / (head_dim - 2 or 1))),
        ]
    )


def interleaved_tables(position_ids, inv_freq, dtype):
    angles = position_ids[..., None].float() * inv_freq.float()
    angles = angles.repeat_interleave(2, dim=-1)  # θ0, θ0, θ1, θ1, ...
    return angles.cos().to(dtype), angles.sin().to(dtype)


def wrong_rotations(q, k, cos, sin) -> Variants:
    """(q, k) after each known wrong rotation."""

    def rotated(rotate, c=cos, s=sin, swap=False):
        def both():
            c4, s4 = c.unsqueeze(1), s.unsqueeze(1)
            if swap:
                c4, s4 = s4, c4
            return q * c4 + rotate(q) * s4, k * c4 + rotate(k) * s4

        return both

    half = cos.shape[-1] // 2
    inter_cos = cos[..., :half].repeat_interleave(2, -1)
    inter_sin = sin[..., :half].repeat_interleave(2, -1)
    return Variants(
        [
            ("rope_interleaved_pairs", lambda: apply_rotary_pos_emb_interleaved(q, k, cos, sin)),
            ("rope_interleaved_pairs", rotated(rotate_every_two)),
            ("rope_interleaved_pairs", rotated(rotate_half, inter_cos, inter_sin)),
            ("rope_rotation_direction", rotated(lambda x: -rotate_half(x))),
            ("rope_cos_sin_swapped", rotated(rotate_half, swap=True)),
        ]
    )


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    q: torch.Tensor  # (batch, heads, seq, head_dim)
    k: torch.Tensor
    v: torch.Tensor
    position_ids: torch.Tensor  # (batch, seq)
    mask: torch.Tensor | None
    base: float

    def describe(self) -> str:
        b, h, s, d = self.q.shape
        parts = [describe(batch=b, heads=h, seq=s, head_dim=d, base=f"{self.base:g}")]
        parts.append(f"position_ids {self.position_ids.tolist()}")
        if self.mask is not None:
            padded = (self.mask == 0).sum(-1).tolist()
            parts.append(
                ", ".join(_("{n} padded in row {row}").format(n=n, row=i)
                          for i, n in enumerate(padded) if n)
                or _("attention_mask with no padding")
            )
        if not self.q.is_contiguous():
            parts.append(_("non-contiguous q, k, v"))
        return "; ".join(parts)


@st.composite
def cases(draw, *, masked: bool = False) -> Case:
    batch, heads, seq = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 6))
    head_dim, seed = 2 * draw(st.integers(1, 8)), draw(seeds)
    base = draw(st.sampled_from(BASES))
    style = draw(st.sampled_from(["arange", "offset", "random"]))
    gen = make_generator(seed)
    if style == "arange":
        position_ids = torch.arange(seq).expand(batch, seq)
    elif style == "offset":  # as after a KV cache, or with left padding
        offsets = torch.randint(0, MAX_POSITION - seq, (batch, 1), generator=gen)
        position_ids = offsets + torch.arange(seq)
    else:
        position_ids = torch.randint(0, MAX_POSITION, (batch, seq), generator=gen)
    shape = (batch, heads, seq, head_dim)
    q, k, v = randn(shape, seed), randn(shape, seed + 1), randn(shape, seed + 2)
    if not draw(st.booleans()):
        q, k, v = non_contiguous(q), non_contiguous(k), non_contiguous(v)
    mask = draw(padding_masks(batch, seq, allow_fully_padded=False)) if masked else None
    return Case(q, k, v, position_ids.contiguous(), mask, base)


def fixed_case(seed: int = 0, masked: bool = False, shuffled: bool = False) -> Case:
    shape = (2, 2, 4, 8)
    position_ids = torch.tensor([[0, 1, 2, 3], [5, 6, 7, 8]])
    if shuffled:  # not consecutive: attention then depends on which positions are given
        position_ids = torch.tensor([[3, 17, 5, 40], [9, 2, 30, 11]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]) if masked else None
    return Case(
        randn(shape, seed),
        randn(shape, seed + 1),
        randn(shape, seed + 2),
        position_ids,
        mask,
        10000.0,
    )


def reference_tables(case: Case):
    rotary = RotaryEmbedding(case.q.shape[-1], case.base, MAX_POSITION + 1)
    return rotary(case.position_ids)


ARGUMENTS = {
    "rope_cos_sin": ("position_ids", "inv_freq"),
    "apply_rotary_pos_emb": ("q", "k", "cos", "sin"),
    "rope_attention": ("query", "key", "value", "position_ids", "attention_mask"),
}


def call_pair(fn, *args, name: str, inputs: str):
    kept = [(i, a.clone()) for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
    result = fn(*args)
    names = ARGUMENTS.get(name, ())
    for i, before in kept:
        if not torch.equal(args[i], before):
            argument = names[i] if i < len(names) else str(i + 1)
            fail(_("{name} changed its argument {argument} in place (e.g. q.mul_(cos)): compute "
                   "into new tensors, the caller still needs the original").format(
                name=name, argument=argument), inputs=inputs)  # fmt: skip
    if not isinstance(result, tuple | list) or len(result) != 2:
        fail(_("{name} should return a pair, got {kind}").format(
            name=name, kind=type(result).__name__
        ), inputs=inputs)
    return result


# --- checks -----------------------------------------------------------------------------------


@given(head_dim=st.integers(1, 32).map(lambda n: 2 * n), base=st.sampled_from(BASES))
@example(head_dim=8, base=10000.0)
@example(head_dim=64, base=10000.0)
def test_inv_freq(rope, head_dim, base):
    """rope_inv_freq: (head_dim/2,) frequencies base^(-2i/head_dim), float32"""
    inputs = f"head_dim={head_dim}, base={base:g}"
    got = expect_tensor(
        rope.rope_inv_freq(head_dim, base),
        name="inv_freq",
        shape=(head_dim // 2,),
        dtype=torch.float32,
        inputs=inputs,
        shape_names="(head_dim // 2,)",
    )
    expect_close(
        got,
        rope_inv_freq(head_dim, base),
        name="inv_freq",
        inputs=inputs,
        atol=ATOL,
        rtol=RTOL,
        mistakes=wrong_inv_freqs(head_dim, base),
    )


def test_rotate_half(rope):
    """rotate_half: (x1, x2) -> (-x2, x1) on the two halves of the last dimension"""
    x = torch.arange(1.0, 9.0).reshape(1, 1, 1, 8)
    inputs = "x = [1, 2, ..., 8], shape (1, 1, 1, 8)"
    got = expect_tensor(
        rope.rotate_half(x), name="rotate_half(x)", shape=(1, 1, 1, 8), inputs=inputs
    )
    mistakes = Variants(
        [
            ("rope_interleaved_pairs", lambda: rotate_every_two(x)),
            ("rope_rotation_direction", lambda: -rotate_half(x)),
        ]
    )
    expect_close(
        got, rotate_half(x), name="rotate_half(x)", inputs=inputs, atol=0, rtol=0, mistakes=mistakes
    )
    x = torch.arange(1.0, 13.0).reshape(2, 6)  # (..., head_dim): any number of leading dims
    inputs = "x = [[1, ..., 6], [7, ..., 12]], shape (2, 6)"
    try:
        got = rope.rotate_half(x)
    except IndexError as err:
        fail(_("rotate_half raised on an input of shape (2, 6): {err}. It takes (..., head_dim): "
               "split the last dimension (x.chunk(2, dim=-1)), whatever the dimensions before "
               "it").format(err=err), inputs=inputs)  # fmt: skip
    got = expect_tensor(got, name="rotate_half(x)", shape=(2, 6), inputs=inputs)
    expect_close(got, rotate_half(x), name="rotate_half(x)", inputs=inputs, atol=0, rtol=0)


@given(case=cases())
@example(case=fixed_case())
def test_cos_sin_tables(rope, case):
    """rope_cos_sin: (batch, seq, head_dim) cos and sin of position·θ, halves repeated"""
    head_dim = case.q.shape[-1]
    inv_freq = rope_inv_freq(head_dim, case.base)
    inputs = case.describe()
    cos, sin = call_pair(
        rope.rope_cos_sin,
        case.position_ids,
        inv_freq,
        torch.float32,
        name="rope_cos_sin",
        inputs=inputs,
    )
    want_cos, want_sin = reference_tables(case)
    batch, seq = case.position_ids.shape
    wrong = {
        "rope_interleaved_pairs": interleaved_tables(case.position_ids, inv_freq, torch.float32),
        "rope_position_ids_ignored": arange_tables(seq, batch, inv_freq),
        "rope_cos_sin_swapped": (want_sin, want_cos),
    }
    for index, (name, got, want) in enumerate((("cos", cos, want_cos), ("sin", sin, want_sin))):
        expect_tensor(
            got,
            name=name,
            shape=(batch, seq, head_dim),
            dtype=torch.float32,
            inputs=inputs,
            shape_names="(batch, seq, head_dim)",
        )
        expect_close(
            got,
            want,
            name=name,
            inputs=inputs,
            atol=ATOL,
            rtol=RTOL,
            mistakes={m: (lambda t=t, i=index: t[i]) for m, t in wrong.items()},
        )


def arange_tables(seq: int, batch: int, inv_freq):
    """The tables for positions 0..seq-1 whatever position_ids say."""
    angles = torch.arange(seq, dtype=torch.float32)[:, None] * inv_freq
    angles = torch.cat((angles, angles), -1).expand(batch, seq, -1)
    return angles.cos(), angles.sin()


def test_cos_sin_follow_the_dtype(rope):
    """rope_cos_sin returns the requested dtype (angles computed in float32)"""
    inv_freq = rope_inv_freq(8)
    # bfloat16 keeps 8 significant bits: 1001 would be rounded to 1000 and 301 to 300, so
    # angles computed in bfloat16 are off by whole radians at the first frequency.
    position_ids = torch.tensor([[0, 1, 2, 301, 1001]])
    inputs = "position_ids [[0, 1, 2, 301, 1001]], head_dim=8, dtype=torch.bfloat16"
    cos, sin = call_pair(
        rope.rope_cos_sin,
        position_ids,
        inv_freq,
        torch.bfloat16,
        name="rope_cos_sin",
        inputs=inputs,
    )
    angles = position_ids[..., None].float() * inv_freq
    angles = torch.cat((angles, angles), -1)
    low = position_ids[..., None].to(torch.bfloat16) * inv_freq.to(torch.bfloat16)
    low = torch.cat((low, low), -1)
    step = torch.finfo(torch.bfloat16).eps
    pairs = (("cos", cos, angles.cos(), low.cos()), ("sin", sin, angles.sin(), low.sin()))
    for name, got, want, in_bfloat16 in pairs:
        expect_tensor(got, name=name, shape=(1, 5, 8), dtype=torch.bfloat16, inputs=inputs)
        expect_close(got.float(), want.to(torch.bfloat16).float(), name=name, inputs=inputs,
                     atol=2 * step, rtol=0,
                     mistakes={"rope_angles_in_half_precision": lambda w=in_bfloat16: w})


@given(case=cases())
@example(case=fixed_case(1))
def test_apply_rotary_pos_emb(rope, case):
    """apply_rotary_pos_emb matches transformers' q·cos + rotate_half(q)·sin (reference)"""
    cos, sin = reference_tables(case)
    inputs = case.describe() + "; " + _("cos/sin from the reference")
    got = call_pair(
        rope.apply_rotary_pos_emb,
        case.q,
        case.k,
        cos,
        sin,
        name="apply_rotary_pos_emb",
        inputs=inputs,
    )
    want = apply_rotary_pos_emb(case.q, case.k, cos, sin)
    mistakes = wrong_rotations(case.q, case.k, cos, sin)
    for index, name in enumerate(("q_rotated", "k_rotated")):
        expect_tensor(
            got[index],
            name=name,
            shape=tuple(case.q.shape),
            inputs=inputs,
            shape_names="(batch, heads, seq, head_dim)",
        )
        expect_close(
            got[index],
            want[index],
            name=name,
            inputs=inputs,
            atol=ATOL,
            rtol=RTOL,
            mistakes=Variants((m, lambda f=f, i=index: f()[i]) for m, f in mistakes),
        )


def test_unsqueeze_dim_2_for_batch_seq_heads_layout(rope):
    """unsqueeze_dim=2 rotates (batch, seq, heads, head_dim) tensors, as transformers allows"""
    case = fixed_case(4)
    cos, sin = reference_tables(case)
    q, k = case.q.transpose(1, 2), case.k.transpose(1, 2)  # (batch, seq, heads, head_dim)
    inputs = case.describe() + "; " + _("q and k laid out (batch, seq, heads, head_dim), "
                                          "unsqueeze_dim=2")  # fmt: skip
    try:
        got = call_pair(rope.apply_rotary_pos_emb, q, k, cos, sin, 2,
                        name="apply_rotary_pos_emb", inputs=inputs)  # fmt: skip
    except RuntimeError as err:
        fail(_("with unsqueeze_dim=2 your code raised: {err}. Insert the heads axis where "
               "unsqueeze_dim says: cos.unsqueeze(unsqueeze_dim)").format(err=err),
             inputs=inputs)  # fmt: skip
    want = apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=2)
    for index, name in enumerate(("q_rotated", "k_rotated")):
        expect_close(got[index], want[index], name=name, inputs=inputs, atol=ATOL, rtol=RTOL)


def test_gradients_flow_through_the_rotation(rope):
    """gradients reach q and k through apply_rotary_pos_emb, and q, k, v through rope_attention"""
    case = fixed_case(5)
    cos, sin = reference_tables(case)
    leaves = [t.clone().requires_grad_() for t in (case.q, case.k, case.v)]
    inputs = case.describe() + "; " + _("q, k and v require gradients")
    rotated = call_pair(rope.apply_rotary_pos_emb, leaves[0], leaves[1], cos, sin,
                        name="apply_rotary_pos_emb", inputs=inputs)  # fmt: skip
    context, _unused = call_pair(rope.rope_attention, *leaves, case.position_ids, None,
                                 case.base, name="rope_attention", inputs=inputs)  # fmt: skip
    for name, out in (("q_rotated", rotated[0]), ("k_rotated", rotated[1]), ("context", context)):
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            fail(_("{name} is detached from the inputs: no torch.no_grad(), .detach(), .item() "
                   "or numpy in the maths, or the model cannot learn through it").format(
                name=name), inputs=inputs)  # fmt: skip


@given(case=cases(masked=True))
@example(case=fixed_case(2, masked=True))
@example(case=fixed_case(9, shuffled=True))
def test_rope_attention(rope, case):
    """rope_attention: q and k rotated (values not), then attention; matches the reference"""
    inputs = case.describe()
    context, probs = call_pair(
        rope.rope_attention,
        case.q,
        case.k,
        case.v,
        case.position_ids,
        case.mask,
        case.base,
        name="rope_attention",
        inputs=inputs,
    )
    cos, sin = reference_tables(case)
    q, k = apply_rotary_pos_emb(case.q, case.k, cos, sin)
    additive = None if case.mask is None else additive_attention_mask(case.mask, q.dtype)
    want_context, want_probs = scaled_dot_product_attention(q, k, case.v, additive)
    v_rotated, _ = apply_rotary_pos_emb(case.v, case.v, cos, sin)
    mistakes = Variants([("rope_rotates_values", lambda: (want_probs @ v_rotated, want_probs))])
    batch, seq = case.position_ids.shape
    arange_cos, arange_sin = arange_tables(seq, batch, rope_inv_freq(case.q.shape[-1], case.base))
    mistakes.append(("rope_position_ids_ignored", lambda: scaled_dot_product_attention(
        *apply_rotary_pos_emb(case.q, case.k, arange_cos, arange_sin), case.v, additive)))
    for m, f in wrong_rotations(case.q, case.k, cos, sin):
        mistakes.append((m, lambda f=f: scaled_dot_product_attention(*f(), case.v, additive)))
    for index, (name, got, want) in enumerate(
        (("context", context, want_context), ("probs", probs, want_probs))
    ):
        if name == "probs":
            mistakes = Variants((m, f) for m, f in mistakes if m != "rope_rotates_values")
        expect_tensor(got, name=name, shape=tuple(want.shape), inputs=inputs)
        expect_close(
            got,
            want,
            name=name,
            inputs=inputs,
            atol=ATOL,
            rtol=1e-4,
            mistakes=Variants((m, lambda f=f, i=index: f()[i]) for m, f in mistakes),
        )


def rotate_with_learner(rope, x: torch.Tensor, positions: list[int], base: float = 10000.0):
    """x (1, 1, len(positions), d) rotated to ``positions`` with the learner's pieces."""
    inv_freq = rope.rope_inv_freq(x.shape[-1], base)
    cos, sin = rope.rope_cos_sin(torch.tensor([positions]), inv_freq, x.dtype)
    rotated, _ = rope.apply_rotary_pos_emb(x, x, cos, sin)
    return expect_tensor(
        rotated, name="rotated", shape=tuple(x.shape), inputs=f"positions {positions}"
    )


def test_rotation_keeps_lengths_and_position_zero_is_identity(rope):
    """a rotation keeps every vector's length; at position 0 nothing changes (no reference)"""
    x = randn((1, 1, 3, 16), 3, 2.0)
    rotated = rotate_with_learner(rope, x, [0, 7, 31])
    if not torch.allclose(rotated[..., 0, :], x[..., 0, :], atol=1e-6):
        fail(
            _("at position 0 the rotation should be the identity (cos 0 = 1, sin 0 = 0)"),
            inputs="head_dim=16, positions [0, 7, 31]",
        )
    lengths, rotated_lengths = x.norm(dim=-1), rotated.norm(dim=-1)
    if not torch.allclose(lengths, rotated_lengths, rtol=1e-5, atol=1e-5):
        fail(
            _("RoPE changed vector lengths from {before} to {after}: it must only rotate pairs "
              "of dimensions").format(before=lengths.flatten().tolist(),
                                      after=rotated_lengths.flatten().tolist()),
            inputs="head_dim=16, positions [0, 7, 31]",
        )


@given(seed=seeds, m=st.integers(0, 200), n=st.integers(0, 200), shift=st.integers(1, 300))
@example(seed=0, m=3, n=1, shift=10)
def test_scores_depend_only_on_the_offset(rope, seed, m, n, shift):
    """q·k after RoPE depends only on m - n: moving both tokens by the same shift keeps it"""
    q, k = randn((1, 1, 1, 16), seed), randn((1, 1, 1, 16), seed + 1)
    qk = torch.cat((q, k), dim=2)
    before = rotate_with_learner(rope, qk, [m, n])
    after = rotate_with_learner(rope, qk, [m + shift, n + shift])
    score_before = float((before[..., 0, :] * before[..., 1, :]).sum())
    score_after = float((after[..., 0, :] * after[..., 1, :]).sum())
    # Angles up to 500 rad in float32 are rounded to ~3e-5: compare relative to |q||k|.
    scale = float(q.norm() * k.norm())
    if abs(score_before - score_after) > 1e-4 * scale:
        fail(
            _("q·k = {score_before:.5g} at positions (m={m}, n={n}) but {score_after:.5g} at "
              "(m={m2}, n={n2}): with RoPE the score may depend on m - n only").format(
                score_before=score_before, m=m, n=n, score_after=score_after, m2=m + shift,
                n2=n + shift
            ),
            inputs=_("head_dim=16, one query and one key, shift {shift}").format(shift=shift),
        )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_stays_half(rope, dtype):
    """float16 and bfloat16 stay in that dtype through the rotation and rope_attention"""
    case = fixed_case(6, masked=True)
    name = str(dtype).removeprefix("torch.")
    q, k, v = case.q.to(dtype), case.k.to(dtype), case.v.to(dtype)
    cos, sin = reference_tables(case)
    inputs = case.describe() + "; " + _("q, k, v, cos and sin in {name}").format(name=name)
    step = torch.finfo(dtype).eps
    rotated = call_pair(rope.apply_rotary_pos_emb, q, k, cos.to(dtype), sin.to(dtype),
                        name="apply_rotary_pos_emb", inputs=inputs)  # fmt: skip
    want = apply_rotary_pos_emb(case.q, case.k, cos, sin)
    for got, exact, what in zip(rotated, want, ("q_rotated", "k_rotated"), strict=True):
        got = expect_tensor(got, name=what, shape=tuple(q.shape), dtype=dtype, inputs=inputs)
        expect_close(got.float(), exact, name=what, inputs=inputs, atol=4 * step, rtol=4 * step)
    try:
        result = call_pair(rope.rope_attention, q, k, v, case.position_ids, case.mask, case.base,
                           name="rope_attention", inputs=inputs)  # fmt: skip
    except RuntimeError as err:
        fail(_("with {name} query, key and value rope_attention raised: {err}. Build cos and "
               "sin in the query's dtype: rope_cos_sin(position_ids, inv_freq, "
               "query.dtype)").format(name=name, err=err), inputs=inputs)  # fmt: skip
    additive = additive_attention_mask(case.mask, torch.float32)
    want = scaled_dot_product_attention(*want, case.v, additive)
    for got, exact, what in zip(result, want, ("context", "probs"), strict=True):
        got = expect_tensor(got, name=what, shape=tuple(exact.shape), dtype=dtype, inputs=inputs)
        expect_close(got.float(), exact, name=what, inputs=inputs, atol=8 * step, rtol=8 * step)
