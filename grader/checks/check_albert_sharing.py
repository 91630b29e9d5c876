"""Checks for exercise albert_sharing (exercises/e30_albert_sharing.py).

First the parameters, since ALBERT is about them: your AlbertModel must hold exactly as many
as the reference's (``reference/variants/albert.py``, proven equal to transformers'
``AlbertModel`` in ``tests/``), and adding layers must add none. Then, with the reference's
weights loaded, the outputs: on a fixed configuration, then on hypothesis-drawn ones
(embedding width, hidden width, layers, groups, layers per group, activation).
"""

from __future__ import annotations

import dataclasses

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import Variants, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import (
    TokenBatch,
    final_example,
    make_generator,
    randomize_parameters_,
    seeds,
    token_batches,
)
from grader.i18n import _
from reference import additive_attention_mask
from reference.variants import albert as ref

MODULE = "e30_albert_sharing"
ATOL, RTOL = 1e-5, 1e-4


def small_config(**overrides) -> ref.AlbertConfig:
    values = dict(vocab_size=30, embedding_size=4, hidden_size=12, num_hidden_layers=4,
                  num_hidden_groups=2, num_attention_heads=3, intermediate_size=20,
                  inner_group_num=1, hidden_act="gelu_new", hidden_dropout_prob=0.1,
                  attention_probs_dropout_prob=0.1, max_position_embeddings=16,
                  type_vocab_size=2)  # fmt: skip
    return ref.AlbertConfig(**{**values, **overrides})


def describe(config: ref.AlbertConfig) -> str:
    return (_("vocab={vocab_size}, embedding_size E={embedding_size}, hidden "
              "H={hidden_size}, heads={num_attention_heads}, "
              "intermediate={intermediate_size}, layers L={num_hidden_layers}, "
              "groups G={num_hidden_groups}, layers per group="
              "{inner_group_num}, {hidden_act}").format(
        vocab_size=config.vocab_size, embedding_size=config.embedding_size,
        hidden_size=config.hidden_size, num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size, num_hidden_layers=config.num_hidden_layers,
        num_hidden_groups=config.num_hidden_groups, inner_group_num=config.inner_group_num,
        hidden_act=config.hidden_act
    ))  # fmt: skip


def count(module: torch.nn.Module) -> int:
    """Parameters, each tensor once (module.parameters() skips repeats of a shared one)."""
    return sum(p.numel() for p in module.parameters())


def reference_count(config: ref.AlbertConfig, **changes) -> int:
    return count(ref.AlbertModel(dataclasses.replace(config, **changes)))


# --- parameters -------------------------------------------------------------------------------


def test_parameter_count_is_albert_s(learner):
    """AlbertModel holds exactly ALBERT's parameters: E-wide embeddings, E -> H, G layer groups"""
    config = small_config()
    mine = learner.AlbertModel(config)
    got, want = count(mine), reference_count(config)
    if got == want:
        return
    e, h = config.embedding_size, config.hidden_size
    wrong = {
        reference_count(config, num_hidden_groups=config.num_hidden_layers):
            "albert_layers_not_shared",
        want - (e * h + h): "albert_projection_missing",
        reference_count(config, embedding_size=h): "albert_embedding_size_is_hidden",
        reference_count(config, embedding_size=h) - (h * h + h): "albert_embedding_size_is_hidden",
    }  # fmt: skip
    parts = ", ".join(f"{name} {count(module)}" for name, module in mine.named_children())
    albert = ref.AlbertModel(config)
    fail(
        _("your AlbertModel has {got} parameters, ALBERT with this config has {want}: "
          "embeddings {embeddings} (at width E), encoder {encoder} "
          "(the E -> H projection and {groups} layer groups), pooler "
          "{pooler}; yours: {parts}").format(
            got=got, want=want, embeddings=count(albert.embeddings),
            encoder=count(albert.encoder), groups=config.num_hidden_groups,
            pooler=count(albert.pooler), parts=parts
        ),
        inputs=describe(config),
        diagnosis=wrong.get(got),
    )


def test_depth_costs_no_parameters(learner):
    """with one group, 2 layers and 8 layers have the same number of parameters (shared weights)"""
    counts = {layers: count(learner.AlbertModel(small_config(num_hidden_layers=layers,
                                                             num_hidden_groups=1)))
              for layers in (2, 8)}  # fmt: skip
    if counts[2] != counts[8]:
        fail(
            _("2 layers hold {counts_2} parameters but 8 layers hold {counts_8}: every layer "
              "got its own weights. ALBERT's layers share them: the encoder holds "
              "num_hidden_groups groups and runs them num_hidden_layers times").format(
                counts_2=counts[2], counts_8=counts[8]
            ),
            inputs=describe(small_config(num_hidden_groups=1)).replace("layers L=4", "L=2 and 8"),
            diagnosis="albert_layers_not_shared",
        )


