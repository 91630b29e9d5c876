"""Checks for exercise alibi (exercises/e24_alibi.py).

Slopes, bias and attention against ``reference/variants/alibi.py`` (whose slopes equal
transformers' BLOOM ``_get_alibi_slopes`` for every head count, tested in tests/); then what
makes ALiBi extrapolate, as properties: the bias depends on the distance only (so it extends
to any length), attention with equal content scores decays geometrically with distance, and
at a length far beyond any short training length the steep heads ignore distant tokens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import (
    Variants,
    describe,
    expect_close,
    expect_context_and_probs,
    expect_tensor,
    fail,
)
from grader.checks.strategies import SCALES, non_contiguous, padding_masks, randn, seeds
from grader.i18n import _
from reference import scaled_dot_product_attention
from reference.variants.alibi import alibi_bias as reference_bias
from reference.variants.alibi import alibi_slopes as reference_slopes
from reference.variants.masks import causal_padding_mask

MODULE = "e24_alibi"
ATOL, RTOL = 1e-5, 1e-5


@pytest.fixture(scope="module")
def alibi(learner):
    return learner


# --- the known mistakes -----------------------------------------------------------------------


def geometric(n: int) -> torch.Tensor:
    start = 2.0 ** (-8.0 / n)
    return torch.tensor([start ** (i + 1) for i in range(n)], dtype=torch.float32)


def wrong_slopes(n: int) -> Variants:
    closest = 2 ** math.floor(math.log2(n))
    mistakes = Variants(
        [
            ("alibi_slopes_off_by_one", lambda: 2.0 ** (-8.0 * torch.arange(n) / n)),
            ("alibi_slopes_reversed", lambda: reference_slopes(n).flip(0)),
        ]
    )
    if closest != n:  # the power-of-two formula, or the wrong extra slopes, for other counts
        extra = geometric(2 * closest)
        mistakes.append(("alibi_slopes_non_power_of_two", lambda: geometric(n)))
        mistakes.append(
            (
                "alibi_slopes_non_power_of_two",
                lambda: torch.cat((geometric(closest), extra[: n - closest])),
            )
        )
        mistakes.append(
            (
                "alibi_slopes_non_power_of_two",
                lambda: torch.cat((geometric(closest), extra[1::2][: n - closest])),
            )
        )
    return mistakes


def bias_from(slopes: torch.Tensor, q_len: int, kv_len: int) -> torch.Tensor:
    distance = torch.arange(kv_len - q_len, kv_len)[:, None] - torch.arange(kv_len)[None, :]
    return -slopes[:, None, None] * distance


def wrong_biases(n: int, q_len: int, kv_len: int) -> Variants:
    mistakes = Variants(
        [("alibi_bias_rewards_distance", lambda: -reference_bias(q_len, kv_len, n))]
    )
    for mistake, slopes in wrong_slopes(n):
        mistakes.append((mistake, lambda s=slopes: bias_from(s(), q_len, kv_len)))
    return mistakes


# --- inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    query: torch.Tensor
    key: torch.Tensor
    value: torch.Tensor
    mask: torch.Tensor | None

    def describe(self) -> str:
        b, h, s, d = self.query.shape
        parts = [describe(batch=b, heads=h, seq=s, d_head=d)]
        if self.mask is None:
            parts.append(_("no attention_mask"))
        else:
            rows = []
            for row, values in enumerate(self.mask.tolist()):
                n = values.count(0)
                if n:
                    left = values[:n] == [0] * n
                    rows.append((_("row {row} left-padded by {n}") if left
                                 else _("row {row} right-padded by {n}")).format(row=row, n=n))
            parts.append(", ".join(rows) or _("attention_mask with no padding"))
        if not self.query.is_contiguous():
            parts.append(_("non-contiguous inputs"))
        return "; ".join(parts)


@st.composite
def cases(draw) -> Case:
    batch, heads = draw(st.integers(1, 2)), draw(st.integers(1, 12))
    seq, d_head, seed = draw(st.integers(1, 8)), draw(st.integers(1, 8)), draw(seeds)
    scale = draw(st.sampled_from(SCALES[:2]))  # large scores would hide the bias
    shape = (batch, heads, seq, d_head)
    q, k, v = randn(shape, seed, scale), randn(shape, seed + 1, scale), randn(shape, seed + 2)
    if not draw(st.booleans()):
        q, k, v = non_contiguous(q), non_contiguous(k), non_contiguous(v)
    mask = None
    if draw(st.booleans()):
        mask = draw(padding_masks(batch, seq, allow_fully_padded=False))
        lengths = mask.sum(-1)
        mask = (torch.arange(seq)[None] < lengths[:, None]).long()  # right padding ...
        if draw(st.booleans()):
            mask = mask.flip(-1)  # ... or left padding, as for generation
    return Case(q, k, v, mask)


def fixed_case(heads: int = 12, seed: int = 0) -> Case:
    shape = (2, heads, 5, 4)
    mask = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])
    return Case(randn(shape, seed), randn(shape, seed + 1), randn(shape, seed + 2), mask)


def mask_of(case: Case) -> torch.Tensor:
    if case.mask is not None:
        return case.mask
    return torch.ones(case.query.shape[0], case.query.shape[2], dtype=torch.long)


def reference_attention(case: Case, bias: torch.Tensor | None = None, scale_bias: bool = False):
    q, k, v = case.query, case.key, case.value
    heads, seq, d_head = q.shape[1], q.shape[2], q.shape[3]
    bias = reference_bias(seq, seq, heads) if bias is None else bias
    mask = causal_padding_mask(mask_of(case), None, q.dtype)
    if scale_bias:  # (q·k + bias) / sqrt(d): fold the scaling into the bias, same maths
        bias = bias / math.sqrt(d_head)
    return scaled_dot_product_attention(q, k, v, bias[None] + mask)


def call_attention(alibi, case: Case):
    arguments = {"query": case.query, "key": case.key, "value": case.value,
                 "attention_mask": case.mask}  # fmt: skip
    before = {name: t.clone() for name, t in arguments.items() if t is not None}
    result = alibi.alibi_attention(case.query, case.key, case.value, case.mask)
    for name, kept in before.items():
        if not torch.equal(arguments[name], kept):
            fail(_("alibi_attention changed its argument {name} in place: compute into new "
                   "tensors, the caller still needs {name}").format(name=name),
                 inputs=case.describe())  # fmt: skip
    return expect_context_and_probs(result, query=case.query, seq_k=case.query.shape[2],
                                    dtype=case.query.dtype, inputs=case.describe())  # fmt: skip


# --- checks -----------------------------------------------------------------------------------


@given(num_heads=st.integers(1, 40))
@example(num_heads=8)
@example(num_heads=12)
@example(num_heads=6)
def test_slopes(alibi, num_heads):
    """alibi_slopes: 2^(-8/n) geometric for n a power of two, the paper's rule otherwise"""
    inputs = f"num_heads={num_heads}"
    got = expect_tensor(
        alibi.alibi_slopes(num_heads),
        name="slopes",
        shape=(num_heads,),
        dtype=torch.float32,
        inputs=inputs,
        shape_names="(num_heads,)",
    )
    expect_close(
        got,
        reference_slopes(num_heads),
        name="slopes",
        inputs=inputs,
        atol=ATOL,
        rtol=RTOL,
        mistakes=wrong_slopes(num_heads),
    )


