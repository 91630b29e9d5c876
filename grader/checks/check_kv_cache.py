"""Checks for exercise kv_cache (exercises/e22_kv_cache.py).

Your TinyDecoder loads the weights of a reference decoder built from ``reference/variants``
(``CausalSelfAttention`` layers without RoPE, ``KVCache``, ``causal_padding_mask``,
``position_ids_from_attention_mask``) plus GPT-2-style token and position embeddings, and
must give the same outputs at prefill and at every decoding step; then two properties that
need no reference: prefill + one token at a time equals running the whole sequence at once,
and a left-padded row decodes exactly as it would alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
import torch
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st
from torch import nn

from grader.checks.kit import Variants, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import final_example, make_generator, randn, seeds
from grader.i18n import _
from reference.variants.decoder import CausalSelfAttention, DecoderConfig, KVCache
from reference.variants.masks import causal_padding_mask, position_ids_from_attention_mask

MODULE = "e22_kv_cache"
ATOL, RTOL = 1e-5, 1e-4

#: Each example builds and runs two decoders step by step: no shrinking (explicit examples
#: come first and already show the classic mistakes on small inputs).
no_shrinking = settings(phases=[Phase.explicit, Phase.generate], max_examples=15)


@pytest.fixture(scope="module")
def learner_module(learner):
    return learner


# --- the reference decoder, and the known mistakes as ways of running it ----------------------


class OverwritingCache(KVCache):
    """The mistake kv_cache_overwritten: keeps only the latest step's keys and values."""

    def update(self, layer_idx, key, value):
        if layer_idx == len(self.keys):
            self.keys.append(key)
            self.values.append(value)
        else:
            self.keys[layer_idx], self.values[layer_idx] = key, value
        return self.keys[layer_idx], self.values[layer_idx]


class ReferenceDecoder(nn.Module):
    """reference/variants' CausalSelfAttention layers (no RoPE) under wte + wpe embeddings."""

    def __init__(self, vocab: int, hidden: int, heads: int, layers: int, max_positions: int):
        super().__init__()
        config = DecoderConfig(
            vocab_size=vocab,
            hidden_size=hidden,
            num_attention_heads=heads,
            num_hidden_layers=layers,
            max_position_embeddings=max_positions,
        )
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(max_positions, hidden)
        self.layers = nn.ModuleList(CausalSelfAttention(config, i) for i in range(layers))

    def forward(self, input_ids, attention_mask, cache=None, wrong: str | None = None):
        """``wrong`` names a known mistake to make on purpose (None: the right computation)."""
        batch, q_len = input_ids.shape
        past = cache.get_seq_length() if cache is not None else 0
        if wrong == "kv_cache_positions_restart":
            positions = torch.arange(q_len).expand(batch, q_len)
        elif wrong == "kv_cache_positions_count_padding" or (
            wrong == "count_padding_when_decoding" and past  # the prefill counted right
        ):
            positions = (past + torch.arange(q_len)).expand(batch, q_len)
        elif wrong == "kv_cache_positions_off_by_one":  # cumsum without the - 1
            positions = attention_mask.cumsum(-1)[:, -q_len:]
        else:
            positions = position_ids_from_attention_mask(attention_mask)[:, -q_len:]
        hidden = self.wte(input_ids) + self.wpe(positions)
        if wrong == "kv_cache_mask_not_shifted":  # the first q_len rows of the full mask
            mask = causal_padding_mask(attention_mask, None, hidden.dtype)[:, :, :q_len]
        elif wrong == "kv_cache_padding_forgotten" and past:  # only the new tokens' mask
            mask = causal_padding_mask(torch.ones_like(attention_mask), q_len, hidden.dtype)
        else:
            mask = causal_padding_mask(attention_mask, q_len, hidden.dtype)
        for layer in self.layers:
            hidden = hidden + layer(hidden, mask, None, cache)
        return hidden


