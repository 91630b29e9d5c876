"""Checks for exercise multi_head (exercises/e05_multi_head.py)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import Variants, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import (
    bert_configs,
    final_example,
    non_contiguous,
    padding_masks,
    randn,
    randomize_parameters_,
    seeds,
)
from grader.i18n import _
from reference import BertConfig, additive_attention_mask
from reference import modeling as ref

MODULE = "e05_multi_head"
ATOL, RTOL = 1e-5, 1e-4


@pytest.fixture(scope="module")
def attention_cls(learner):
    return learner.BertSelfAttention


def small_config(hidden: int = 8, heads: int = 2, **overrides) -> BertConfig:
    values = dict(vocab_size=10, hidden_size=hidden, num_hidden_layers=1,
                  num_attention_heads=heads, intermediate_size=2 * hidden,
                  max_position_embeddings=16, attn_implementation="eager")  # fmt: skip
    return BertConfig(**{**values, **overrides})


def build(attention_cls, config: BertConfig, seed: int):
    """(yours, the reference) with the same seeded weights, both in eval mode."""
    reference = randomize_parameters_(ref.BertSelfAttention(config), seed).eval()
    mine = attention_cls(config)
    load_weights(mine, reference.state_dict(), name="BertSelfAttention")
    return mine.eval(), reference


def describe_case(config: BertConfig, x: torch.Tensor, mask: torch.Tensor | None) -> str:
    batch, seq, hidden = x.shape
    heads = config.num_attention_heads
    parts = [f"batch={batch}, seq={seq}, hidden={hidden}, heads={heads}, d_head={hidden // heads}"]
    if mask is None:
        parts.append("no attention_mask")
    else:
        padded = (mask == 0).sum(-1).tolist()
        rows = [_("{n} padded in row {row}").format(n=n, row=i) for i, n in enumerate(padded) if n]
        parts.append(", ".join(rows) if rows else _("attention_mask with no padding"))
    if not x.is_contiguous():
        parts.append("non-contiguous hidden_states")
    return "; ".join(parts)


# --- how the known mistakes compute -----------------------------------------------------------


def split_right(x: torch.Tensor, heads: int) -> torch.Tensor:
    batch, seq, hidden = x.shape
    return x.reshape(batch, seq, heads, hidden // heads).transpose(1, 2)


def split_without_transpose(x: torch.Tensor, heads: int) -> torch.Tensor:
    batch, seq, hidden = x.shape
    return x.reshape(batch, heads, seq, hidden // heads)


def merge_right(x: torch.Tensor) -> torch.Tensor:
    batch, heads, seq, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, seq, heads * d_head)


def merge_without_transpose(x: torch.Tensor) -> torch.Tensor:
    batch, heads, seq, d_head = x.shape
    return x.reshape(batch, seq, heads * d_head)


def attention_model(
    reference,
    x,
    mask,
    *,
    split=split_right,
    merge=merge_right,
    scale_width=None,
    query="query",
    key="key",
    use_mask=True,
):
    """Multi-head attention with the reference's weights, each piece replaceable."""
    heads = reference.num_attention_heads
    q = split(getattr(reference, query)(x), heads)
    k = split(getattr(reference, key)(x), heads)
    v = split(reference.value(x), heads)
    scores = q @ k.transpose(-2, -1) / math.sqrt(scale_width or q.size(-1))
    if use_mask and mask is not None:
        scores = scores + additive_attention_mask(mask, scores.dtype)
    return merge(scores.softmax(-1) @ v)


def known_mistakes(reference, x, mask) -> Variants:
    def model(**wrong):
        return lambda: attention_model(reference, x, mask, **wrong)

    mistakes = Variants(
        [
            ("mha_split_without_transpose", model(split=split_without_transpose)),
            # split and merge both by bare reshapes: consistent with each other, still wrong
            (
                "mha_split_without_transpose",
                model(split=split_without_transpose, merge=merge_without_transpose),
            ),
            ("mha_merge_without_transpose", model(merge=merge_without_transpose)),
            ("mha_scaled_by_sqrt_hidden", model(scale_width=x.size(-1))),
            ("mha_query_key_swapped", model(query="key", key="query")),
            ("mha_value_used_as_key", model(key="value")),
        ]
    )
    if mask is not None and not bool(mask.all()):  # without padding it changes nothing
        mistakes.append(("mha_mask_not_passed", model(use_mask=False)))
    return mistakes


def dropout_models(reference, x, mask, seed: int) -> Variants:
    """The reference's attention in train mode with its dropout on the context instead of the
    probabilities (on the heads' context, or on the merged one), under ``seed``."""

    def context():
        heads = reference.num_attention_heads
        q, k, v = (split_right(layer(x), heads)
                   for layer in (reference.query, reference.key, reference.value))  # fmt: skip
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
        if mask is not None:
            scores = scores + additive_attention_mask(mask, scores.dtype)
        return scores.softmax(-1) @ v

    def on_heads():
        torch.manual_seed(seed)
        return merge_right(reference.dropout(context()))

    def on_merged():
        torch.manual_seed(seed)
        return reference.dropout(merge_right(context()))

    return Variants([("mha_dropout_on_context", on_heads), ("mha_dropout_on_context", on_merged)])