@given(num_heads=st.integers(1, 12), q_len=st.integers(1, 6), extra=st.integers(0, 4))
@example(num_heads=8, q_len=4, extra=0)
@example(num_heads=4, q_len=1, extra=5)
def test_bias(alibi, num_heads, q_len, extra):
    """alibi_bias: (heads, q_len, kv_len), -m·(i - j) with the queries the last positions"""
    kv_len = q_len + extra
    inputs = f"num_heads={num_heads}, q_len={q_len}, kv_len={kv_len}"
    got = expect_tensor(
        alibi.alibi_bias(num_heads, q_len, kv_len),
        name="bias",
        shape=(num_heads, q_len, kv_len),
        dtype=torch.float32,
        inputs=inputs,
        shape_names="(num_heads, q_len, kv_len)",
    )
    mistakes = wrong_biases(num_heads, q_len, kv_len)
    if extra:  # the queries taken as the first q_len positions
        mistakes.append(
            ("alibi_bias_rewards_distance", lambda: -reference_bias(q_len, q_len, num_heads))
        )
    want = reference_bias(q_len, kv_len, num_heads)
    past = (want <= 0).expand_as(want)  # keys at or before the query: j <= i
    close = (got.detach().double() - want.double()).abs() <= ATOL + RTOL * want.double().abs()
    if bool(close[past].all()) and not bool(close.all()):
        fail(_("the bias is right for keys at or before the query but not after it (j > i): "
               "-m·(i - j) is a straight line in i - j, positive for future keys. Causal "
               "attention masks them, but the bias is not |i - j| or clamped at 0"),
             inputs=inputs)  # fmt: skip
    expect_close(
        got,
        want,
        name="bias",
        inputs=inputs,
        atol=ATOL,
        rtol=RTOL,
        mistakes=mistakes,
    )