@dataclass(frozen=True)
class Case:
    vocab: int
    hidden: int
    heads: int
    layers: int
    seed: int
    input_ids: torch.Tensor  # (batch, prompt + steps)
    attention_mask: torch.Tensor  # (batch, prompt + steps), left padding in the prompt
    prompt: int  # prefill length; the rest is fed one token at a time

    @property
    def steps(self) -> int:
        return self.input_ids.shape[1] - self.prompt

    def describe(self) -> str:
        batch = self.input_ids.shape[0]
        padded = (self.attention_mask[:, : self.prompt] == 0).sum(-1).tolist()
        padding = ", ".join(_("row {row} left-padded by {n}").format(row=i, n=n)
                            for i, n in enumerate(padded) if n)  # fmt: skip
        return _("hidden={hidden}, heads={heads} (d_head={d_head}), layers={layers}; "
                 "batch={batch}, prompt of {prompt} then {steps} token(s) one at a time; "
                 "{padding}").format(
            hidden=self.hidden, heads=self.heads, d_head=self.hidden // self.heads,
            layers=self.layers, batch=batch, prompt=self.prompt, steps=self.steps,
            padding=padding or _("no padding"))  # fmt: skip


def make_case(vocab, heads, d_head, layers, seed, batch, prompt, steps, pads) -> Case:
    gen = make_generator(seed)
    ids = torch.randint(0, vocab, (batch, prompt + steps), generator=gen)
    mask = torch.ones(batch, prompt + steps, dtype=torch.long)
    for row, n in enumerate(pads):
        mask[row, :n] = 0
    return Case(vocab, heads * d_head, heads, layers, seed, ids, mask, prompt)


@st.composite
def cases(draw, *, steps_min: int = 1) -> Case:
    batch, prompt = draw(st.integers(1, 3)), draw(st.integers(1, 6))
    pads = [draw(st.integers(0, prompt - 1)) for _ in range(batch)]  # >= 1 real token each
    return make_case(
        vocab=draw(st.integers(5, 30)),
        heads=draw(st.integers(1, 3)),
        d_head=draw(st.integers(1, 6)),
        layers=draw(st.integers(1, 2)),
        seed=draw(seeds),
        batch=batch,
        prompt=prompt,
        steps=draw(st.integers(steps_min, 3)),
        pads=pads,
    )


#: Left padding in row 1, two decoding steps: every mistake shows.
EXAMPLE = make_case(
    vocab=11, heads=2, d_head=3, layers=2, seed=0, batch=2, prompt=4, steps=2, pads=[0, 2]
)


def build(module, case: Case):
    """(yours, the reference) with the same seeded weights."""
    max_positions = case.input_ids.shape[1] + 2
    reference = ReferenceDecoder(case.vocab, case.hidden, case.heads, case.layers, max_positions)
    gen = make_generator(case.seed + 1)
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            noise = torch.randn(parameter.shape, generator=gen)
            parameter.copy_(noise if name.startswith("w") else noise / parameter.shape[1] ** 0.5)
    mine = module.TinyDecoder(case.vocab, case.hidden, case.heads, case.layers, max_positions)
    load_weights(mine, reference.state_dict(), name="TinyDecoder")
    return mine.eval(), reference.eval()


def run_incrementally(model, cache, case: Case, **wrong) -> torch.Tensor:
    """Prefill the prompt, then feed the rest one token at a time; all outputs side by side
    (batch, prompt + steps, hidden)."""
    ids, mask, prompt = case.input_ids, case.attention_mask, case.prompt
    outputs = [model(ids[:, :prompt], mask[:, :prompt], cache, **wrong)]
    for t in range(prompt, ids.shape[1]):
        outputs.append(model(ids[:, t : t + 1], mask[:, : t + 1], cache, **wrong))
    return outputs


