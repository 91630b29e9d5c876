"""Checks for exercise modernbert_layer (exercises/e28_modernbert_layer.py), Part II's capstone.

Your ModernBertModel, built from your RoPE (e23), GeGLU (e26) and padding mask (e03), loads the
state dict of the reference's (``reference/variants/modernbert.py``, itself proven equal to
transformers' ``ModernBertModel`` in ``tests/``) and must give the same last_hidden_state on
random configurations: global and local layers, windows shorter than the sequence, padding.
First the sliding-window mask on its own, then the module tree, then the whole model.
"""

from __future__ import annotations

import torch
from hypothesis import example, given
from hypothesis import strategies as st

from grader.checks.kit import (
    Variants,
    describe_mask,
    expect_close,
    expect_tensor,
    fail,
    load_weights,
)
from grader.checks.strategies import (
    final_example,
    make_generator,
    padding_masks,
    randomize_parameters_,
    seeds,
)
from grader.i18n import _
from reference.variants import masks as ref_masks
from reference.variants import modernbert as ref

MODULE = "e28_modernbert_layer"
ATOL, RTOL = 1e-5, 1e-4


def small_config(**overrides) -> ref.ModernBertConfig:
    """4 layers, global every 2nd (layers 0 and 2), window 4 (2 on each side), head_dim 8;
    dropout 0.1 everywhere, so dropout applied in eval mode is caught."""
    values = dict(vocab_size=30, hidden_size=16, intermediate_size=24, num_hidden_layers=4,
                  num_attention_heads=2, max_position_embeddings=32, pad_token_id=0,
                  local_attention=4, global_attn_every_n_layers=2, embedding_dropout=0.1,
                  attention_dropout=0.1, mlp_dropout=0.1)  # fmt: skip
    return ref.ModernBertConfig(**{**values, **overrides})


def describe(config: ref.ModernBertConfig) -> str:
    kinds = "".join("G" if config.is_global(i) else "L" for i in range(config.num_hidden_layers))
    return (_("hidden={hidden_size}, heads={num_attention_heads} (head_dim="
              "{head_dim}), intermediate={intermediate_size}, layers {kinds} "
              "(G global, L local), local_attention={local_attention}, rope theta "
              "{global_rope_theta:g} global / {local_rope_theta:g} local"
              "{norm_bias}").format(
        hidden_size=config.hidden_size, num_attention_heads=config.num_attention_heads,
        head_dim=config.head_dim, intermediate_size=config.intermediate_size, kinds=kinds,
        local_attention=config.local_attention, global_rope_theta=config.global_rope_theta,
        local_rope_theta=config.local_rope_theta,
        norm_bias=", norm_bias" if config.norm_bias else ""
    ))  # fmt: skip


# --- the sliding-window mask ------------------------------------------------------------------


def allowed(mask: torch.Tensor) -> torch.Tensor:
    """1 where an additive mask lets a query attend (0.0), 0 where it blocks."""
    return (mask == 0).long()


def wrong_windows(mask: torch.Tensor, local_attention: int) -> Variants:
    half = local_attention // 2

    def window(reach):
        return lambda: allowed(ref_masks.sliding_window_mask(mask, reach))

    return Variants([
        ("modernbert_window_off_by_one", window(half - 1)),
        ("modernbert_window_off_by_one", window(half + 1)),
        ("modernbert_window_full_width", window(local_attention)),
    ])  # fmt: skip


