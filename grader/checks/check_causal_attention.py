"""Checks for exercise causal_attention (exercises/e21_causal_attention.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import Variants, expect_close, expect_context_and_probs, expect_tensor, fail
from grader.checks.strategies import SCALES, non_contiguous, padding_masks, randn, seeds
from grader.i18n import _
from reference import additive_attention_mask, scaled_dot_product_attention
from reference.variants.masks import causal_padding_mask, to_additive

MODULE = "e21_causal_attention"
ATOL, RTOL = 1e-5, 1e-4


@pytest.fixture(scope="module")
def mask_fn(learner):
    return learner.causal_mask


@pytest.fixture(scope="module")
def attention(learner):
    return learner.causal_attention


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    query: torch.Tensor
    key: torch.Tensor
    value: torch.Tensor
    mask: torch.Tensor | None  # (batch, seq), 1 = real
    scale: float = 1.0
    contiguous: bool = True

    def describe(self) -> str:
        b, h, s, d = self.query.shape
        parts = [f"batch={b}, heads={h}, seq={s}, d_head={d}", describe_padding(self.mask)]
        if self.scale != 1.0:
            parts.append(_("queries and keys scaled by {scale:g}").format(scale=self.scale))
        if not self.contiguous:
            parts.append(_("non-contiguous inputs"))
        return "; ".join(parts)


def describe_padding(mask: torch.Tensor | None) -> str:
    if mask is None:
        return _("no attention_mask")
    rows = []
    for row, values in enumerate(mask.tolist()):
        padded = values.count(0)
        if not padded:
            continue
        if values[:padded] == [0] * padded:
            rows.append(_("row {row} left-padded by {n}").format(row=row, n=padded))
        elif values[-padded:] == [0] * padded:
            rows.append(_("row {row} right-padded by {n}").format(row=row, n=padded))
        else:
            rows.append(_("row {row} mask {values}").format(row=row, values=values))
    return ", ".join(rows) if rows else _("attention_mask with no padding")


@st.composite
def cases(draw, *, masked: bool | None = True, max_seq: int = 8) -> Case:
    """``masked``: True always draws an attention_mask, False never, None either way."""
    batch, heads = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seq, d_head = draw(st.integers(1, max_seq)), draw(st.integers(1, 12))
    seed, scale = draw(seeds), draw(st.sampled_from(SCALES))
    if masked is None:
        masked = draw(st.booleans())
    mask = draw(padding_masks(batch, seq, allow_fully_padded=False)) if masked else None
    if mask is not None and draw(st.booleans()):
        mask = mask.flip(-1)  # left padding, as decoders use for generation
    contiguous = draw(st.booleans())
    q = randn((batch, heads, seq, d_head), seed, scale)
    k = randn((batch, heads, seq, d_head), seed + 1, scale)
    v = randn((batch, heads, seq, d_head), seed + 2)
    if not contiguous:
        q, k, v = non_contiguous(q), non_contiguous(k), non_contiguous(v)
    return Case(q, k, v, mask, scale, contiguous)


def fixed_case(seed: int = 0, scale: float = 1.0) -> Case:
    mask = torch.tensor([[1, 1, 1, 0], [0, 0, 1, 1]])  # right-padded, left-padded
    shape = (2, 2, 4, 3)
    q, k = randn(shape, seed, scale), randn(shape, seed + 1, scale)
    return Case(q, k, randn(shape, seed + 2), mask, scale)


# --- the right answer and the known wrong ones ------------------------------------------------


def allowed_patterns(mask: torch.Tensor) -> dict[str, torch.Tensor]:
    """Boolean "may attend" (batch, 1, seq, seq): right, and each known wrong pattern."""
    seq = mask.shape[-1]
    i = torch.arange(seq)[:, None]
    j = torch.arange(seq)[None, :]
    keys = mask.bool()[:, None, None, :]
    queries = mask.bool()[:, None, :, None]
    return {
        "right": (j <= i) & keys,
        "causal_future_visible": (j <= i + 1) & keys,
        "causal_diagonal_masked": (j < i) & keys,
        "causal_mask_transposed": (j >= i) & keys,
        "causal_padding_ignored": (j <= i).expand(mask.shape[0], 1, seq, seq),
        "causal_padding_on_queries": (j <= i) & queries,
    }


def attend(case: Case, additive: torch.Tensor):
    return scaled_dot_product_attention(case.query, case.key, case.value, additive)


def known_mistakes(case: Case) -> Variants:
    """Each mistake's (context, probs) on this case."""
    dtype = case.query.dtype
    patterns = allowed_patterns(mask_of(case))
    mistakes = Variants()
    for mistake, allowed in patterns.items():
        if mistake != "right":
            mistakes.append((mistake, lambda a=allowed: attend(case, to_additive(a, dtype))))
    scores = case.query @ case.key.transpose(-2, -1) / case.query.shape[-1] ** 0.5
    keep = patterns["right"].to(dtype)
    after = scores.softmax(-1) * keep
    mistakes.append(("causal_mask_after_softmax", lambda: (after @ case.value, after)))
    renormalised = after / after.sum(-1, keepdim=True).clamp_min(1e-30)
    mistakes.append(
        ("causal_mask_after_softmax", lambda: (renormalised @ case.value, renormalised))
    )
    return mistakes