def check_output(got, shape, inputs: str, what: str) -> torch.Tensor:
    return expect_tensor(
        got,
        name=_("output of {what}").format(what=what),
        shape=shape,
        inputs=inputs,
        shape_names="(batch, q_len, hidden)",
    )


def known_mistakes(reference, case: Case) -> Variants:
    def run(wrong, cache_cls=KVCache):
        return lambda: torch.cat(run_incrementally(reference, cache_cls(), case, wrong=wrong), 1)

    mistakes = Variants(
        (m, run(m))
        for m in (
            "kv_cache_mask_not_shifted",
            "kv_cache_positions_restart",
            "kv_cache_positions_count_padding",
            "kv_cache_padding_forgotten",
            "kv_cache_positions_off_by_one",
        )
    )
    mistakes.append(("kv_cache_positions_count_padding", run("count_padding_when_decoding")))
    mistakes.append(("kv_cache_overwritten", run(None, OverwritingCache)))
    return mistakes


def run_learner(model, cache, case: Case) -> list[torch.Tensor]:
    """run_incrementally on your decoder; an embedding lookup out of range is a verdict."""
    try:
        return run_incrementally(model, cache, case)
    except IndexError as err:
        if "index out of range in self" not in str(err):  # not an embedding lookup
            raise
        left_padded = bool((case.attention_mask[:, 0] == 0).any())
        fail(
            _("an embedding lookup failed ({err}): a position id is outside 0 .. "
              "max_position_embeddings - 1. With left padding, attention_mask.cumsum(-1) - 1 "
              "is -1 on the pads: clamp it at 0").format(err=err),
            inputs=case.describe(),
            diagnosis="kv_cache_positions_not_clamped" if left_padded else None,
        )


# --- checks -----------------------------------------------------------------------------------


