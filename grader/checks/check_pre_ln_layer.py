"""Checks for exercise pre_ln_layer (exercises/e27_pre_ln_layer.py).

Your PreLNLayer and PreLNEncoder load the weights of the reference's pre-LN modules
(``reference/variants/prenorm.py``, transformers' RobertaPreLayerNorm layout) and must give
the same outputs; then two properties that need no reference: with the sub-layers' output
projections zeroed a pre-LN layer is the identity, and the top layer's gradient at
initialisation shrinks with depth the way Xiong et al. (2020) predict for pre-LN, unlike the
post-LN reference's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from hypothesis import example, given
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
from reference.variants import prenorm as ref

MODULE = "e27_pre_ln_layer"
ATOL, RTOL = 1e-5, 1e-4
FIELDS = ("hidden", "heads", "intermediate", "eps")


def small_config(**overrides) -> BertConfig:
    values = dict(vocab_size=10, hidden_size=12, num_hidden_layers=1, num_attention_heads=3,
                  intermediate_size=20, max_position_embeddings=16,
                  attn_implementation="eager")  # fmt: skip
    return BertConfig(**{**values, **overrides})


def build(cls, reference_cls, config: BertConfig, seed: int):
    """(yours, the reference) with the same seeded weights, both in eval mode."""
    reference = randomize_parameters_(reference_cls(config), seed).eval()
    mine = cls(config)
    load_weights(mine, reference.state_dict(), name=cls.__name__)
    return mine.eval(), reference


def describe_case(config: BertConfig, x: torch.Tensor, mask: torch.Tensor | None,
                  layers: bool = False) -> str:  # fmt: skip
    batch, seq, _unused = x.shape
    fields = (*FIELDS, "layers") if layers else FIELDS
    parts = [describe_config(config, *fields), f"batch={batch}, seq={seq}"]
    if mask is None:
        parts.append("no attention_mask")
    else:
        padded = (mask == 0).sum(-1).tolist()
        rows = [_("{n} padded in row {row}").format(n=n, row=i) for i, n in enumerate(padded) if n]
        parts.append(", ".join(rows) if rows else _("attention_mask with no padding"))
    if not x.is_contiguous():
        parts.append(_("non-contiguous hidden_states"))
    return "; ".join(parts)


# --- how the known mistakes compute -----------------------------------------------------------


def layer_model(reference, x, mask, *, wiring="pre"):
    """One reference pre-LN layer's weights, wired right ("pre") or in a known wrong way:
    "post" LN(x + F(x)); "from_normed" LN(x) + F(LN(x)); "norm_output" x + LN(F(x))."""
    attention, intermediate, output = reference.attention, reference.intermediate, reference.output
    norm1, norm2 = attention.LayerNorm, intermediate.LayerNorm

    def attend(h):
        return attention.output.dense(attention.self(h, mask))

    def feed_forward(h):
        return output.dense(F.gelu(intermediate.dense(h)))

    if wiring == "post":
        h = norm1(x + attend(x))
        return norm2(h + feed_forward(h))
    if wiring == "from_normed":
        h = norm1(x) + attend(norm1(x))
        return norm2(h) + feed_forward(norm2(h))
    if wiring == "norm_output":
        h = x + norm1(attend(x))
        return h + norm2(feed_forward(h))
    h = x + attend(norm1(x))
    return h + feed_forward(norm2(h))


LAYER_MISTAKES = (
    ("preln_post_ln", "post"),
    ("preln_residual_from_normed", "from_normed"),
    ("preln_norm_on_sublayer_output", "norm_output"),
)


def layer_mistakes(reference, x, mask) -> Variants:
    def model(wiring):
        return lambda: layer_model(reference, x, mask, wiring=wiring)

    return Variants([(mistake, model(wiring)) for mistake, wiring in LAYER_MISTAKES])


def encoder_mistakes(reference, x, mask) -> Variants:
    def model(wiring, final_norm=True):
        def run():
            h = x
            for layer in reference.layer:
                h = layer_model(layer, h, mask, wiring=wiring)
            return reference.LayerNorm(h) if final_norm else h

        return run

    mistakes = Variants([("preln_final_norm_missing", model("pre", final_norm=False))])

    def norm_every_layer():
        h = x
        for layer in reference.layer:
            h = reference.LayerNorm(layer_model(layer, h, mask))
        return h

    mistakes.append(("preln_final_norm_every_layer", norm_every_layer))
    for mistake, wiring in LAYER_MISTAKES:
        mistakes.append((mistake, model(wiring)))
        mistakes.append((mistake, model(wiring, final_norm=False)))
    return mistakes


# --- inputs -----------------------------------------------------------------------------------


@st.composite
def cases(draw, *, max_layers: int = 1):
    config = draw(bert_configs(max_layers=max_layers))
    batch, seq, seed = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(seeds)
    x = randn((batch, seq, config.hidden_size), seed + 1)
    if not draw(st.booleans()):
        x = non_contiguous(x)
    masked = draw(st.booleans())
    mask = draw(padding_masks(batch, seq, allow_fully_padded=False)) if masked else None
    return config, seed, x, mask


def fixed_case(layers: int = 1):
    """hidden=12 (3 heads), 2 rows of 5, the second with 2 padded positions."""
    config = small_config(num_hidden_layers=layers)
    return config, 11, randn((2, 5, 12), 12), torch.tensor([[1] * 5, [1, 1, 1, 0, 0]])


def compare(cls, reference_cls, mistakes_of, config, seed, x, mask, *, layers=False) -> None:
    mine, reference = build(cls, reference_cls, config, seed)
    inputs = describe_case(config, x, mask, layers)
    additive = None if mask is None else additive_attention_mask(mask, x.dtype)
    with torch.no_grad():
        want, before = reference(x, additive), x.clone()
        got = mine(x, mask)
    if not torch.equal(x, before):
        fail(_("hidden_states was changed in place (hidden_states += ... adds the update into "
               "the caller's tensor): write hidden_states = hidden_states + update"),
             inputs=inputs)  # fmt: skip
    expect_tensor(got, name="output", shape=tuple(x.shape), inputs=inputs,
                  shape_names="(batch, seq, hidden)")  # fmt: skip
    mistakes = mistakes_of(reference, x, additive) if final_example() else None
    expect_close(got, want, name="output", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip


# --- checks -----------------------------------------------------------------------------------


def test_loads_reference_weights_and_returns_batch_seq_hidden(learner):
    """PreLNLayer and PreLNEncoder load the reference's weights and return (batch, seq, hidden)"""
    config, seed, x, mask = fixed_case(layers=2)
    for cls, reference_cls in ((learner.PreLNLayer, ref.PreLNLayer),
                               (learner.PreLNEncoder, ref.PreLNEncoder)):  # fmt: skip
        mine, _ = build(cls, reference_cls, config, seed)
        for m in (None, mask):
            with torch.no_grad():
                got = mine(x, m)
            expect_tensor(got, name=f"{cls.__name__} output", shape=(2, 5, 12),
                          dtype=torch.float32, inputs=describe_case(config, x, m),
                          shape_names="(batch, seq, hidden)")  # fmt: skip