def mask_of(case: Case) -> torch.Tensor:
    """The case's padding mask, all ones when it has none."""
    if case.mask is not None:
        return case.mask
    return torch.ones(case.query.shape[0], case.query.shape[2], dtype=torch.long)


def expected(case: Case):
    return attend(case, causal_padding_mask(mask_of(case), None, case.query.dtype))


def call(attention, case: Case, is_causal: bool = True):
    arguments = {"query": case.query, "key": case.key, "value": case.value,
                 "attention_mask": case.mask}  # fmt: skip
    before = {name: t.clone() for name, t in arguments.items() if t is not None}
    result = attention(case.query, case.key, case.value, case.mask, is_causal)
    for name, kept in before.items():
        if not torch.equal(arguments[name], kept):
            fail(_("causal_attention changed its argument {name} in place (e.g. query /= ... "
                   "or masked_fill_): compute into new tensors, the caller still needs "
                   "{name}").format(name=name), inputs=case.describe())  # fmt: skip
    return expect_context_and_probs(result, query=case.query, seq_k=case.query.shape[2],
                                    dtype=case.query.dtype, inputs=case.describe())  # fmt: skip


def rows_with_a_key(case: Case) -> torch.Tensor:
    """(batch, 1, seq) True where the query has at least one allowed key (compared rows)."""
    return allowed_patterns(mask_of(case))["right"].any(-1)


def compare(attention, case: Case) -> None:
    context, probs = call(attention, case)
    want_context, want_probs = expected(case)
    rows = rows_with_a_key(case)[..., None]  # (batch, 1, seq, 1): broadcast over heads, keys
    mistakes = known_mistakes(case)
    pairs = (("probs", probs, want_probs, 1), ("context", context, want_context, 0))
    for name, got, want, index in pairs:
        expect_close(
            got,
            want,
            name=name,
            inputs=case.describe(),
            atol=ATOL,
            rtol=RTOL,
            where=rows.expand_as(want),
            mistakes=Variants((m, lambda f=f, i=index: f()[i]) for m, f in mistakes),
        )


# --- checks -----------------------------------------------------------------------------------


def test_mask_shape_and_values(mask_fn):
    """causal_mask gives (batch, 1, seq, seq): 0 where allowed, finfo(dtype).min elsewhere"""
    mask = torch.tensor([[1, 1, 1, 0], [0, 0, 1, 1]])
    inputs = _("attention_mask [[1, 1, 1, 0], [0, 0, 1, 1]] (row 0 right-padded, row 1 "
               "left-padded)")  # fmt: skip
    got = expect_tensor(
        mask_fn(mask, torch.float32),
        name="mask",
        shape=(2, 1, 4, 4),
        dtype=torch.float32,
        inputs=inputs,
        shape_names="(batch, 1, seq, seq)",
    )
    if torch.isneginf(got).any():
        fail(
            _("the mask holds -inf: a query with no allowed key then softmaxes to NaN (the first "
              "query of a left-padded row); use torch.finfo(dtype).min"),
            inputs=inputs,
            diagnosis="causal_mask_negative_infinity",
        )
    blocked_value = torch.finfo(torch.float32).min
    allowed = got == 0
    if not bool(((got == 0) | (got == blocked_value)).all()):
        odd = sorted({float(v) for v in got[(got != 0) & (got != blocked_value)].tolist()})[:3]
        fail(
            _("mask values should be 0.0 (allowed) or torch.finfo(dtype).min (blocked), found "
              "{odd}").format(odd=odd),
            inputs=inputs,
        )
    patterns = allowed_patterns(mask)
    if not torch.equal(allowed, patterns["right"]):
        diagnosis = next(
            (m for m, p in patterns.items() if m != "right" and torch.equal(allowed, p)), None
        )
        row, query = next(
            (b, i)
            for b in range(2)
            for i in range(4)
            if not torch.equal(allowed[b, 0, i], patterns["right"][b, 0, i])
        )
        want_keys = patterns["right"][row, 0, query].nonzero().flatten().tolist()
        got_keys = allowed[row, 0, query].nonzero().flatten().tolist()
        fail(
            _("query {query} of batch row {row} may attend to keys {got_keys}; it should see "
              "keys {want_keys} (real keys not in its future)").format(
                query=query, row=row, got_keys=got_keys, want_keys=want_keys
            ),
            inputs=inputs,
            diagnosis=diagnosis,
        )


