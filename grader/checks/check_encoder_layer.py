"""Checks for exercise encoder_layer (exercises/e07_encoder_layer.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import Variants, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import (
    bert_configs,
    describe_config,
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

MODULE = "e07_encoder_layer"
ATOL, RTOL = 1e-5, 1e-4
FIELDS = ("hidden", "heads", "intermediate", "eps")  # what one layer depends on


@pytest.fixture(scope="module")
def layer_cls(learner):
    return learner.BertLayer


def small_config(**overrides) -> BertConfig:
    values = dict(vocab_size=10, hidden_size=12, num_hidden_layers=1, num_attention_heads=3,
                  intermediate_size=20, max_position_embeddings=16,
                  attn_implementation="eager")  # fmt: skip
    return BertConfig(**{**values, **overrides})


def build(layer_cls, config: BertConfig, seed: int):
    """(yours, the reference) with the same seeded weights, both in eval mode."""
    reference = randomize_parameters_(ref.BertLayer(config), seed).eval()
    mine = layer_cls(config)
    load_weights(mine, reference.state_dict(), name="BertLayer")
    return mine.eval(), reference


def describe_case(config: BertConfig, x: torch.Tensor, mask: torch.Tensor | None) -> str:
    batch, seq, _unused = x.shape
    parts = [describe_config(config, *FIELDS), f"batch={batch}, seq={seq}"]
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


def layer_model(
    reference,
    x,
    mask,
    *,
    pre_ln=False,
    attention_residual=True,
    ffn_residual=True,
    residual_after_norm=False,
    ffn_residual_from_input=False,
    activation=F.gelu,
    use_mask=True,
):
    """One BERT layer with the reference's weights, wired right or in a known wrong way."""
    additive = additive_attention_mask(mask, x.dtype) if use_mask and mask is not None else None
    attention, output = reference.attention, reference.output
    norm1, norm2 = attention.output.LayerNorm, output.LayerNorm
    update = attention.output.dense(attention.self(norm1(x) if pre_ln else x, additive))
    if pre_ln:
        h = x + update
    elif residual_after_norm:
        h = norm1(update) + x
    else:
        h = norm1(x + update) if attention_residual else norm1(update)
    update = output.dense(activation(reference.intermediate.dense(norm2(h) if pre_ln else h)))
    residual = x if ffn_residual_from_input else h
    if pre_ln:
        return residual + update
    if residual_after_norm:
        return norm2(update) + residual
    return norm2(residual + update) if ffn_residual else norm2(update)


def known_mistakes(reference, x, mask) -> Variants:
    def model(**wrong):
        return lambda: layer_model(reference, x, mask, **wrong)

    mistakes = Variants(
        [
            ("layer_pre_ln", model(pre_ln=True)),
            ("layer_missing_residual", model(attention_residual=False, ffn_residual=False)),
            ("layer_missing_residual", model(attention_residual=False)),
            ("layer_missing_residual", model(ffn_residual=False)),
            ("layer_residual_after_norm", model(residual_after_norm=True)),
            ("layer_ffn_residual_from_input", model(ffn_residual_from_input=True)),
            ("layer_relu_not_gelu", model(activation=F.relu)),
        ]
    )
    if mask is not None:
        mistakes.append(("layer_mask_not_passed", model(use_mask=False)))
    return mistakes


# --- inputs -----------------------------------------------------------------------------------


@st.composite
def cases(draw, *, masked: bool):
    config = draw(bert_configs())
    batch, seq, seed = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(seeds)
    x = randn((batch, seq, config.hidden_size), seed + 1)
    if not draw(st.booleans()):
        x = non_contiguous(x)
    mask = draw(padding_masks(batch, seq, allow_fully_padded=False)) if masked else None
    return config, seed, x, mask