@given(case=cases())
@example(case=fixed_case())
@example(case=fixed_case(heads=4, seed=5))
def test_attention_matches_the_reference(alibi, case):
    """alibi_attention: causal attention + ALiBi bias (after the scaling) matches the reference"""
    context, probs = call_attention(alibi, case)
    want_context, want_probs = reference_attention(case)
    heads, seq = case.query.shape[1], case.query.shape[2]
    mistakes = Variants(
        [
            (
                "alibi_bias_rewards_distance",
                lambda: reference_attention(case, -reference_bias(seq, seq, heads)),
            ),
            ("alibi_bias_scaled_with_scores", lambda: reference_attention(case, scale_bias=True)),
        ]
    )
    for mistake, slopes in wrong_slopes(heads):
        mistakes.append(
            (mistake, lambda s=slopes: reference_attention(case, bias_from(s(), seq, seq)))
        )
    rows = causal_padding_mask(mask_of(case), None).eq(0).any(-1)[..., None]  # rows with a key
    # index: where each output sits in (context, probs), as the mistake models return them
    for name, got, want, index in (("probs", probs, want_probs, 1),
                                   ("context", context, want_context, 0)):  # fmt: skip
        expect_close(
            got,
            want,
            name=name,
            inputs=case.describe(),
            atol=ATOL,
            rtol=1e-4,
            where=rows.expand_as(want),
            mistakes=Variants((m, lambda f=f, i=index: f()[i]) for m, f in mistakes),
        )


def test_bias_depends_only_on_the_distance(alibi):
    """the bias of a pair depends on i - j only, so it extends to any length (no table)"""
    long = expect_tensor(
        alibi.alibi_bias(8, 32), name="bias", shape=(8, 32, 32), inputs="num_heads=8, q_len=32"
    )
    short = expect_tensor(
        alibi.alibi_bias(8, 5), name="bias", shape=(8, 5, 5), inputs="num_heads=8, q_len=5"
    )
    last = expect_tensor(
        alibi.alibi_bias(8, 1, 32),
        name="bias",
        shape=(8, 1, 32),
        inputs="num_heads=8, q_len=1, kv_len=32",
    )
    if not torch.allclose(long[:, 1:, 1:], long[:, :-1, :-1]):
        fail(
            _("bias[h, i, j] should equal bias[h, i + 1, j + 1]: it may depend on i - j only"),
            inputs="num_heads=8, q_len=32",
        )
    if not torch.allclose(long[:, :5, :5], short):
        fail(
            _("the bias for 5 tokens should be the top-left block of the bias for 32 tokens"),
            inputs="num_heads=8, q_len=5 and q_len=32",
        )
    if not torch.allclose(long[:, -1:], last):
        fail(
            _("one query over 32 keys (decoding with a cache) should get the last row of the "
              "32 x 32 bias: the query is the last position"),
            inputs="num_heads=8, q_len=1, kv_len=32",
        )


def test_equal_scores_decay_geometrically_with_distance(alibi):
    """with zero queries each head's weights fall by a constant factor per token back"""
    heads, seq = 4, 6
    zeros = torch.zeros(1, heads, seq, 2)
    case = Case(zeros, randn((1, heads, seq, 2), 1), randn((1, heads, seq, 2), 2), None)
    _unused, probs = call_attention(alibi, case)
    last = probs[0, :, -1]  # (heads, seq): the last query over all keys
    ratios = last[:, 1:] / last[:, :-1]  # weight of key j + 1 over key j (one token closer)
    inputs = _("batch=1, heads=4, seq=6; all queries zero, so only the bias shapes the weights")
    if not torch.allclose(ratios, ratios[:, :1].expand_as(ratios), rtol=1e-4):
        fail(
            _("with equal content scores the weights should be geometric in the distance "
              "(constant ratio per head); got ratios {ratios} for head 0").format(
                ratios=ratios[0].tolist()
            ),
            inputs=inputs,
        )
    if bool((ratios < 1).any()):
        fail(
            _("with equal content scores, keys further back get *more* weight: the bias must "
              "penalise distance (-m · (i - j))"),
            inputs=inputs,
            diagnosis="alibi_bias_rewards_distance",
        )
    slopes = ratios[:, 0].log()  # exp(m) per token
    if not bool((slopes[:-1] > slopes[1:]).all()):
        fail(
            _("head 0 should forget fastest and the last head slowest; per-token decay rates "
              "{slopes}").format(slopes=slopes.tolist()),
            inputs=inputs,
        )