def compare_window(learner, mask: torch.Tensor, local_attention: int,
                   dtype: torch.dtype = torch.float32) -> None:  # fmt: skip
    batch, seq = mask.shape
    inputs = (f"batch={batch}, seq={seq}, local_attention={local_attention}, dtype={dtype}; "
              f"{describe_mask(mask)}")  # fmt: skip
    got = learner.sliding_window_mask(mask.clone(), local_attention, dtype)
    got = expect_tensor(got, name="mask", shape=(batch, 1, seq, seq), dtype=dtype,
                        inputs=inputs, shape_names="(batch, 1, seq, seq)")  # fmt: skip
    blocked = torch.finfo(dtype).min
    if bool(((got != 0) & (got != blocked)).any()):
        fail(_("every entry must be 0.0 (may attend) or torch.finfo(dtype).min (may not)"),
             inputs=inputs)  # fmt: skip
    # Compared as 1 = may attend, 0 = blocked, so a difference reads as a window edge.
    want = allowed(ref_masks.sliding_window_mask(mask, local_attention // 2))
    mistakes = wrong_windows(mask, local_attention) if final_example() else None
    expect_close(allowed(got), want, name="may_attend", inputs=inputs, atol=0, rtol=0,
                 mistakes=mistakes)  # fmt: skip


def test_sliding_window_mask_on_a_fixed_batch(learner):
    """sliding_window_mask: query i sees key j iff |i - j| <= local_attention // 2 and j is real"""
    compare_window(learner, torch.tensor([[1] * 9, [1] * 6 + [0] * 3]), 4)


DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


@given(batch=st.integers(1, 3), seq=st.integers(1, 12), local=st.integers(0, 12),
       dtype=st.sampled_from(DTYPES), data=st.data())  # fmt: skip
@example(batch=2, seq=5, local=2, dtype=torch.float16, data=None)
def test_sliding_window_mask_matches_the_reference(learner, batch, seq, local, dtype, data):
    """sliding_window_mask equals the reference's for drawn windows, padding and dtypes"""
    if data is None:
        mask = torch.tensor([[1] * 5, [1, 1, 1, 0, 0]])
    else:
        mask = data.draw(padding_masks(batch, seq, allow_fully_padded=False),
                         label="attention_mask")  # fmt: skip
    compare_window(learner, mask, local, dtype)


# --- the module tree --------------------------------------------------------------------------


def count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_only_layer_0_skips_its_attention_norm(learner):
    """layer 0's attn_norm has no parameters (Identity); every other layer's is a LayerNorm"""
    for norm_bias in (False, True):
        config = small_config(norm_bias=norm_bias)
        model = learner.ModernBertModel(config)
        inputs = describe(config)
        first, second = model.layers[0].attn_norm, model.layers[1].attn_norm
        if count(first):
            fail(_("layer 0's attn_norm has parameters: layer 0 reads the embeddings, which end "
                   "with a LayerNorm already, so transformers puts nn.Identity() there (and the "
                   "checkpoint has no layers.0.attn_norm weights)"),
                 inputs=inputs, diagnosis="modernbert_attn_norm_on_layer_0")  # fmt: skip
        expected = config.hidden_size * (2 if norm_bias else 1)
        if not isinstance(second, torch.nn.LayerNorm) or count(second) != expected:
            fail(_("layer 1's attn_norm should be nn.LayerNorm(hidden, eps=config.norm_eps, "
                   "bias=config.norm_bias) ({expected} parameters), got "
                   "{kind} with {got}").format(
                expected=expected, kind=type(second).__name__, got=count(second)
            ), inputs=inputs)  # fmt: skip


# --- the whole model --------------------------------------------------------------------------


def build(learner, config, seed):
    reference = randomize_parameters_(ref.ModernBertModel(config), seed).eval()
    with torch.no_grad():  # randomize_parameters_ knows BERT's "LayerNorm" names, not "norm"
        gen = make_generator(seed + 1)
        for name, parameter in reference.named_parameters():
            if "norm" in name and name.endswith("weight"):
                parameter.copy_(1.0 + 0.2 * torch.randn(parameter.shape, generator=gen))
    mine = learner.ModernBertModel(config)
    load_weights(mine, reference.state_dict(), name="ModernBertModel")
    return mine.eval(), reference


def model_output(reference, input_ids, attention_mask, *, reach=None, global_layers=None,
                 swap_theta=False, one_theta=None, final_norm=True):  # fmt: skip
    """The reference's modules, wired right or in a known wrong way."""
    config = reference.config
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
    hidden = reference.embeddings(input_ids)
    reach = config.local_attention // 2 if reach is None else reach
    masks = {True: ref_masks.padding_mask(mask), False: ref_masks.sliding_window_mask(mask, reach)}
    positions = torch.arange(input_ids.shape[1])[None]
    rotary = {True: reference.global_rotary, False: reference.local_rotary}
    if swap_theta:
        rotary = {True: reference.local_rotary, False: reference.global_rotary}
    if one_theta is not None:  # one rotary embedding ("global" or "local") for every layer
        rotary = {kind: rotary[one_theta == "global"] for kind in (True, False)}
    for i, layer in enumerate(reference.layers):
        is_global = config.is_global(i) if global_layers is None else global_layers(i)
        hidden = layer(hidden, masks[is_global], rotary[is_global](positions))
    return reference.final_norm(hidden) if final_norm else hidden


def known_mistakes(reference, input_ids, attention_mask) -> Variants:
    half = reference.config.local_attention // 2
    every = reference.config.global_attn_every_n_layers

    def model(**wrong):
        def run():
            with torch.no_grad():
                return model_output(reference, input_ids, attention_mask, **wrong)

        return run

    return Variants([
        ("modernbert_window_off_by_one", model(reach=half - 1)),
        ("modernbert_window_off_by_one", model(reach=half + 1)),
        ("modernbert_window_full_width", model(reach=reference.config.local_attention)),
        ("modernbert_rope_theta_swapped", model(swap_theta=True)),
        ("modernbert_all_global", model(global_layers=lambda i: True)),
        ("modernbert_global_layers_wrong", model(global_layers=lambda i: (i + 1) % every == 0)),
        ("modernbert_single_rope_theta", model(one_theta="local")),
        ("modernbert_single_rope_theta", model(one_theta="global")),
        ("modernbert_final_norm_missing", model(final_norm=False)),
    ])  # fmt: skip


def compare_model(learner, config, seed, input_ids, attention_mask) -> None:
    mine, reference = build(learner, config, seed)
    batch, seq = input_ids.shape
    padding = "no attention_mask" if attention_mask is None else describe_mask(attention_mask)
    inputs = f"{describe(config)}; batch={batch}, seq={seq}; {padding}"
    with torch.no_grad():
        got = mine(input_ids, attention_mask)
        want = reference(input_ids, attention_mask).last_hidden_state
    expect_tensor(got, name="last_hidden_state", shape=(batch, seq, config.hidden_size),
                  dtype=torch.float32, inputs=inputs,
                  shape_names="(batch, seq, hidden)")  # fmt: skip
    real = None if attention_mask is None else attention_mask.bool()
    mistakes = known_mistakes(reference, input_ids, attention_mask) if final_example() else None
    expect_close(got, want, name="last_hidden_state", inputs=inputs, atol=ATOL, rtol=RTOL,
                 where=real, mistakes=mistakes)  # fmt: skip


def fixed_case():
    """Two rows of 9 (the second with 3 padded), longer than the window of 2 each side."""
    config = small_config()
    ids = torch.randint(1, config.vocab_size, (2, 9), generator=make_generator(3))
    mask = torch.tensor([[1] * 9, [1] * 6 + [0] * 3])
    return config, 5, ids.masked_fill(mask == 0, config.pad_token_id), mask


@st.composite
def model_cases(draw):
    heads, head_dim = draw(st.integers(1, 3)), draw(st.sampled_from([4, 2, 6, 8]))
    hidden = heads * head_dim
    config = small_config(
        hidden_size=hidden,
        num_attention_heads=heads,
        intermediate_size=draw(st.integers(1, 2 * hidden)),
        num_hidden_layers=draw(st.integers(1, 4)),
        global_attn_every_n_layers=draw(st.integers(1, 3)),
        local_attention=draw(st.sampled_from([4, 2, 6, 8])),
        norm_bias=draw(st.booleans()),
        norm_eps=draw(st.sampled_from([1e-5, 1e-12])),
    )
    batch, seq = draw(st.integers(1, 3)), draw(st.integers(1, 12))
    gen = make_generator(draw(seeds))
    ids = torch.randint(1, config.vocab_size, (batch, seq), generator=gen)
    mask = None
    if draw(st.booleans()):
        mask = draw(padding_masks(batch, seq, allow_fully_padded=False))
        ids = ids.masked_fill(mask == 0, config.pad_token_id)
    return config, draw(seeds), ids, mask


def test_loads_reference_weights_and_returns_batch_seq_hidden(learner):
    """ModernBertModel loads the reference's state dict and returns (batch, seq, hidden)"""
    config, seed, ids, mask = fixed_case()
    mine, _ = build(learner, config, seed)
    for m in (mask, None):
        with torch.no_grad():
            got = mine(ids, m)
        expect_tensor(got, name="last_hidden_state", shape=(2, 9, 16), dtype=torch.float32,
                      inputs=describe(config), shape_names="(batch, seq, hidden)")  # fmt: skip


@given(case=model_cases())
@example(case=fixed_case())
def test_matches_the_reference(learner, case):
    """matches the reference ModernBertModel (same weights) on random configs, real tokens"""
    compare_model(learner, *case)


def test_padding_does_not_change_real_tokens(learner):
    """a sentence gives the same vectors alone and right-padded in a longer batch"""
    config, seed, ids, _unused = fixed_case()
    mine, _unused = build(learner, config, seed)
    alone = ids[:1, :6]
    padded = torch.cat([alone, torch.full((1, 4), config.pad_token_id)], 1)
    mask = torch.tensor([[1] * 6 + [0] * 4])
    with torch.no_grad():
        a = mine(alone, None)
        b = mine(padded, mask)
    inputs = _("{dims}; one sentence of 6 tokens, alone and with 4 padded").format(
        dims=describe(config)
    )
    a = expect_tensor(a, name="last_hidden_state", shape=(1, 6, 16), inputs=inputs)
    b = expect_tensor(b, name="last_hidden_state", shape=(1, 10, 16), inputs=inputs)
    change = float((b[:, :6] - a).abs().max())
    if change > 1e-5:
        fail(_("adding padding changed the real tokens' outputs (by up to {change:.3g}): both "
               "masks, global and local, must block padded keys").format(change=change),
             inputs=inputs)  # fmt: skip


def test_train_mode_dropout_matches_the_reference(learner):
    """in train mode the same dropout masks fall in the same places as in the reference's"""
    config, seed, ids, mask = fixed_case()
    mine, reference = build(learner, config, seed)
    mine.train()
    reference.train()
    inputs = _("{dims}; batch=2, seq=9; {padding}; embedding, attention and MLP dropout 0.1; "
               "train mode, torch.manual_seed(7)").format(dims=describe(config),
                                                          padding=describe_mask(mask))
    with torch.no_grad():
        torch.manual_seed(7)
        got = mine(ids, mask)
        torch.manual_seed(7)
        want = reference(ids, mask).last_hidden_state
    got = expect_tensor(got, name="last_hidden_state", shape=(2, 9, 16), inputs=inputs)
    expect_close(got, want, name="last_hidden_state (train mode)", inputs=inputs, atol=ATOL,
                 rtol=RTOL, where=mask.bool())  # fmt: skip


def test_gradients_reach_the_embeddings_and_every_layer(learner):
    """the output stays in the autograd graph: gradients reach the embeddings and every layer"""
    config, seed, ids, mask = fixed_case()
    mine, _unused = build(learner, config, seed)
    inputs = f"{describe(config)}; batch=2, seq=9; {describe_mask(mask)}"
    out = expect_tensor(mine(ids, mask), name="last_hidden_state", shape=(2, 9, 16),
                        inputs=inputs)  # fmt: skip
    if not out.requires_grad:
        fail(_("last_hidden_state is detached: no torch.no_grad(), .detach(), .item() or numpy "
               "in forward, or the model cannot be trained"), inputs=inputs)  # fmt: skip
    out.sum().backward()
    for name, parameter in (("embeddings.tok_embeddings.weight", mine.embeddings.tok_embeddings
                             .weight),
                            *((f"layers.{i}.attn.Wqkv.weight", layer.attn.Wqkv.weight)
                              for i, layer in enumerate(mine.layers))):  # fmt: skip
        if parameter.grad is None or not bool(parameter.grad.abs().sum() > 0):
            fail(_("no gradient reaches {name}: is every layer's output used, through "
                   "differentiable operations?").format(name=name), inputs=inputs)  # fmt: skip
