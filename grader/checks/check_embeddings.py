"""Checks for exercise embeddings (exercises/e06_embeddings.py)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import describe, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import (
    TokenBatch,
    bert_configs,
    describe_config,
    final_example,
    make_generator,
    randomize_parameters_,
    seeds,
    token_batches,
)
from grader.i18n import _
from reference import BertConfig
from reference import modeling as ref

MODULE = "e06_embeddings"
ATOL, RTOL = 1e-5, 1e-4
FIELDS = ("hidden", "vocab", "positions", "type_vocab", "eps")  # what embeddings depend on


@pytest.fixture(scope="module")
def embeddings_cls(learner):
    return learner.BertEmbeddings


@pytest.fixture(scope="module")
def sinusoids(learner):
    return learner.sinusoidal_position_encoding


def small_config(**overrides) -> BertConfig:
    values = dict(vocab_size=20, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=16, max_position_embeddings=12, type_vocab_size=2)  # fmt: skip
    return BertConfig(**{**values, **overrides})


def build(embeddings_cls, config: BertConfig, seed: int):
    """(yours, the reference) with the same seeded weights, both in eval mode."""
    reference = randomize_parameters_(ref.BertEmbeddings(config), seed).eval()
    mine = embeddings_cls(config)
    load_weights(mine, reference.state_dict(), name="BertEmbeddings")
    return mine.eval(), reference


def fixed_batch(config: BertConfig, batch: int, seq: int, seed: int) -> TokenBatch:
    gen = make_generator(seed)
    ids = torch.randint(0, config.vocab_size, (batch, seq), generator=gen)
    types = torch.randint(0, config.type_vocab_size, (batch, seq), generator=gen)
    return TokenBatch(ids, None, types)


# --- how the known mistakes compute -----------------------------------------------------------


def embedding_model(
    reference, ids, types, *, positions=True, token_types=True, layer_norm=True, first=0
):
    """BERT's embeddings with the reference's weights, each piece removable."""
    seq = ids.size(1)
    x = reference.word_embeddings(ids)
    if positions:
        x = x + reference.position_embeddings(torch.arange(first, first + seq))
    if token_types:
        x = x + reference.token_type_embeddings(torch.zeros_like(ids) if types is None else types)
    return reference.LayerNorm(x) if layer_norm else x


def known_mistakes(reference, ids, types) -> dict:
    def model(**wrong):
        return lambda: embedding_model(reference, ids, types, **wrong)

    return {
        "emb_no_position_embeddings": model(positions=False),
        "emb_no_token_type_embeddings": model(token_types=False),
        "emb_missing_layer_norm": model(layer_norm=False),
        "emb_positions_start_at_one": model(first=1),  # raises (so says nothing) when it can't
    }


def compare(embeddings_cls, config: BertConfig, seed: int, case: TokenBatch) -> None:
    mine, reference = build(embeddings_cls, config, seed)
    ids, types = case.input_ids, case.token_type_ids
    inputs = f"{describe_config(config, *FIELDS)}; {case.describe(mask=False)}"
    with torch.no_grad():
        got = mine(ids, types)
        want = reference(ids, torch.zeros_like(ids) if types is None else types)
    expect_tensor(got, name="embeddings", shape=(*ids.shape, config.hidden_size),
                  inputs=inputs, shape_names="(batch, seq, hidden)")  # fmt: skip
    mistakes = known_mistakes(reference, ids, types) if final_example() else None
    expect_close(got, want, name="embeddings", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip


# --- BertEmbeddings ---------------------------------------------------------------------------


def test_forward_returns_batch_seq_hidden(embeddings_cls):
    """forward returns a float tensor (batch, seq, hidden)"""
    config = small_config()
    mine, _ = build(embeddings_cls, config, 0)
    case = fixed_batch(config, 2, 5, 1)
    with torch.no_grad():
        got = mine(case.input_ids, case.token_type_ids)
    expect_tensor(got, name="embeddings", shape=(2, 5, 8), dtype=torch.float32,
                  inputs=f"{describe_config(config, *FIELDS)}; {case.describe(mask=False)}",
                  shape_names="(batch, seq, hidden)")  # fmt: skip


@given(config=bert_configs(), seed=seeds, data=st.data())
def test_matches_the_reference(embeddings_cls, config, seed, data):
    """output matches the reference BertEmbeddings (eval mode, same weights)"""
    case = data.draw(token_batches(config, masked=None, token_types=True), label="batch")
    compare(embeddings_cls, config, seed, case)


def test_token_type_ids_default_to_zeros(embeddings_cls):
    """without token_type_ids every token is in segment A (token type 0), whose row is added"""
    config = small_config()
    mine, reference = build(embeddings_cls, config, 2)
    ids = fixed_batch(config, 2, 6, 3).input_ids
    inputs = f"{describe_config(config, *FIELDS)}; batch=2, seq=6; token_type_ids=None"
    with torch.no_grad():
        got = mine(ids)
        want = reference(ids, torch.zeros_like(ids))
    expect_close(got, want, name="embeddings", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=known_mistakes(reference, ids, None))  # fmt: skip


def test_every_learned_position_is_usable(embeddings_cls):
    """a sequence of exactly max_position_embeddings tokens works: positions are 0 .. seq-1"""
    config = small_config(max_position_embeddings=7)
    mine, reference = build(embeddings_cls, config, 4)
    case = fixed_batch(config, 1, 7, 5)
    inputs = f"{describe_config(config, *FIELDS)}; {case.describe(mask=False)}"
    try:
        with torch.no_grad():
            got = mine(case.input_ids, case.token_type_ids)
    except IndexError as err:
        fail(
            _("a sequence of max_position_embeddings tokens raised IndexError ({err}): a "
              "position id reached {max_position_embeddings}, one past the last row").format(
                err=err, max_position_embeddings=config.max_position_embeddings
            ),
            inputs=inputs,
            diagnosis="emb_positions_start_at_one",
        )
    with torch.no_grad():
        want = reference(case.input_ids, case.token_type_ids)
    mistakes = known_mistakes(reference, case.input_ids, case.token_type_ids)
    expect_close(got, want, name="embeddings", inputs=inputs, atol=ATOL, rtol=RTOL,
                 mistakes=mistakes)  # fmt: skip


def test_dropout_comes_after_layer_norm(embeddings_cls):
    """in train mode dropout acts on LayerNorm's output, with the reference's mask"""
    config = small_config(hidden_dropout_prob=0.3)
    mine, reference = build(embeddings_cls, config, 6)
    case = fixed_batch(config, 2, 5, 7)
    ids, types = case.input_ids, case.token_type_ids
    inputs = f"{describe_config(config, *FIELDS)}; {case.describe(mask=False)}; " + _(
        "hidden_dropout_prob=0.3; train mode, torch.manual_seed(11)"
    )

    def dropout_before_layer_norm():
        torch.manual_seed(11)
        summed = embedding_model(reference, ids, types, layer_norm=False)
        return reference.LayerNorm(reference.dropout(summed))

    with torch.no_grad():
        evaluated = mine(ids, types)
        mine.train()
        reference.train()
        torch.manual_seed(11)
        got = expect_tensor(mine(ids, types), name="embeddings", shape=(2, 5, 8), inputs=inputs)
        torch.manual_seed(11)
        want = reference(ids, types)
        if torch.allclose(got, evaluated):
            fail(_("in train mode the output equals eval mode's: apply self.dropout to "
                   "LayerNorm's output"), inputs=inputs)  # fmt: skip
        mistakes = {"emb_dropout_before_layer_norm": dropout_before_layer_norm}
        expect_close(got, want, name="embeddings (train mode)", inputs=inputs, atol=ATOL,
                     rtol=RTOL, mistakes=mistakes)  # fmt: skip


def test_layer_norm_uses_the_config_eps(embeddings_cls):
    """LayerNorm uses config.layer_norm_eps (here 0.1, large enough to show)"""
    config = small_config(layer_norm_eps=0.1)
    mine, reference = build(embeddings_cls, config, 8)
    case = fixed_batch(config, 2, 5, 9)
    ids, types = case.input_ids, case.token_type_ids
    inputs = f"{describe_config(config, *FIELDS)}; {case.describe(mask=False)}"
    with torch.no_grad():
        got = expect_tensor(mine(ids, types), name="embeddings", shape=(2, 5, 8), inputs=inputs)
        want = reference(ids, types)
        summed = embedding_model(reference, ids, types, layer_norm=False)
        norm = reference.LayerNorm
        tiny_eps = F.layer_norm(summed, norm.normalized_shape, norm.weight, norm.bias, 1e-12)
        if torch.allclose(got, tiny_eps, rtol=RTOL, atol=ATOL):
            fail(_("LayerNorm ignored config.layer_norm_eps ({eps:g}): your output is LayerNorm "
                   "with a tiny eps (a default such as 1e-12 or 1e-5); call self.LayerNorm, "
                   "which was built with the config's eps").format(eps=config.layer_norm_eps),
                 inputs=inputs)  # fmt: skip
    expect_close(got, want, name="embeddings", inputs=inputs, atol=ATOL, rtol=RTOL)


def test_gradients_match_the_reference(embeddings_cls):
    """gradients reach the three embedding tables and LayerNorm, as the reference's"""
    config = small_config()
    mine, reference = build(embeddings_cls, config, 10)
    case = fixed_batch(config, 2, 5, 11)
    loss_weights = torch.randn((2, 5, 8), generator=make_generator(12))
    inputs = f"{describe_config(config, *FIELDS)}; {case.describe(mask=False)}; " + _(
        "loss = sum(embeddings * fixed random weights)"
    )
    names = ("word_embeddings", "position_embeddings", "token_type_embeddings", "LayerNorm")
    grads = []
    for model in (mine, reference):
        out = model(case.input_ids, case.token_type_ids)
        if model is mine:
            out = expect_tensor(out, name="embeddings", shape=(2, 5, 8), inputs=inputs)
            if not out.requires_grad:
                fail(_("the output is detached: no torch.no_grad(), .detach(), .item() or "
                       "numpy in forward, or the embeddings cannot be trained"),
                     inputs=inputs)  # fmt: skip
        (out * loss_weights).sum().backward()
        grads.append({f"{name}.weight": getattr(model, name).weight.grad for name in names})
    for name, want in grads[1].items():
        got = grads[0][name]
        if got is None:
            fail(_("no gradient reaches {name}").format(name=name), inputs=inputs)
        expect_close(got, want, name=f"{name}.grad", inputs=inputs, atol=ATOL, rtol=RTOL)