@given(case=cases())
@example(case=fixed_case())
def test_layer_matches_the_reference(learner, case):
    """PreLNLayer matches the reference pre-LN layer (same weights, with and without padding)"""
    compare(learner.PreLNLayer, ref.PreLNLayer, layer_mistakes, *case)


@given(case=cases(max_layers=3))
@example(case=fixed_case(layers=2))
def test_encoder_matches_the_reference(learner, case):
    """PreLNEncoder (the layers, then the final LayerNorm) matches the reference pre-LN encoder"""
    compare(learner.PreLNEncoder, ref.PreLNEncoder, encoder_mistakes, *case, layers=True)


def test_zeroed_sublayers_make_the_identity(learner):
    """with both output projections zeroed, a pre-LN layer returns the residual stream untouched"""
    config, seed, x, mask = fixed_case()
    mine, _unused = build(learner.PreLNLayer, ref.PreLNLayer, config, seed)
    with torch.no_grad():
        for dense in (mine.attention.output.dense, mine.output.dense):
            dense.weight.zero_()
            dense.bias.zero_()
        got = mine(x, mask)
    inputs = describe_case(config, x, mask) + "; " + _("attention.output.dense and "
                                                       "output.dense zeroed")  # fmt: skip
    got = expect_tensor(got, name="output", shape=(2, 5, 12), inputs=inputs)
    change = float((got - x).abs().max())
    if change > 1e-6:
        fail(
            _("with every sub-layer's update zeroed the layer still changed its input (by up to "
              "{change:.3g}): in pre-LN the stream is x + update, and the LayerNorms only touch "
              "what goes *into* a sub-layer, never the stream itself").format(change=change),
            inputs=inputs,
        )