def test_cache_appends_along_the_sequence_axis(learner_module):
    """KVCache.update appends along seq: (batch, heads, seq_so_far, d_head), one entry per layer"""
    cache = learner_module.KVCache()
    inputs = _("prefill keys/values (2, 3, 4, 5) for layers 0 and 1, then one step (2, 3, 1, 5)")
    if cache.get_seq_length() != 0:
        fail(
            _("an empty cache should report length 0, got {length}").format(
                length=cache.get_seq_length()
            ),
            inputs=_("a fresh KVCache()"),
        )
    first = [randn((2, 3, 4, 5), s) for s in range(4)]
    step = [randn((2, 3, 1, 5), s) for s in range(4, 8)]
    for layer in (0, 1):
        cache.update(layer, first[2 * layer], first[2 * layer + 1])
        if layer == 0 and (cache.get_seq_length(0), cache.get_seq_length(1)) != (4, 0):
            fail(
                _("after a prefill of 4 positions for layer 0 only, get_seq_length(0) and "
                  "get_seq_length(1) give {lengths}; expected (4, 0): count the positions of "
                  "the layer asked for, self.keys[layer_idx], and 0 for a layer not filled "
                  "yet").format(lengths=(cache.get_seq_length(0), cache.get_seq_length(1))),
                inputs=_("prefill keys/values (2, 3, 4, 5) for layer 0 only"),
            )
    for layer in (0, 1):
        try:
            result = cache.update(layer, step[2 * layer], step[2 * layer + 1])
        except RuntimeError as err:  # torch.cat along heads or d_head: the seq sizes differ
            if "Sizes of tensors must match" not in str(err):
                raise
            fail(
                _("appending one step to a prefill of 4 positions raised: {err}. The cache "
                  "must grow along seq (dim=-2), where the sizes may differ").format(err=err),
                inputs=inputs,
                diagnosis="kv_cache_wrong_axis",
            )
        if not isinstance(result, tuple | list) or len(result) != 2:
            fail(
                _("update should return the pair (keys, values), got {kind}").format(
                    kind=type(result).__name__
                ),
                inputs=inputs,
            )
        keys, values = result
        for name, got in (("keys", keys), ("values", values)):
            if not isinstance(got, torch.Tensor):
                fail(
                    _("update should return tensors, got {kind} for {name}").format(
                        kind=type(got).__name__, name=name
                    ),
                    inputs=inputs,
                )
            if tuple(got.shape) == (2, 3, 5, 5):
                continue
            diagnosis = {
                (2, 6, 4, 5): "kv_cache_wrong_axis",
                (4, 3, 4, 5): "kv_cache_wrong_axis",
                (2, 3, 4, 10): "kv_cache_wrong_axis",
                (2, 3, 1, 5): "kv_cache_overwritten",
            }.get(tuple(got.shape))
            fail(
                _("after a prefill of 4 positions and one step, layer {layer}'s {name} have "
                  "shape {shape}; expected (2, 3, 5, 5) (batch, heads, seq_so_far, "
                  "d_head)").format(layer=layer, name=name, shape=tuple(got.shape)),
                inputs=inputs,
                diagnosis=diagnosis,
            )
        want_keys = torch.cat((first[2 * layer], step[2 * layer]), dim=-2)
        expect_close(keys, want_keys, name=f"keys of layer {layer}", inputs=inputs, atol=0, rtol=0)
    stored = [cache.keys[layer].shape[-2] if layer < len(cache.keys) else 0 for layer in (0, 1)]
    if stored != [5, 5]:
        fail(
            _("update returned keys for 5 positions, but the cache holds {stored} (layers 0 and "
              "1): store the concatenation in self.keys[layer_idx] and self.values[layer_idx], or "
              "the next step loses this one").format(stored=stored),
            inputs=inputs,
        )
    if cache.get_seq_length() != 5 or cache.get_seq_length(1) != 5:
        fail(
            _("get_seq_length() should be 5 after 4 + 1 positions, got {length}").format(
                length=cache.get_seq_length()
            ),
            inputs=inputs,
        )
    fresh = learner_module.KVCache()
    if fresh.get_seq_length() != 0 or fresh.keys is cache.keys or fresh.values is cache.values:
        fail(
            _("a second KVCache() starts with length {length} and shares its lists with the "
              "first: keys and values are class attributes (one list for every cache ever "
              "made); create them in __init__ (self.keys = [])").format(
                length=fresh.get_seq_length()
            ),
            inputs=inputs + "; " + _("then a fresh KVCache()"),
            diagnosis="kv_cache_shared_between_instances",
        )


@given(case=cases())
@example(case=EXAMPLE)
@no_shrinking
def test_attention_without_a_cache_matches_the_reference(learner_module, case):
    """CachedSelfAttention without a cache equals the reference causal attention layer"""
    mine, reference = build(learner_module, case)
    x = randn((case.input_ids.shape[0], case.prompt, case.hidden), case.seed + 2)
    mask = case.attention_mask[:, : case.prompt]
    inputs = case.describe() + "; " + _("one layer, the prompt only, cache=None")
    with torch.no_grad():
        got = mine.layers[0](x, mask, None)
        want = reference.layers[0](x, causal_padding_mask(mask, None, x.dtype), None, None)
    got = check_output(got, tuple(x.shape), inputs, "CachedSelfAttention")
    expect_close(got, want, name="output", inputs=inputs, atol=ATOL, rtol=RTOL, where=mask.bool())


@given(case=cases())
@example(case=EXAMPLE)
@no_shrinking
def test_prefill_then_decoding_matches_the_reference(learner_module, case):
    """prefill then one token at a time: every step's output matches the reference decoder"""
    mine, reference = build(learner_module, case)
    inputs = case.describe()
    with torch.no_grad():
        got_steps = run_learner(mine, learner_module.KVCache(), case)
        want_steps = run_incrementally(reference, KVCache(), case)
        for step, (got, want) in enumerate(zip(got_steps, want_steps, strict=True)):
            what = _("the prefill") if step == 0 else _("decoding step {step}").format(step=step)
            check_output(got, tuple(want.shape), inputs, what)
        got = torch.cat(got_steps, 1)
        want = torch.cat(want_steps, 1)
        mistakes = known_mistakes(reference, case) if final_example() else None
        expect_close(
            got,
            want,
            name=_("outputs (prefill, then each step)"),
            inputs=inputs,
            atol=ATOL,
            rtol=RTOL,
            where=case.attention_mask.bool(),
            mistakes=mistakes,
        )