# --- inputs -----------------------------------------------------------------------------------


@st.composite
def cases(draw, *, masked: bool):
    config = draw(bert_configs(min_hidden=1))
    batch, seq, seed = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(seeds)
    x = randn((batch, seq, config.hidden_size), seed + 1)
    if not draw(st.booleans()):
        x = non_contiguous(x)
    mask = draw(padding_masks(batch, seq, allow_fully_padded=False)) if masked else None
    return config, seed, x, mask


def compare(attention_cls, config, seed, x, mask) -> None:
    mine, reference = build(attention_cls, config, seed)
    inputs = describe_case(config, x, mask)
    with torch.no_grad():
        got = mine(x, mask)
        want = reference(x, None if mask is None else additive_attention_mask(mask, x.dtype))
    expect_tensor(got, name="context", shape=tuple(x.shape), inputs=inputs,
                  shape_names="(batch, seq, hidden)")  # fmt: skip
    expect_close(
        got,
        want,
        name="context",
        inputs=inputs,
        atol=ATOL,
        rtol=RTOL,
        mistakes=known_mistakes(reference, x, mask) if final_example() else None,
    )


# --- checks -----------------------------------------------------------------------------------


def test_split_heads_gives_each_head_its_slice_of_features(attention_cls):
    """split_heads gives (batch, heads, seq, d_head), head h = a d_head slice of every position

    Head h holds features h*d_head .. (h+1)*d_head - 1 of every position, positions in order.
    """
    module = attention_cls(small_config(hidden=8, heads=2))
    x = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)
    inputs = "x = arange(48).view(batch=2, seq=3, hidden=8); heads=2, d_head=4"
    got = expect_tensor(module.split_heads(x), name="split_heads(x)", shape=(2, 2, 3, 4),
                        inputs=inputs, shape_names="(batch, heads, seq, d_head)")  # fmt: skip
    expect_close(
        got,
        split_right(x, 2),
        name="split_heads(x)",
        inputs=inputs,
        atol=0.0,
        rtol=0.0,
        mistakes={"mha_split_without_transpose": lambda: split_without_transpose(x, 2)},
    )


def merge(module, x: torch.Tensor, inputs: str) -> torch.Tensor:
    try:
        return module.merge_heads(x)
    except RuntimeError as err:
        if "view" not in str(err):
            raise
        fail(
            _("merge_heads raised RuntimeError from .view(): after transpose(1, 2) the tensor "
              "is no longer contiguous in memory; use .reshape(...) or .contiguous().view(...)"),
            inputs=inputs,
        )


def test_merge_heads_is_the_inverse_of_split_heads(attention_cls):
    """merge_heads gives (batch, seq, hidden) and undoes split_heads, on any memory layout"""
    module = attention_cls(small_config(hidden=8, heads=2))
    y = torch.arange(2 * 2 * 3 * 4, dtype=torch.float32).view(2, 2, 3, 4)
    for x, inputs in (
        (y, "x = arange(48).view(batch=2, heads=2, seq=3, d_head=4)"),
        (non_contiguous(y), "x = arange(48).view(batch=2, heads=2, seq=3, d_head=4), "
                            "non-contiguous"),
    ):  # fmt: skip
        got = expect_tensor(merge(module, x, inputs), name="merge_heads(x)", shape=(2, 3, 8),
                            inputs=inputs, shape_names="(batch, seq, hidden)")  # fmt: skip
        expect_close(
            got,
            merge_right(x),
            name="merge_heads(x)",
            inputs=inputs,
            atol=0.0,
            rtol=0.0,
            mistakes={"mha_merge_without_transpose": lambda x=x: merge_without_transpose(x)},
        )
    x = randn((2, 3, 8), 0)
    inputs = _("x of shape (batch=2, seq=3, hidden=8), heads=2")
    expect_close(
        merge(module, module.split_heads(x), inputs),
        x,
        name="merge_heads(split_heads(x))",
        inputs=inputs,
        atol=0.0,
        rtol=0.0,
    )


def test_forward_returns_the_context_of_shape_batch_seq_hidden(attention_cls):
    """forward returns one tensor (batch, seq, hidden), no mask and with a mask"""
    config = small_config()
    mine, _ = build(attention_cls, config, 0)
    x = randn((2, 3, 8), 1)
    for mask in (None, torch.tensor([[1, 1, 1], [1, 1, 0]])):
        with torch.no_grad():
            got = mine(x, mask)
        expect_tensor(got, name="context", shape=(2, 3, 8), dtype=torch.float32,
                      inputs=describe_case(config, x, mask),
                      shape_names="(batch, seq, hidden)")  # fmt: skip