# --- sinusoidal_position_encoding -------------------------------------------------------------


def vaswani(seq_len: int, dim: int, *, halves: bool = False, pair_exponent: bool = False):
    """PE in float64. Column j has frequency 1 / 10000^(2 * (j // 2) / dim), sin for even j,
    cos for odd j. ``halves``: all sines then all cosines; ``pair_exponent``: i / dim."""
    position = torch.arange(seq_len, dtype=torch.float64)[:, None]
    pairs = torch.arange((dim + 1) // 2, dtype=torch.float64)
    exponent = pairs / dim if pair_exponent else 2 * pairs / dim
    angles = position / 10000.0**exponent  # (seq_len, ceil(dim / 2))
    sines, cosines = angles.sin(), angles[:, : dim // 2].cos()
    if halves:
        return torch.cat([sines, cosines], dim=1)
    encoding = torch.empty(seq_len, dim, dtype=torch.float64)
    encoding[:, 0::2], encoding[:, 1::2] = sines, cosines
    return encoding


def sinusoid_mistakes(seq_len: int, dim: int) -> dict:
    return {
        "emb_sinusoid_halves_not_interleaved": lambda: vaswani(seq_len, dim, halves=True),
        "emb_sinusoid_exponent_i_over_d": lambda: vaswani(seq_len, dim, pair_exponent=True),
    }


def sinusoid_tolerance(seq_len: int) -> float:
    # float32 angles pos * frequency lose ~1e-7 relative: ~3e-5 absolute at position 500.
    return 2e-5 + 1.5e-7 * seq_len


def call_sinusoids(sinusoids, seq_len: int, dim: int, inputs: str):
    got = sinusoids(seq_len, dim)
    return expect_tensor(got, name="PE", shape=(seq_len, dim), inputs=inputs,
                         shape_names="(seq_len, dim)")  # fmt: skip


def test_sinusoids_have_shape_seq_len_by_dim(sinusoids):
    """sinusoidal_position_encoding returns float32 (seq_len, dim)"""
    got = sinusoids(8, 6)
    expect_tensor(got, name="PE", shape=(8, 6), dtype=torch.float32,
                  inputs="seq_len=8, dim=6", shape_names="(seq_len, dim)")  # fmt: skip


@given(seq_len=st.integers(1, 64), half_dim=st.integers(1, 32))
def test_sinusoids_match_vaswani_et_al(sinusoids, seq_len, half_dim):
    """sin in even columns, cos in odd ones, frequency 1/10000^(2i/dim) (even dim)"""
    dim = 2 * half_dim
    inputs = describe(seq_len=seq_len, dim=dim)
    got = call_sinusoids(sinusoids, seq_len, dim, inputs)
    expect_close(got, vaswani(seq_len, dim), name="PE", inputs=inputs,
                 atol=sinusoid_tolerance(seq_len), rtol=0.0,
                 mistakes=sinusoid_mistakes(seq_len, dim) if final_example() else None)  # fmt: skip


def test_sinusoids_for_an_odd_dim(sinusoids):
    """an odd dim works: the last column is a sine with exponent (dim - 1) / dim"""
    for dim in (1, 3, 5, 9):
        inputs = describe(seq_len=10, dim=dim)
        try:
            got = call_sinusoids(sinusoids, 10, dim, inputs)
        except RuntimeError as err:
            fail(
                _("an odd dim raised RuntimeError ({error}): with dim odd "
                  "there are dim // 2 + 1 sine columns but only dim // 2 cosine columns").format(
                    error=str(err).splitlines()[0]
                ),
                inputs=inputs,
            )
        expect_close(got, vaswani(10, dim), name="PE", inputs=inputs,
                     atol=sinusoid_tolerance(10), rtol=0.0,
                     mistakes=sinusoid_mistakes(10, dim))  # fmt: skip


def test_sinusoids_stay_accurate_at_long_lengths(sinusoids):
    """2048 positions by 128 columns: still the formula (watch float32 angle error)"""
    inputs = describe(seq_len=2048, dim=128)
    got = call_sinusoids(sinusoids, 2048, 128, inputs)
    expect_close(got, vaswani(2048, 128), name="PE", inputs=inputs,
                 atol=sinusoid_tolerance(2048), rtol=0.0,
                 mistakes=sinusoid_mistakes(2048, 128))  # fmt: skip


def test_sinusoid_similarity_depends_only_on_the_offset(sinusoids):
    """PE[p] . PE[p + k] is the same for every p: the encoding sees relative offsets"""
    seq_len, dim = 64, 32
    pe = call_sinusoids(sinusoids, seq_len, dim, describe(seq_len=seq_len, dim=dim)).double()
    for k in (1, 5, 17):
        dots = (pe[:-k] * pe[k:]).sum(-1)
        spread = float(dots.max() - dots.min())
        if spread > 1e-3 * dim:
            fail(
                _("PE[p] . PE[p + {k}] varies with p (by {spread:.3g}): each column pair must "
                  "be (sin, cos) of the same angle pos * frequency, so a shift by k is a "
                  "rotation").format(k=k, spread=spread),
                inputs=describe(seq_len=seq_len, dim=dim),
            )
    expected_zero = (pe[0] - torch.tensor([0.0, 1.0] * (dim // 2), dtype=pe.dtype)).abs().max()
    if math.isnan(float(expected_zero)) or expected_zero > 1e-6:
        fail(_("PE[0] should be [0, 1, 0, 1, ...]: sin(0) = 0, cos(0) = 1"),
             inputs=describe(seq_len=seq_len, dim=dim))  # fmt: skip