def test_gradient_flows_through_the_residual_stream(learner):
    """the gradient with respect to the encoder's input equals the reference's (identity path)"""
    config, seed, x, mask = fixed_case(layers=2)
    mine, reference = build(learner.PreLNEncoder, ref.PreLNEncoder, config, seed)
    weights = randn(tuple(x.shape), 15)
    inputs = (describe_case(config, x, mask, layers=True) + "; "
              + _("loss = sum(output * fixed random weights), gradient with respect to "
                  "hidden_states"))  # fmt: skip
    grads = []
    for model, m in ((mine, mask), (reference, additive_attention_mask(mask, x.dtype))):
        leaf = x.clone().requires_grad_()
        out = expect_tensor(model(leaf, m), name="output", shape=tuple(x.shape), inputs=inputs)
        if not out.requires_grad:
            fail(_("the output is detached from hidden_states: no torch.no_grad(), .detach() "
                   "or .item() in forward"), inputs=inputs)  # fmt: skip
        (out * weights).sum().backward()
        grads.append(torch.zeros_like(x) if leaf.grad is None else leaf.grad)
    expect_close(grads[0], grads[1], name="d loss / d hidden_states", inputs=inputs, atol=ATOL,
                 rtol=RTOL)  # fmt: skip


def test_encoder_with_zeroed_sublayers_is_its_final_layer_norm(learner):
    """with every output projection zeroed, the encoder is its final LayerNorm (eps matters)"""
    config, seed, x, mask = fixed_case(layers=2)
    config = BertConfig(**{**config.__dict__, "layer_norm_eps": 1e-3})
    mine, reference = build(learner.PreLNEncoder, ref.PreLNEncoder, config, seed)
    for model in (mine, reference):
        with torch.no_grad():
            for layer in model.layer:
                for dense in (layer.attention.output.dense, layer.output.dense):
                    dense.weight.zero_()
                    dense.bias.zero_()
    tiny = x * 0.01
    inputs = (describe_case(config, tiny, mask, layers=True) + "; "
              + _("every attention.output.dense and output.dense zeroed; hidden_states of size "
                  "~0.01, so the LayerNorm's eps matters"))  # fmt: skip
    with torch.no_grad():
        got = mine(tiny, mask)
        want = reference(tiny, additive_attention_mask(mask, x.dtype))
    got = expect_tensor(got, name="output", shape=tuple(x.shape), inputs=inputs)
    expect_close(got, want, name="output", inputs=inputs, atol=ATOL, rtol=RTOL)


def test_encoder_output_is_a_layer_norm_output(learner):
    """the encoder ends with its final LayerNorm (weight 1, bias 0: outputs have mean 0, var 1)"""
    config, seed, x, mask = fixed_case(layers=2)
    mine, _unused = build(learner.PreLNEncoder, ref.PreLNEncoder, config, seed)
    with torch.no_grad():
        mine.LayerNorm.weight.fill_(1.0)
        mine.LayerNorm.bias.zero_()
        got = mine(x * 3.0 + 1.0, mask)
    inputs = describe_case(config, x, mask, layers=True) + "; " + _("final LayerNorm weight 1, "
                                                                      "bias 0")  # fmt: skip
    got = expect_tensor(got, name="output", shape=(2, 5, 12), inputs=inputs)
    mean, var = got.mean(-1), got.var(-1, unbiased=False)
    if mean.abs().max() > 1e-4 or (var - 1).abs().max() > 1e-3:
        fail(
            _("the encoder's output is not normalised (per-vector means up to {mean:.3g}, "
              "variances {var_min:.3g}..{var_max:.3g}): nothing inside a pre-LN stack "
              "normalises the stream, so the encoder must end with self.LayerNorm, once, after "
              "the last layer").format(mean=float(mean.abs().max()), var_min=float(var.min()),
                                       var_max=float(var.max())),
            inputs=inputs,
            diagnosis="preln_final_norm_missing",
        )


# --- Xiong et al. 2020: the top layer's gradient at initialisation, against depth ---------------

SHALLOW, DEEP = 2, 16  # layers
GRADIENT_SEEDS = (0, 1)


def top_gradient(encoder, seed: int, hidden: int) -> float:
    """‖∂loss/∂W‖ for the top layer's feed-forward output weight W (output.dense.weight),
    loss = MSE(encoder(x), target) on a fixed random batch (Xiong et al. 2020, Fig. 3, Thm. 1)."""
    x, target = randn((2, 8, hidden), 1000 + seed), randn((2, 8, hidden), 2000 + seed)
    encoder.zero_grad(set_to_none=True)
    F.mse_loss(encoder(x, None), target).backward()
    grad = encoder.layer[-1].output.dense.weight.grad
    if grad is None:
        fail(_("the top layer's output.dense.weight got no gradient: is every layer in "
               "self.layer used, and the output computed from them?"))  # fmt: skip
    return float(grad.norm())


def depth_ratio(make, config: BertConfig) -> float:
    """Top-layer gradient norm at DEEP layers over that at SHALLOW layers (geometric mean over
    a few seeds); Xiong et al.'s Theorem 1 predicts sqrt(SHALLOW / DEEP) for pre-LN and no
    dependence on depth (about 1) for post-LN."""
    logs = []
    for seed in GRADIENT_SEEDS:
        norms = [top_gradient(make(layers, seed), seed, config.hidden_size)
                 for layers in (SHALLOW, DEEP)]  # fmt: skip
        logs.append(math.log(norms[1] / norms[0]))
    return math.exp(sum(logs) / len(logs))