@given(case=cases(masked=False))
def test_matches_the_reference_without_a_mask(attention_cls, case):
    """output matches the reference BertSelfAttention, no mask (eval mode, same weights)"""
    compare(attention_cls, *case)


@given(case=cases(masked=True))
def test_matches_the_reference_with_padding(attention_cls, case):
    """output matches the reference BertSelfAttention with padded positions"""
    compare(attention_cls, *case)


def test_padding_does_not_change_real_tokens(attention_cls):
    """whatever sits at padded positions, the outputs at real positions do not change"""
    config = small_config(hidden=12, heads=3)
    mine, _unused = build(attention_cls, config, 3)
    x = randn((2, 6, 12), 4)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    noisy = x.clone()
    noisy[1, 4:] = randn((2, 12), 5, 10.0)
    with torch.no_grad():
        clean_out, noisy_out = mine(x, mask), mine(noisy, mask)
    real = mask.bool()
    changed = _("the padded positions' hidden_states changed")
    inputs = f"{describe_case(config, x, mask)}; {changed}"
    expect_tensor(noisy_out, name="context", shape=(2, 6, 12), inputs=inputs)
    change = float((noisy_out - clean_out)[real].abs().max())
    if change > 1e-5:
        fail(
            _("changing the hidden states at padded positions changed the output at real "
              "positions (by up to {change:.3g}): padded keys still get attention weight").format(
                change=change
            ),
            inputs=inputs,
            diagnosis="mha_mask_not_passed",
        )


def test_fully_padded_row_stays_finite(attention_cls):
    """a batch row with no real token gives finite numbers (no NaN)"""
    mine, _unused = build(attention_cls, small_config(), 6)
    x, mask = randn((2, 4, 8), 7), torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0]])
    with torch.no_grad():
        got = mine(x, mask)
    got = expect_tensor(got, name="context", shape=(2, 4, 8), inputs=_("row 1 fully padded"))
    if not torch.isfinite(got).all():
        fail(
            _("a fully padded row gives NaN or inf: the additive mask must be a large finite "
              "negative number (check your e03/e04), never -inf"),
            inputs=_("batch=2, seq=4, hidden=8, heads=2; row 1 fully padded"),
        )


def test_dropout_acts_on_the_attention_probabilities(attention_cls):
    """in train mode dropout acts on the attention probabilities, with the reference's masks"""
    config = small_config(hidden=12, heads=3, attention_probs_dropout_prob=0.3)
    mine, reference = build(attention_cls, config, 8)
    x, mask = randn((2, 5, 12), 9), torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    inputs = describe_case(config, x, mask) + "; " + _(
        "attention_probs_dropout_prob=0.3; train mode, torch.manual_seed(11)"
    )
    with torch.no_grad():
        evaluated = mine(x, mask)
        mine.train()
        reference.train()
        torch.manual_seed(11)
        got = expect_tensor(mine(x, mask), name="context", shape=(2, 5, 12), inputs=inputs)
        torch.manual_seed(11)
        want = reference(x, additive_attention_mask(mask, x.dtype))
        if torch.allclose(got, evaluated):
            fail(_("in train mode the output equals eval mode's: apply self.dropout to the "
                   "attention probabilities when self.training"), inputs=inputs)  # fmt: skip
        expect_close(got, want, name="context (train mode)", inputs=inputs, atol=ATOL,
                     rtol=RTOL, mistakes=dropout_models(reference, x, mask, 11))  # fmt: skip


def test_gradients_match_the_reference(attention_cls):
    """gradients reach hidden_states and the query, key and value weights, as the reference's"""
    config = small_config(hidden=12, heads=3)
    mine, reference = build(attention_cls, config, 10)
    x, mask = randn((2, 5, 12), 11), torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    loss_weights = randn((2, 5, 12), 12)
    inputs = describe_case(config, x, mask) + "; " + _(
        "loss = sum(context * fixed random weights)"
    )
    grads = []
    for model, model_mask in ((mine, mask), (reference, additive_attention_mask(mask, x.dtype))):
        leaf = x.clone().requires_grad_()
        out = model(leaf, model_mask)
        if model is mine:
            out = expect_tensor(out, name="context", shape=(2, 5, 12), inputs=inputs)
            if not out.requires_grad:
                fail(_("the output is detached: no torch.no_grad(), .detach(), .item() or "
                       "numpy in forward, or the attention cannot be trained"),
                     inputs=inputs)  # fmt: skip
        (out * loss_weights).sum().backward()
        grads.append({"hidden_states": leaf.grad} | {
            f"{name}.weight": getattr(model, name).weight.grad
            for name in ("query", "key", "value")
        })  # fmt: skip
    for name, want in grads[1].items():
        got = grads[0][name]
        if got is None:
            fail(_("no gradient reaches {name}").format(name=name), inputs=inputs)
        expect_close(got, want, name=f"{name}.grad", inputs=inputs, atol=ATOL, rtol=RTOL)