def test_mask_follows_the_dtype(mask_fn):
    """in float16 the blocked value is float16's own minimum (finite)"""
    mask = torch.tensor([[1, 1, 0]])
    inputs = "attention_mask [[1, 1, 0]], dtype float16"
    got = mask_fn(mask, torch.float16)
    got = expect_tensor(got, name="mask", shape=(1, 1, 3, 3), dtype=torch.float16, inputs=inputs)
    if not torch.isfinite(got).all():
        fail(
            _("the float16 mask holds -inf (a constant like -1e9 overflows float16): use "
              "torch.finfo(dtype).min"),
            inputs=inputs,
            diagnosis="causal_mask_negative_infinity",
        )


def test_returns_context_and_probs(attention):
    """causal_attention returns (context, probs) with the right shapes"""
    call(attention, fixed_case())


@given(case=cases(masked=False))
@example(case=Case(randn((1, 1, 4, 2), 0), randn((1, 1, 4, 2), 1), randn((1, 1, 4, 2), 2), None))
def test_matches_the_reference_without_padding(attention, case):
    """decoder attention matches the reference, no padding (causal mask only)"""
    compare(attention, case)


@given(case=cases(masked=True))
@example(case=fixed_case(3))
@example(case=fixed_case(3, scale=100.0))  # scores of ~1e4: a constant like -1e4 is no mask
def test_matches_the_reference_with_padding(attention, case):
    """decoder attention matches the reference with right and left padding"""
    compare(attention, case)


@given(case=cases(masked=None))
@example(case=fixed_case(4))
@example(case=Case(randn((2, 1, 3, 2), 4), randn((2, 1, 3, 2), 5), randn((2, 1, 3, 2), 6), None))
def test_encoder_attention_is_berts(attention, case):
    """is_causal=False is BERT's encoder attention: padding mask only, every real key visible"""
    context, probs = call(attention, case, is_causal=False)
    additive = additive_attention_mask(mask_of(case), case.query.dtype)
    want_context, want_probs = attend(case, additive)
    inputs = case.describe() + "; is_causal=False"
    expect_close(probs, want_probs, name="probs", inputs=inputs, atol=ATOL, rtol=RTOL)
    expect_close(context, want_context, name="context", inputs=inputs, atol=ATOL, rtol=RTOL)


def test_the_future_does_not_change_the_past(attention):
    """changing the keys and values after position t leaves the outputs up to t unchanged"""
    case = fixed_case(5)
    case = Case(case.query, case.key, case.value, torch.ones(2, 4, dtype=torch.long))
    context, _unused = call(attention, case)
    for t in range(3):
        key, value = case.key.clone(), case.value.clone()
        key[:, :, t + 1 :] = randn(key[:, :, t + 1 :].shape, 10 + t, 5.0)
        value[:, :, t + 1 :] = randn(value[:, :, t + 1 :].shape, 20 + t, 5.0)
        changed = Case(case.query, key, value, case.mask)
        context_changed, _unused = call(attention, changed)
        if not torch.allclose(context_changed[:, :, : t + 1], context[:, :, : t + 1], atol=1e-5):
            fail(
                _("changing the keys and values after position {t} changed the output at "
                  "positions 0..{t}: query {t} sees the future").format(t=t),
                inputs=_("batch=2, heads=2, seq=4, d_head=3, no padding; tokens {first}.. "
                         "changed").format(first=t + 1),
                diagnosis="causal_future_visible" if t + 1 < 4 else None,
            )