def test_cache_shapes_after_decoding(learner_module):
    """after a prefill of 4 and 2 steps every layer caches (batch, heads, 6, d_head)"""
    case = EXAMPLE
    mine, _ = build(learner_module, case)
    cache = learner_module.KVCache()
    with torch.no_grad():
        run_learner(mine, cache, case)
    want = (2, case.heads, 6, case.hidden // case.heads)
    for layer in range(case.layers):
        for name, stored in (("keys", cache.keys), ("values", cache.values)):
            got = stored[layer] if layer < len(stored) else None
            got = expect_tensor(
                got,
                name=f"cache.{name}[{layer}]",
                shape=want,
                inputs=case.describe(),
                shape_names="(batch, heads, seq_so_far, d_head)",
            )


@given(case=cases())
@example(case=EXAMPLE)
@no_shrinking
def test_decoding_equals_full_recomputation(learner_module, case):
    """prefill + one token at a time equals running the whole sequence at once (no reference)"""
    mine, _unused = build(learner_module, case)
    inputs = case.describe()
    with torch.no_grad():
        incremental = torch.cat(run_learner(mine, learner_module.KVCache(), case), 1)
        full = mine(case.input_ids, case.attention_mask, None)
    full = check_output(full, tuple(incremental.shape), inputs, _("the whole sequence"))
    expect_close(
        incremental,
        full,
        name="incremental outputs",
        inputs=inputs + "; " + _("compared with the whole sequence run without a cache"),
        atol=ATOL,
        rtol=RTOL,
        where=case.attention_mask.bool(),
    )


def test_a_left_padded_row_decodes_as_if_alone(learner_module):
    """a prompt left-padded in a batch gives the outputs it gives alone, at every step"""
    case = EXAMPLE  # row 1: two pads, then a 2-token prompt, then 2 steps
    mine, _unused = build(learner_module, case)
    alone = Case(
        case.vocab,
        case.hidden,
        case.heads,
        case.layers,
        case.seed,
        case.input_ids[1:, 2:],
        case.attention_mask[1:, 2:],
        case.prompt - 2,
    )
    with torch.no_grad():
        batched = torch.cat(run_learner(mine, learner_module.KVCache(), case), 1)[1:, 2:]
        single = torch.cat(run_learner(mine, learner_module.KVCache(), alone), 1)
    inputs = (
        case.describe() + "; "
        + _("row 1 compared with the same prompt and tokens run alone (no padding)")
    )
    if batched.shape == single.shape and not torch.allclose(batched, single, atol=1e-5):
        fail(
            _("row 1 gives different outputs in the left-padded batch than alone: its real "
              "tokens must get the positions they get alone (count real tokens only)"),
            inputs=inputs,
            diagnosis="kv_cache_positions_count_padding",
        )


def test_no_attention_mask_means_every_token_is_real(learner_module):
    """attention_mask=None at prefill and at every step equals an all-ones mask over cache + new"""
    case = make_case(vocab=11, heads=2, d_head=3, layers=2, seed=3, batch=2, prompt=3, steps=2,
                     pads=[0, 0])  # fmt: skip
    mine, _unused = build(learner_module, case)
    inputs = case.describe() + "; " + _("attention_mask=None at the prefill and at every step")
    ids, prompt = case.input_ids, case.prompt
    with torch.no_grad():
        want = torch.cat(run_learner(mine, learner_module.KVCache(), case), 1)
        cache = learner_module.KVCache()
        got = [mine(ids[:, :prompt], None, cache)]
        got += [mine(ids[:, t : t + 1], None, cache) for t in range(prompt, ids.shape[1])]
        for step, out in enumerate(got):
            what = _("the prefill") if step == 0 else _("decoding step {step}").format(step=step)
            check_output(out, (ids.shape[0], prompt if step == 0 else 1, case.hidden), inputs,
                         what)  # fmt: skip
    got, want = torch.cat(got, 1).double(), want.double()
    difference = (got - want).abs().nan_to_num(nan=math.inf)
    if bool((difference - RTOL * want.abs() > ATOL).any()):
        fail(_("with attention_mask=None your outputs differ from your own outputs for an "
               "all-ones attention_mask over the cached and the new tokens (largest difference "
               "{diff:.3g}): None means that every token is real").format(
                   diff=float(difference.max())), inputs=inputs)  # fmt: skip


def test_gradients_reach_every_weight(learner_module):
    """without a cache the decoder is trainable: its gradients equal the reference's"""
    case = make_case(vocab=11, heads=2, d_head=3, layers=2, seed=4, batch=2, prompt=5, steps=0,
                     pads=[0, 0])  # fmt: skip
    mine, reference = build(learner_module, case)
    mine.train(), reference.train()
    weights = randn((2, case.prompt, case.hidden), case.seed + 5)
    inputs = case.describe() + "; " + _("cache=None, loss = sum(output · fixed random weights)")
    out = mine(case.input_ids, case.attention_mask, None)
    out = check_output(out, tuple(weights.shape), inputs, _("the whole sequence"))
    if not out.requires_grad:
        fail(_("the output is detached: no torch.no_grad(), .detach(), .item() or numpy in "
               "forward, or the decoder cannot be trained"), inputs=inputs)  # fmt: skip
    (out * weights).sum().backward()
    (reference(case.input_ids, case.attention_mask) * weights).sum().backward()
    mine_parameters = dict(mine.named_parameters())
    for name, parameter in reference.named_parameters():
        got = mine_parameters[name].grad
        if got is None:
            fail(_("no gradient reaches {name}").format(name=name), inputs=inputs)
        expect_close(got, parameter.grad, name=f"{name}.grad", inputs=inputs, atol=ATOL,
                     rtol=RTOL)  # fmt: skip


def test_float16_decoding_stays_float16(learner_module):
    """a float16 decoder decodes in float16: masks in the scores' dtype, outputs near float32's"""
    case = EXAMPLE
    mine, reference = build(learner_module, case)
    mine = mine.to(torch.float16)
    inputs = case.describe() + "; " + _("the decoder's weights in float16 (model.half())")
    with torch.no_grad():
        want = torch.cat(run_incrementally(reference, KVCache(), case), 1)
        try:
            got_steps = run_learner(mine, learner_module.KVCache(), case)
        except RuntimeError as err:
            fail(_("a float16 decoder raised: {err}. Keep every tensor in the hidden states' "
                   "dtype: build the mask with causal_mask(attention_mask, "
                   "hidden_states.dtype)").format(err=err), inputs=inputs)  # fmt: skip
    for step, got in enumerate(got_steps):
        what = _("the prefill") if step == 0 else _("decoding step {step}").format(step=step)
        shape = (want.shape[0], case.prompt if step == 0 else 1, case.hidden)
        expect_tensor(got, name=_("output of {what}").format(what=what), shape=shape,
                      dtype=torch.float16, inputs=inputs)  # fmt: skip
    # float16 keeps about 3 significant digits; two layers of rounding stay well within 16 steps
    step = torch.finfo(torch.float16).eps
    expect_close(torch.cat(got_steps, 1).float(), want, name=_("outputs (prefill, then each step)"),
                 inputs=inputs, atol=16 * step, rtol=16 * step,
                 where=case.attention_mask.bool())  # fmt: skip