# --- outputs ----------------------------------------------------------------------------------


def build(learner, config: ref.AlbertConfig, seed: int):
    """(yours, the reference) with the same seeded weights, both in eval mode."""
    reference = randomize_parameters_(ref.AlbertModel(config), seed).eval()
    mine = learner.AlbertModel(config)
    load_weights(mine, reference.state_dict(), name="AlbertModel")
    return mine.eval(), reference


def run(model, case: TokenBatch, inputs: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        with torch.no_grad():
            result = model(case.input_ids, attention_mask=case.attention_mask,
                           token_type_ids=case.token_type_ids)  # fmt: skip
    except IndexError as err:
        config = model.config
        fail(_("running the model raised IndexError ({err}). With L={layers} layers in "
               "G={groups} groups, layer i uses group int(i / (L / G)), which never passes "
               "G - 1; integer division L // G does when G does not divide L").format(
            err=err, layers=config.num_hidden_layers, groups=config.num_hidden_groups),
            inputs=inputs,
            diagnosis="albert_group_index_wrong"
            if config.num_hidden_layers % config.num_hidden_groups else None)  # fmt: skip
    if not isinstance(result, tuple | list) or len(result) != 2:
        fail(_("return a pair (last_hidden_state, pooler_output), got {kind}").format(
            kind=type(result).__name__
        ),
             inputs=inputs)  # fmt: skip
    batch, seq = case.input_ids.shape
    hidden = model.config.hidden_size
    sequence = expect_tensor(result[0], name="last_hidden_state", shape=(batch, seq, hidden),
                             inputs=inputs, shape_names="(batch, seq, hidden)")  # fmt: skip
    pooled = expect_tensor(result[1], name="pooler_output", shape=(batch, hidden),
                           inputs=inputs, shape_names="(batch, hidden)")  # fmt: skip
    return sequence, pooled


def model_output(reference, case: TokenBatch, groups_of_layers) -> tuple[torch.Tensor, ...]:
    """The reference's modules with the given group index per layer."""
    embedded = reference.embeddings(case.input_ids, case.token_type_ids)
    mask = (None if case.attention_mask is None
            else additive_attention_mask(case.attention_mask, embedded.dtype))  # fmt: skip
    hidden = reference.encoder.embedding_hidden_mapping_in(embedded)
    for g in groups_of_layers:
        hidden = reference.encoder.albert_layer_groups[g](hidden, mask)
    return hidden, reference.pooler_activation(reference.pooler(hidden[:, 0]))


def known_mistakes(reference, case: TokenBatch) -> tuple[Variants, Variants]:
    layers, groups = reference.config.num_hidden_layers, reference.config.num_hidden_groups
    per_group, ids = -(-layers // groups), range(layers)  # ceil(L / G), layer indices
    ways = [
        ("albert_groups_run_once", range(groups)),
        ("albert_group_index_wrong", [i % groups for i in range(layers)]),
        ("albert_group_index_wrong", [min(i // (layers // groups), groups - 1) for i in ids]),
        ("albert_group_index_wrong", [i // per_group for i in ids]),
        ("albert_group_index_wrong", [min(round(i * groups / layers), groups - 1) for i in ids]),
    ]
    hidden, pooled = Variants(), Variants()
    for mistake, order in ways:

        def output(order=order):
            with torch.no_grad():
                return model_output(reference, case, list(order))

        hidden.append((mistake, lambda output=output: output()[0]))
        pooled.append((mistake, lambda output=output: output()[1]))
    return hidden, pooled


def compare(learner, config, seed, case: TokenBatch) -> None:
    mine, reference = build(learner, config, seed)
    inputs = f"{describe(config)}; {case.describe()}"
    got = run(mine, case, inputs)
    with torch.no_grad():
        want = reference(case.input_ids, case.attention_mask, case.token_type_ids)
    hidden_mistakes, pooled_mistakes = (known_mistakes(reference, case) if final_example()
                                        else (None, None))  # fmt: skip
    real = None if case.attention_mask is None else case.attention_mask.bool()
    expect_close(got[0], want[0], name="last_hidden_state", inputs=inputs, atol=ATOL, rtol=RTOL,
                 where=real, mistakes=hidden_mistakes)  # fmt: skip
    expect_close(got[1], want[1], name="pooler_output", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=pooled_mistakes)  # fmt: skip


def fixed_case():
    """L=4 layers in G=2 groups; two rows of 6, the second with 2 padded, segments A and B."""
    config = small_config()
    ids = torch.randint(1, config.vocab_size, (2, 6), generator=make_generator(0))
    mask = torch.tensor([[1] * 6, [1, 1, 1, 1, 0, 0]])
    types = torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]])
    return config, 3, TokenBatch(ids.masked_fill(mask == 0, 0), mask, types)


@st.composite
def albert_cases(draw):
    """(config, seed, batch): small random ALBERT configurations and token batches."""
    heads = draw(st.integers(1, 3))
    hidden = heads * draw(st.integers(-(-4 // heads), 4))  # >= 4: LayerNorm over >= 4 features
    layers = draw(st.integers(1, 4))
    config = ref.AlbertConfig(
        vocab_size=draw(st.integers(5, 30)),
        embedding_size=draw(st.integers(4, 10)),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_hidden_groups=draw(st.integers(1, layers)),
        num_attention_heads=heads,
        intermediate_size=draw(st.integers(1, 3 * hidden)),
        inner_group_num=draw(st.integers(1, 2)),
        hidden_act=draw(st.sampled_from(["gelu_new", "gelu", "relu"])),
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=9 + draw(st.integers(1, 4)),
        type_vocab_size=draw(st.integers(1, 3)),
        layer_norm_eps=draw(st.sampled_from([1e-12, 1e-5])),
    )
    case = draw(token_batches(config, masked=None, token_types=None))
    return config, draw(seeds), case


def test_loads_reference_weights_and_returns_both_outputs(learner):
    """loads a reference AlbertModel's state dict; returns (last_hidden_state, pooler_output)"""
    config, seed, case = fixed_case()
    mine, _ = build(learner, config, seed)
    hidden, pooled = run(mine, case, f"{describe(config)}; {case.describe()}")
    expect_tensor(hidden, name="last_hidden_state", shape=(2, 6, 12), dtype=torch.float32)
    expect_tensor(pooled, name="pooler_output", shape=(2, 12), dtype=torch.float32)


@given(case=albert_cases())
@example(case=fixed_case())
def test_matches_the_reference(learner, case):
    """matches the reference AlbertModel (same weights, eval mode) on small random configs"""
    compare(learner, *case)


def test_encoder_alone_takes_the_embeddings(learner):
    """AlbertTransformer alone maps E-wide embeddings to the reference's (batch, seq, H) states"""
    config, seed, case = fixed_case()
    mine, reference = build(learner, config, seed)
    inputs = _("{config}; {case}; the encoder called alone on the reference's (batch, seq, "
               "E) embeddings").format(config=describe(config), case=case.describe())
    with torch.no_grad():
        embedded = reference.embeddings(case.input_ids, case.token_type_ids)
        additive = additive_attention_mask(case.attention_mask, embedded.dtype)
        want = reference.encoder(embedded, additive)
        try:
            got = mine.encoder(embedded.clone(), case.attention_mask)
        except RuntimeError as err:
            if not any(word in str(err) for word in ("shape", "size")):
                raise  # not a width mismatch: reported as your code's error, with its line
            fail(_("AlbertTransformer raised RuntimeError on (batch, seq, embedding_size) "
                   "inputs ({err}): the E -> H projection belongs to the encoder's forward "
                   "(self.embedding_hidden_mapping_in), not to AlbertModel").format(err=err),
                 inputs=inputs)  # fmt: skip
    got = expect_tensor(got, name="encoder output", shape=(2, 6, config.hidden_size),
                        inputs=inputs, shape_names="(batch, seq, hidden)")  # fmt: skip
    expect_close(got, want, name="encoder output", inputs=inputs, atol=ATOL, rtol=RTOL,
                 where=case.attention_mask.bool())  # fmt: skip


def test_gradients_reach_every_parameter(learner):
    """the outputs stay in the autograd graph: every parameter gets a gradient"""
    config, seed, case = fixed_case()
    mine, _unused = build(learner, config, seed)
    inputs = f"{describe(config)}; {case.describe()}"
    result = mine(case.input_ids, attention_mask=case.attention_mask,
                  token_type_ids=case.token_type_ids)  # fmt: skip
    if not isinstance(result, tuple | list) or len(result) != 2:
        fail(_("return a pair (last_hidden_state, pooler_output), got {kind}").format(
            kind=type(result).__name__), inputs=inputs)  # fmt: skip
    hidden, pooled = result
    if not (hidden.requires_grad and pooled.requires_grad):
        fail(_("the outputs are detached: no torch.no_grad(), .detach(), .item() or numpy in "
               "forward, or the model cannot be trained"), inputs=inputs)  # fmt: skip
    (hidden.sum() + pooled.sum()).backward()
    missing = [name for name, p in mine.named_parameters() if p.grad is None]
    if missing:
        fail(_("no gradient reaches {names}: every parameter should take part in the forward "
               "pass, through differentiable operations").format(names=", ".join(missing[:4])),
             inputs=inputs)  # fmt: skip