def compare(layer_cls, config, seed, x, mask) -> None:
    mine, reference = build(layer_cls, config, seed)
    inputs = describe_case(config, x, mask)
    with torch.no_grad():
        got = mine(x, mask)
        want = reference(x, None if mask is None else additive_attention_mask(mask, x.dtype))
    expect_tensor(got, name="output", shape=tuple(x.shape), inputs=inputs,
                  shape_names="(batch, seq, hidden)")  # fmt: skip
    mistakes = known_mistakes(reference, x, mask) if final_example() else None
    expect_close(got, want, name="output", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip


# --- checks -----------------------------------------------------------------------------------


def test_loads_reference_weights_and_returns_batch_seq_hidden(layer_cls):
    """loads a reference BertLayer's state dict as it is; forward returns (batch, seq, hidden)"""
    config = small_config()
    mine, _ = build(layer_cls, config, 0)
    x = randn((2, 5, 12), 1)
    for mask in (None, torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])):
        with torch.no_grad():
            got = mine(x, mask)
        expect_tensor(got, name="output", shape=(2, 5, 12), dtype=torch.float32,
                      inputs=describe_case(config, x, mask),
                      shape_names="(batch, seq, hidden)")  # fmt: skip


@given(case=cases(masked=False))
def test_matches_the_reference_without_a_mask(layer_cls, case):
    """output matches the reference BertLayer, no mask (eval mode, same weights)"""
    compare(layer_cls, *case)


@given(case=cases(masked=True))
def test_matches_the_reference_with_padding(layer_cls, case):
    """output matches the reference BertLayer with padded positions"""
    compare(layer_cls, *case)


def test_padding_does_not_change_real_tokens(layer_cls):
    """whatever sits at padded positions, the outputs at real positions do not change"""
    config = small_config()
    mine, _unused = build(layer_cls, config, 2)
    x = randn((2, 6, 12), 3)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    noisy = x.clone()
    noisy[1, 3:] = randn((3, 12), 4, 10.0)
    with torch.no_grad():
        clean_out, noisy_out = mine(x, mask), mine(noisy, mask)
    changed = _("the padded positions' hidden_states changed")
    inputs = f"{describe_case(config, x, mask)}; {changed}"
    expect_tensor(noisy_out, name="output", shape=(2, 6, 12), inputs=inputs)
    change = float((noisy_out - clean_out)[mask.bool()].abs().max())
    if change > 1e-5:
        fail(
            _("changing the hidden states at padded positions changed the output at real "
              "positions (by up to {change:.3g}): padded keys still get attention weight").format(
                change=change
            ),
            inputs=inputs,
            diagnosis="layer_mask_not_passed",
        )


def test_output_is_a_layer_norm_output(layer_cls):
    """post-LN: with LayerNorm weight 1 and bias 0, every output vector has mean 0, variance 1"""
    config = small_config()
    mine, _unused = build(layer_cls, config, 5)
    with torch.no_grad():
        for norm in (mine.attention.output.LayerNorm, mine.output.LayerNorm):
            norm.weight.fill_(1.0)
            norm.bias.zero_()
        got = mine(randn((2, 4, 12), 6, 3.0, 1.0))
    inputs = describe_config(config, *FIELDS) + "; batch=2, seq=4; LayerNorm weight 1, bias 0"
    got = expect_tensor(got, name="output", shape=(2, 4, 12), inputs=inputs)
    mean, var = got.mean(-1), got.var(-1, unbiased=False)
    if mean.abs().max() > 1e-4 or (var - 1).abs().max() > 1e-3:
        fail(
            _("the layer's output is not normalised (per-vector means up to {mean:.3g}, "
              "variances {var_min:.3g}..{var_max:.3g}): in BERT each sub-layer ends with "
              "LayerNorm(residual + sub-layer), so the layer's last operation is a "
              "LayerNorm").format(mean=float(mean.abs().max()), var_min=float(var.min()),
                                  var_max=float(var.max())),
            inputs=inputs,
        )
