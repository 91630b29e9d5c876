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
    if mask is not None and not bool(mask.all()):  # without padding it changes nothing
        mistakes.append(("layer_mask_not_passed", model(use_mask=False)))
    return mistakes


def dropout_models(reference, x, seed: int) -> Variants:
    """One reference layer in train mode (attention dropout 0) with hidden dropout in a known
    wrong place in either sub-layer or both: on the residual sum before LayerNorm, or on the
    input of the output projection instead of its output."""
    attention, intermediate, output = reference.attention, reference.intermediate, reference.output

    def sublayer(h, update, dense, drop, norm, where):
        if where == "sum":
            return norm(drop(h + dense(update)))
        if where == "before_dense":
            return norm(h + dense(drop(update)))
        return norm(h + drop(dense(update)))

    def model(first, second):
        def run():
            torch.manual_seed(seed)
            out = attention.output
            h = sublayer(x, attention.self(x, None), out.dense, out.dropout, out.LayerNorm, first)
            widened = F.gelu(intermediate.dense(h))
            return sublayer(h, widened, output.dense, output.dropout, output.LayerNorm, second)

        return run

    places = ("right", "sum", "before_dense")
    return Variants(("layer_dropout_misplaced", model(a, b))
                    for a in places for b in places if (a, b) != ("right", "right"))  # fmt: skip


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


def call(mine, x, mask, inputs: str):
    """``mine(x, mask)`` on a copy of x; fails at once if that copy was changed in place."""
    theirs = x.clone()  # same strides, so non-contiguous stays non-contiguous
    got = mine(theirs, mask)
    if not torch.equal(theirs, x):
        fail(_("hidden_states was changed in place (+= on the input?): the caller's tensor is "
               "no longer what it passed; write h = x + update instead"),
             inputs=inputs)  # fmt: skip
    return got


def compare(layer_cls, config, seed, x, mask) -> None:
    mine, reference = build(layer_cls, config, seed)
    inputs = describe_case(config, x, mask)
    with torch.no_grad():
        got = call(mine, x, mask, inputs)
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


def test_dropout_masks_each_update_before_the_residual(layer_cls):
    """in train mode dropout acts on each sub-layer's projected update, as the reference's"""
    config = small_config(hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.0)
    mine, reference = build(layer_cls, config, 13)
    x = randn((2, 5, 12), 14)
    inputs = describe_case(config, x, None) + "; " + _(
        "hidden_dropout_prob=0.3 (attention dropout 0); train mode, torch.manual_seed(11)"
    )
    with torch.no_grad():
        evaluated = mine(x, None)
        mine.train()
        reference.train()
        torch.manual_seed(11)
        got = expect_tensor(mine(x, None), name="output", shape=(2, 5, 12), inputs=inputs)
        torch.manual_seed(11)
        want = reference(x, None)
        if torch.allclose(got, evaluated):
            fail(_("in train mode the output equals eval mode's: apply attention.output.dropout "
                   "and output.dropout to the projected updates"), inputs=inputs)  # fmt: skip
        expect_close(got, want, name="output (train mode)", inputs=inputs, atol=ATOL, rtol=RTOL,
                     mistakes=dropout_models(reference, x, 11))  # fmt: skip


def test_layer_norm_uses_the_config_eps(layer_cls):
    """both LayerNorms use config.layer_norm_eps (here 0.1, large enough to show)"""
    config = small_config(layer_norm_eps=0.1)
    mine, reference = build(layer_cls, config, 15)
    x, mask = randn((2, 5, 12), 16), torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    inputs = describe_case(config, x, mask)
    with torch.no_grad():
        got = expect_tensor(call(mine, x, mask, inputs), name="output", shape=(2, 5, 12),
                            inputs=inputs)  # fmt: skip
        want = reference(x, additive_attention_mask(mask, x.dtype))
        tiny = ref.BertLayer(small_config(layer_norm_eps=1e-12))
        tiny.load_state_dict(reference.state_dict())
        if torch.allclose(got, tiny.eval()(x, additive_attention_mask(mask, x.dtype)),
                          rtol=RTOL, atol=ATOL):  # fmt: skip
            fail(_("LayerNorm ignored config.layer_norm_eps ({eps:g}): your output is LayerNorm "
                   "with a tiny eps (a default such as 1e-12 or 1e-5); call the LayerNorm "
                   "modules, which were built with the config's eps").format(
                     eps=config.layer_norm_eps),
                 inputs=inputs)  # fmt: skip
    expect_close(got, want, name="output", inputs=inputs, atol=ATOL, rtol=RTOL)


def test_gradients_match_the_reference(layer_cls):
    """gradients reach hidden_states and every sub-layer's weights, as the reference's"""
    config = small_config()
    mine, reference = build(layer_cls, config, 17)
    x, mask = randn((2, 5, 12), 18), torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    loss_weights = randn((2, 5, 12), 19)
    inputs = describe_case(config, x, mask) + "; " + _(
        "loss = sum(output * fixed random weights)"
    )
    names = ("attention.self.value.weight", "attention.output.dense.weight",
             "attention.output.LayerNorm.weight", "intermediate.dense.weight",
             "output.dense.weight", "output.LayerNorm.weight")  # fmt: skip
    grads = []
    for model, model_mask in ((mine, mask), (reference, additive_attention_mask(mask, x.dtype))):
        leaf = x.clone().requires_grad_()
        out = model(leaf, model_mask)
        if model is mine:
            out = expect_tensor(out, name="output", shape=(2, 5, 12), inputs=inputs)
            if not out.requires_grad:
                fail(_("the output is detached: no torch.no_grad(), .detach(), .item() or "
                       "numpy in forward, or the layer cannot be trained"),
                     inputs=inputs)  # fmt: skip
        (out * loss_weights).sum().backward()
        parameters = dict(model.named_parameters())
        grads.append({"hidden_states": leaf.grad} | {n: parameters[n].grad for n in names})
    for name, want in grads[1].items():
        got = grads[0][name]
        if got is None:
            fail(_("no gradient reaches {name}").format(name=name), inputs=inputs)
        expect_close(got, want, name=f"{name}.grad", inputs=inputs, atol=ATOL, rtol=RTOL)