def test_rows_sum_to_one_and_nothing_is_nan(attention):
    """rows of probs sum to 1, the future and padded keys get zero weight, nothing is NaN"""
    case = fixed_case(6)  # row 1 is left-padded: its first two queries have no allowed key
    context, probs = call(attention, case)
    inputs = case.describe()
    if not (torch.isfinite(probs).all() and torch.isfinite(context).all()):
        fail(
            _("probs or context hold NaN/inf: with left padding the first queries of a row have "
              "no allowed key, and softmax over all -inf is NaN; mask with finfo(dtype).min"),
            inputs=inputs,
            diagnosis="causal_mask_negative_infinity",
        )
    rows = rows_with_a_key(case).expand(-1, probs.shape[1], -1)
    sums = probs.sum(-1)[rows]
    if (sums - 1).abs().max() > 1e-4:
        fail(
            _("rows of probs do not sum to 1 (off by up to {off:.3g})").format(
                off=float((sums - 1).abs().max())
            ),
            inputs=inputs,
            diagnosis="causal_mask_after_softmax",
        )
    blocked = ~allowed_patterns(case.mask)["right"].expand_as(probs)
    blocked &= rows[..., None].expand_as(probs)
    if probs[blocked].abs().max() > 1e-6:
        fail(
            _("blocked keys (the future or padding) get weight up to "
              "{weight:.3g}").format(weight=float(probs[blocked].abs().max())),
            inputs=inputs,
        )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_stays_half(attention, dtype):
    """float16 and bfloat16 inputs give context and probs of that dtype, close to float32 maths"""
    case = fixed_case(7)
    case = Case(case.query.to(dtype), case.key.to(dtype), case.value.to(dtype), case.mask)
    name = str(dtype).removeprefix("torch.")
    inputs = case.describe() + "; " + _("query, key and value in {name}").format(name=name)
    try:
        context, probs = call(attention, case)
    except RuntimeError as err:
        fail(_("with {name} query, key and value your code raised: {err}. Keep every tensor in "
               "the query's dtype: build the mask with causal_mask(attention_mask, "
               "query.dtype)").format(name=name, err=err), inputs=inputs)  # fmt: skip
    exact = Case(case.query.float(), case.key.float(), case.value.float(), case.mask)
    want_context, want_probs = expected(exact)
    rows = rows_with_a_key(case)[..., None]
    step = torch.finfo(dtype).eps
    for got, want in ((probs, want_probs), (context, want_context)):
        name_of = "probs" if got is probs else "context"
        expect_close(got.float(), want, name=name_of, inputs=inputs, atol=4 * step,
                     rtol=4 * step, where=rows.expand_as(want))  # fmt: skip


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_encoder_half_precision_stays_half_and_finite(attention, dtype):
    """is_causal=False in float16 and bfloat16: that dtype out, finite for a fully padded row"""
    case = fixed_case(9)
    mask = torch.tensor([[1, 1, 1, 0], [0, 0, 0, 0]])  # row 1 has no real token at all
    case = Case(case.query.to(dtype), case.key.to(dtype), case.value.to(dtype), mask)
    name = str(dtype).removeprefix("torch.")
    inputs = (case.describe() + "; " + _("query, key and value in {name}").format(name=name)
              + "; is_causal=False")  # fmt: skip
    try:
        context, probs = call(attention, case, is_causal=False)
    except RuntimeError as err:
        fail(_("with {name} query, key and value and is_causal=False your code raised: {err}. "
               "Keep every tensor in the query's dtype: build the padding mask with "
               "additive_attention_mask(attention_mask, query.dtype)").format(name=name, err=err),
             inputs=inputs)  # fmt: skip
    if not (torch.isfinite(probs).all() and torch.isfinite(context).all()):
        fail(_("probs or context hold NaN/inf with is_causal=False in {name}: a row with no real "
               "key softmaxes a row of -inf to NaN. A mask built in float32 and cast to {name} "
               "turns float32's minimum into -inf; use torch.finfo(query.dtype).min").format(
                 name=name), inputs=inputs)  # fmt: skip
    exact = Case(case.query.float(), case.key.float(), case.value.float(), mask)
    want_context, want_probs = attend(exact, additive_attention_mask(mask, torch.float32))
    rows = mask.bool().any(-1)[:, None, None, None]  # batch rows with a real key
    step = torch.finfo(dtype).eps
    for got, want, name_of in ((probs, want_probs, "probs"), (context, want_context, "context")):
        expect_close(got.float(), want, name=name_of, inputs=inputs, atol=4 * step,
                     rtol=4 * step, where=rows.expand_as(want))  # fmt: skip


def test_gradients_reach_query_key_and_value(attention):
    """the outputs stay in the autograd graph: gradients reach query, key and value"""
    case = fixed_case(8)  # no padding: every row has a key, so no gradient is NaN
    leaves = [t.clone().requires_grad_() for t in (case.query, case.key, case.value)]
    case = Case(*leaves, None)
    context, _unused = call(attention, case)
    if not context.requires_grad:
        fail(_("context is detached from query, key and value: no torch.no_grad(), .detach(), "
               ".item() or numpy in the maths, or training cannot learn through attention"),
             inputs=case.describe())  # fmt: skip
    context.sum().backward()
    for name, leaf in zip(("query", "key", "value"), leaves, strict=True):
        if leaf.grad is None or not bool(leaf.grad.abs().sum() > 0):
            fail(_("no gradient reaches {name}: is it used through differentiable "
                   "operations?").format(name=name), inputs=case.describe())  # fmt: skip