def test_top_layer_gradient_shrinks_with_depth_as_pre_ln_predicts(learner):
    """at initialisation the top layer's gradient shrinks like 1/sqrt(depth), unlike post-LN's

    Xiong et al. 2020, Theorem 1."""
    config = small_config(hidden_size=16, num_attention_heads=2, intermediate_size=64,
                          hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                          layer_norm_eps=1e-5)  # fmt: skip

    def config_of(layers):
        return BertConfig(**{**config.__dict__, "num_hidden_layers": layers})

    def mine(layers, seed):
        # Xiong et al.'s initialisation (Xavier-uniform weights, zero biases, LayerNorm 1/0),
        # copied from the reference pre-LN encoder built with the same seed.
        encoder = learner.PreLNEncoder(config_of(layers))
        load_weights(encoder, ref.build_encoder(config_of(layers), True, seed).state_dict(),
                     name="PreLNEncoder")  # fmt: skip
        return encoder

    def post_ln(layers, seed):
        return ref.build_encoder(config_of(layers), False, seed)

    ours, theirs = depth_ratio(mine, config), depth_ratio(post_ln, config)
    predicted = math.sqrt(SHALLOW / DEEP)
    inputs = (
        _("{config}; stacks of {shallow} and {deep} layers, Xavier-uniform weights, zero "
          "biases; loss = MSE to a random target").format(
            config=describe_config(config, "hidden", "heads", "intermediate"), shallow=SHALLOW,
            deep=DEEP
        )
    )
    # Pass when your ratio is closer (on a log scale) to pre-LN's prediction than to what the
    # post-LN reference measures on the same kind of stack.
    if abs(math.log(ours / predicted)) >= abs(math.log(ours / theirs)):
        fail(
            _("going from {shallow} to {deep} layers scaled the top layer's gradient norm by "
              "{ours:.2f}; pre-LN theory predicts about sqrt({shallow}/{deep}) = {predicted:.2f}, "
              "and the post-LN reference measures {theirs:.2f}. Your stack behaves like post-LN: "
              "is the LayerNorm applied to the residual sum instead of the sub-layer's "
              "input?").format(shallow=SHALLOW, deep=DEEP, ours=ours, predicted=predicted,
                               theirs=theirs),
            inputs=inputs,
            diagnosis="preln_post_ln" if abs(math.log(ours / theirs)) < 0.1 else None,
        )


def dropout_models(reference, x, seed: int) -> Variants:
    """One reference pre-LN layer in train mode with dropout in a known wrong place in either
    sub-layer or both: on the residual sum (the stream itself), or before the output
    projection instead of after it."""
    attention, intermediate, output = reference.attention, reference.intermediate, reference.output

    def sublayer(h, update, dense, drop, where):
        if where == "stream":
            return drop(h + dense(update))
        if where == "before_dense":
            return h + dense(drop(update))
        return h + drop(dense(update))

    def model(first, second):
        def run():
            torch.manual_seed(seed)
            h = sublayer(x, attention.self(attention.LayerNorm(x), None),
                         attention.output.dense, attention.output.dropout, first)  # fmt: skip
            widened = F.gelu(intermediate.dense(intermediate.LayerNorm(h)))
            return sublayer(h, widened, output.dense, output.dropout, second)

        return run

    places = ("right", "stream", "before_dense")
    return Variants(("preln_dropout_misplaced", model(a, b))
                    for a in places for b in places if (a, b) != ("right", "right"))  # fmt: skip


def test_dropout_masks_the_updates_not_the_stream(learner):
    """in train mode dropout acts on each sub-layer's update, as the reference's: same masks"""
    config = small_config(hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.0)
    mine, reference = build(learner.PreLNLayer, ref.PreLNLayer, config, 13)
    x = randn((2, 5, 12), 14)
    inputs = (describe_case(config, x, None) + "; "
              + _("hidden_dropout_prob=0.3 (attention dropout 0); train mode, "
                  "torch.manual_seed(11)"))  # fmt: skip
    mine.train()
    reference.train()
    with torch.no_grad():
        torch.manual_seed(11)
        got = expect_tensor(mine(x, None), name="output", shape=(2, 5, 12), inputs=inputs)
        torch.manual_seed(11)
        want = reference(x, None)
        expect_close(got, want, name="output (train mode)", inputs=inputs, atol=ATOL, rtol=RTOL,
                     mistakes=dropout_models(reference, x, 11))  # fmt: skip