def test_steep_heads_ignore_tokens_far_beyond_a_short_context(alibi):
    """at 64 tokens, tokens over 40 back leave the steepest head's output unchanged"""
    heads, seq, d_head = 8, 64, 4
    q, k = randn((1, heads, seq, d_head), 3, 0.1), randn((1, heads, seq, d_head), 4, 0.1)
    v = randn((1, heads, seq, d_head), 5)
    context, _unused = call_attention(alibi, Case(q, k, v, None))
    far_k, far_v = k.clone(), v.clone()
    far_k[:, :, :23] = randn((1, heads, 23, d_head), 6, 0.1)
    far_v[:, :, :23] = randn((1, heads, 23, d_head), 7, 5.0)
    changed, _unused = call_attention(alibi, Case(q, far_k, far_v, None))
    change = (changed - context)[0, :, -1].abs().amax(-1)  # per head, at the last position
    inputs = (
        _("batch=1, heads=8 (slopes 1/2 .. 1/256), seq=64, small queries and keys; keys "
          "and values of tokens 0..22 (41 or more back from the last) changed")
    )
    if change[0] > 1e-5:
        fail(
            _("the steepest head's (slope 1/2) last output changed by {change:.3g} when only "
              "tokens 41 or more back changed: their weight should be about e^-20").format(
                change=float(change[0])
            ),
            inputs=inputs,
        )
    if change[-1] < 1e-3:
        fail(
            _("the gentlest head (slope 1/256) should still see tokens 41 back, but its output "
              "did not change"),
            inputs=inputs,
        )


def test_left_padding_gives_finite_numbers(alibi):
    """a left-padded row's first queries have no key to attend to: still no NaN or inf"""
    case = fixed_case(heads=4, seed=6)  # row 1 left-padded by 2
    context, probs = call_attention(alibi, case)
    if not (torch.isfinite(probs).all() and torch.isfinite(context).all()):
        fail(_("probs or context hold NaN/inf: the first queries of a left-padded row have no "
               "allowed key, and a softmax over a row of -inf is NaN, which spreads through "
               "every later layer; block keys with torch.finfo(dtype).min (your causal_mask "
               "from e21)"), inputs=case.describe())  # fmt: skip


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_stays_half_and_finite(alibi, dtype):
    """float16 and bfloat16 in: finite context and probs of that dtype, close to float32 maths"""
    case = fixed_case(heads=4, seed=8)  # row 1 left-padded by 2: its first queries see no key
    name = str(dtype).removeprefix("torch.")
    half = Case(case.query.to(dtype), case.key.to(dtype), case.value.to(dtype), case.mask)
    inputs = case.describe() + "; " + _("query, key and value in {name}").format(name=name)
    try:
        context, probs = call_attention(alibi, half)
    except RuntimeError as err:
        fail(_("with {name} query, key and value your code raised: {err}. Keep every tensor in "
               "the query's dtype: the bias .to(scores.dtype), the mask causal_mask("
               "attention_mask, scores.dtype)").format(name=name, err=err),
             inputs=inputs)  # fmt: skip
    if not (torch.isfinite(probs).all() and torch.isfinite(context).all()):
        fail(_("probs or context hold NaN/inf in {name}: the first queries of a left-padded row "
               "have no allowed key. A mask built in float32 and cast to {name} turns float32's "
               "minimum into -inf; build it in the scores' dtype, "
               "causal_mask(attention_mask, scores.dtype)").format(name=name),
             inputs=inputs)  # fmt: skip
    exact = Case(half.query.float(), half.key.float(), half.value.float(), case.mask)
    want_context, want_probs = reference_attention(exact)
    rows = causal_padding_mask(case.mask, None).eq(0).any(-1)[..., None]  # rows with a key
    step = torch.finfo(dtype).eps
    for got, want, what in ((probs, want_probs, "probs"), (context, want_context, "context")):
        expect_close(got.float(), want, name=what, inputs=inputs, atol=8 * step, rtol=8 * step,
                     where=rows.expand_as(want))  # fmt: skip


def test_gradients_reach_query_key_and_value(alibi):
    """the outputs stay in the autograd graph: gradients reach query, key and value"""
    case = fixed_case(heads=4, seed=7)
    leaves = [t.clone().requires_grad_() for t in (case.query, case.key, case.value)]
    case = Case(*leaves, None)
    context, _unused = call_attention(alibi, case)
    if not context.requires_grad:
        fail(_("context is detached from query, key and value: no torch.no_grad(), .detach(), "
               ".item() or numpy in the maths, or training cannot learn through attention"),
             inputs=case.describe())  # fmt: skip
    context.sum().backward()
    for name, leaf in zip(("query", "key", "value"), leaves, strict=True):
        if leaf.grad is None or not bool(leaf.grad.abs().sum() > 0):
            fail(_("no gradient reaches {name}: is it used through differentiable "
                   "operations?").format(name=name), inputs=case.describe())  # fmt: skip
