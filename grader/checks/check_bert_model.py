"""Checks for exercise bert_model (exercises/e17_bert_model.py), the capstone.

Your BertModel, built from your own embeddings, layers and pooler, is compared with the
reference on small random configurations, then on the real all-MiniLM-L6-v2 weights with
the reference *and* with Hugging Face transformers itself. This is the one check module that
imports transformers: the capstone answers to the real thing.

Importing transformers takes seconds, so its outputs on the fixed real-weight inputs are
computed once by ``prepare`` — which the grading worker runs in a fork of its own, before
and apart from any learner code — and cached under ``.bertprep/cache/``, keyed by the
versions of transformers and torch, the weights file and the inputs. Without the cache the
check computes them with transformers on the spot.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.checks.kit import (
    Variants,
    expect_close,
    expect_tensor,
    fail,
    load_weights,
    skip_init,
)
from grader.checks.strategies import (
    TokenBatch,
    bert_configs,
    describe_config,
    final_example,
    make_generator,
    randn,
    randomize_parameters_,
    seeds,
    token_batches,
)
from grader.i18n import _
from reference import BertConfig, additive_attention_mask, load_pretrained, minilm_dir
from reference import modeling as ref

MODULE = "e17_bert_model"
ATOL, RTOL = 1e-5, 1e-4  # small random configurations, against the reference
REAL_ATOL = 1e-4  # real weights, against the reference and transformers

# Loading the real weights and transformers takes a few seconds, once per grading run.
pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def model_cls(learner):
    return learner.BertModel


FAILED: list[str] = []  # titles of the basic checks that failed in this grading run


def basic(check):
    """Marks a fixed-input check: if it fails, the slow checks after it are skipped (they
    would only fail again, after a long search for the smallest failing example)."""

    @functools.wraps(check)
    def run_and_remember(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except Exception:
            FAILED.append(check.__doc__.strip().splitlines()[0])
            raise

    return run_and_remember


def skip_unless_basics_pass() -> None:
    if FAILED:
        pytest.skip(_("skipped until this passes: {check}").format(check=_(FAILED[0])))


@pytest.fixture
def basics_pass():
    skip_unless_basics_pass()


def small_config(**overrides) -> BertConfig:
    values = dict(vocab_size=30, hidden_size=12, num_hidden_layers=2, num_attention_heads=3,
                  intermediate_size=20, max_position_embeddings=16, type_vocab_size=2,
                  attn_implementation="eager")  # fmt: skip
    return BertConfig(**{**values, **overrides})


def build(model_cls, config: BertConfig, seed: int):
    """(yours, the reference) with the same seeded weights, both in eval mode."""
    reference = randomize_parameters_(ref.BertModel(config), seed).eval()
    mine = model_cls(config)
    load_weights(mine, reference.state_dict(), name="BertModel")
    return mine.eval(), reference


def run(model, case: TokenBatch, inputs: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Your model on a batch: checks it returns the pair (last_hidden_state, pooler_output)."""
    with torch.no_grad():
        result = model(
            case.input_ids,
            attention_mask=case.attention_mask,
            token_type_ids=case.token_type_ids,
        )
    if not isinstance(result, tuple | list) or len(result) != 2:
        kind = type(result).__name__
        message = (
            _("return a pair (last_hidden_state, pooler_output), got {kind} of length {length}")
            if isinstance(result, tuple | list)
            else _("return a pair (last_hidden_state, pooler_output), got {kind}")
        )
        length = len(result) if isinstance(result, tuple | list) else 0
        fail(message.format(kind=kind, length=length), inputs=inputs)
    batch, seq = case.input_ids.shape
    hidden = model.config.hidden_size
    last_hidden_state = expect_tensor(result[0], name="last_hidden_state",
                                      shape=(batch, seq, hidden), inputs=inputs,
                                      shape_names="(batch, seq, hidden)")  # fmt: skip
    pooler_output = expect_tensor(result[1], name="pooler_output", shape=(batch, hidden),
                                  inputs=inputs, shape_names="(batch, hidden)")  # fmt: skip
    return last_hidden_state, pooler_output


# --- how the known mistakes compute -----------------------------------------------------------


def model_output(
    reference,
    case: TokenBatch,
    *,
    use_mask=True,
    use_token_types=True,
    layers=None,
    pool_embeddings=False,
):
    """(last_hidden_state, pooler_output) with the reference's modules, wired right or in a
    known wrong way."""
    ids, mask, types = case.input_ids, case.attention_mask, case.token_type_ids
    if types is None or not use_token_types:
        types = torch.zeros_like(ids)
    embedded = reference.embeddings(ids, types)
    additive = (
        additive_attention_mask(mask, embedded.dtype) if use_mask and mask is not None else None
    )
    hidden = embedded
    for layer in reference.encoder.layer if layers is None else layers:
        hidden = layer(hidden, additive)
    return hidden, reference.pooler(embedded if pool_embeddings else hidden)


def known_mistakes(reference, case: TokenBatch) -> tuple[Variants, Variants]:
    """The known mistakes' (last_hidden_state models, pooler_output models)."""
    layers = list(reference.encoder.layer)
    wrong_ways = [
        ("model_one_layer_reused", dict(layers=[layers[0]] * len(layers))),
        ("model_one_layer_reused", dict(layers=[layers[-1]] * len(layers))),
        ("model_only_first_layer", dict(layers=[layers[0]])),
        ("model_pooler_fed_embeddings", dict(pool_embeddings=True)),
    ]
    if case.attention_mask is not None:
        wrong_ways.append(("model_mask_not_passed", dict(use_mask=False)))
    if case.token_type_ids is not None:
        wrong_ways.append(("model_token_types_ignored", dict(use_token_types=False)))
    hidden, pooled = Variants(), Variants()
    for mistake, wrong in wrong_ways:

        def output(wrong=wrong):
            with torch.no_grad():
                return model_output(reference, case, **wrong)

        hidden.append((mistake, lambda output=output: output()[0]))
        pooled.append((mistake, lambda output=output: output()[1]))
    return hidden, pooled


def compare(got, want, case: TokenBatch, inputs: str, mistakes, *, atol, rtol) -> None:
    """Hidden states at real tokens, then the pooled output, against ``want``."""
    hidden_mistakes, pooled_mistakes = mistakes if final_example() else (None, None)
    real = None if case.attention_mask is None else case.attention_mask.bool()
    expect_close(got[0], want[0], name="last_hidden_state", inputs=inputs, atol=atol,
                 rtol=rtol, where=real, mistakes=hidden_mistakes)  # fmt: skip
    expect_close(got[1], want[1], name="pooler_output", inputs=inputs, atol=atol, rtol=rtol,
                 mistakes=pooled_mistakes)  # fmt: skip


def small_batch(config: BertConfig, seed: int = 0) -> TokenBatch:
    """Two rows of 7, the second with 3 padded positions, token types A then B."""
    gen = make_generator(seed)
    ids = torch.randint(1, config.vocab_size, (2, 7), generator=gen)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
    types = torch.tensor([[0, 0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0, 0]])
    return TokenBatch(ids.masked_fill(mask == 0, config.pad_token_id), mask, types)


# --- small random configurations --------------------------------------------------------------


def test_returns_last_hidden_state_and_pooler_output(model_cls):
    """loads a reference BertModel's state dict; returns (last_hidden_state, pooler_output)"""
    config = small_config()
    mine, _ = build(model_cls, config, 0)
    case = small_batch(config)
    hidden, pooled = run(mine, case, f"{describe_config(config)}; {case.describe()}")
    expect_tensor(hidden, name="last_hidden_state", shape=(2, 7, 12), dtype=torch.float32)
    expect_tensor(pooled, name="pooler_output", shape=(2, 12), dtype=torch.float32)


@basic
def test_every_layer_is_its_own_module(model_cls):
    """encoder.layer holds num_hidden_layers distinct BertLayers, each with its own weights"""
    config = small_config(num_hidden_layers=3)
    mine = model_cls(config)
    layers = list(mine.encoder.layer)
    if len(layers) != config.num_hidden_layers:
        fail(_("encoder.layer has {n_layers} layers, the config asks for {wanted}").format(
            n_layers=len(layers), wanted=config.num_hidden_layers))  # fmt: skip
    if len({id(layer) for layer in layers}) != len(layers):
        fail(
            _("encoder.layer holds the same BertLayer object more than once, so those layers "
              "share one set of weights: build a new BertLayer(config) for each position"),
            inputs=describe_config(config, "hidden", "heads", "layers"),
            diagnosis="model_one_layer_reused",
        )


@basic
def test_matches_the_reference_on_a_small_model(model_cls):
    """matches the reference BertModel: 3 layers, padding, sentence pairs (fixed input)"""
    config = small_config(num_hidden_layers=3)
    mine, reference = build(model_cls, config, 7)
    case = small_batch(config, 8)
    inputs = f"{describe_config(config)}; {case.describe()}"
    got = run(mine, case, inputs)
    with torch.no_grad():
        want = reference(case.input_ids, case.attention_mask, case.token_type_ids)
    compare(got, want, case, inputs, known_mistakes(reference, case), atol=ATOL, rtol=RTOL)


@basic
def test_padding_does_not_change_real_tokens(model_cls):
    """a sentence gives the same vectors alone and padded inside a longer batch"""
    config = small_config()
    mine, _unused = build(model_cls, config, 3)
    alone = small_batch(config, 4)
    alone = TokenBatch(alone.input_ids[:1, :5], None, alone.token_type_ids[:1, :5])
    pad = torch.full((1, 4), config.pad_token_id)
    padded = TokenBatch(
        torch.cat([alone.input_ids, pad], 1),
        torch.tensor([[1] * 5 + [0] * 4]),
        torch.cat([alone.token_type_ids, torch.zeros_like(pad)], 1),
    )
    inputs = _("{config}; one sentence of 5 tokens, alone and with 4 padded").format(
        config=describe_config(config)
    )
    hidden_alone, pooled_alone = run(mine, alone, inputs)
    hidden_padded, pooled_padded = run(mine, padded, inputs)
    change = max(
        float((hidden_padded[:, :5] - hidden_alone).abs().max()),
        float((pooled_padded - pooled_alone).abs().max()),
    )
    if change > 1e-5:
        fail(
            _("adding padding changed the real tokens' outputs (by up to {change:.3g}): every "
              "layer must get the attention_mask, so that no real token attends to [PAD]").format(
                change=change
            ),
            inputs=inputs,
            diagnosis="model_mask_not_passed",
        )


@basic
def test_defaults_mean_no_padding_and_segment_a(model_cls):
    """attention_mask=None means all ones; token_type_ids=None means all zeros"""
    config = small_config()
    mine, reference = build(model_cls, config, 5)
    ids = small_batch(config, 6).input_ids
    inputs = f"{describe_config(config)}; batch=2, seq=7; attention_mask and token_type_ids None"
    got = run(mine, TokenBatch(ids, None, None), inputs)
    with torch.no_grad():
        want = reference(ids, torch.ones_like(ids), torch.zeros_like(ids))
    case = TokenBatch(ids, None, None)
    compare(got, want, case, inputs, known_mistakes(reference, case), atol=ATOL, rtol=RTOL)


GRADIENT_PARAMETERS = (
    "embeddings.word_embeddings.weight",
    "embeddings.token_type_embeddings.weight",
    "encoder.layer.0.attention.self.query.weight",
    "pooler.dense.weight",
)


@pytest.mark.usefixtures("basics_pass")
def test_trains_and_leaves_its_inputs_alone(model_cls):
    """with gradients on: the outputs' gradients reach every part, and the inputs stay as given"""
    config = small_config()
    mine, reference = build(model_cls, config, 11)
    case = small_batch(config, 12)
    # Padding positions hold ordinary ids and segment B here: nothing at a padded position
    # may change a real token's output, and the caller's tensors must come back as they were.
    ids = case.input_ids.clone()
    ids[1, 4:] = torch.arange(3, 6)
    types = case.token_type_ids.clone()
    types[1, 4:] = 1
    mask = case.attention_mask.clone()
    given = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    kept = {name: tensor.clone() for name, tensor in given.items()}
    inputs = _("{config}; batch=2, seq=7, row 1 padded after 4 tokens (ordinary ids and "
               "segment B at its padded positions); loss = a weighted sum of the real tokens' "
               "last_hidden_state and of pooler_output").format(
        config=describe_config(config)
    )  # fmt: skip
    result = mine(ids, attention_mask=mask, token_type_ids=types)
    for name, tensor in given.items():
        if not torch.equal(tensor, kept[name]):
            fail(
                _("forward changed its {name} argument in place: the caller's tensors must come "
                  "back as they were (work on new tensors, not with in-place operations)").format(
                    name=name
                ),
                inputs=inputs,
            )
    hidden = expect_tensor(result[0], name="last_hidden_state", shape=(2, 7, 12), inputs=inputs)
    pooled = expect_tensor(result[1], name="pooler_output", shape=(2, 12), inputs=inputs)
    real = kept["attention_mask"].bool()[..., None]
    weight_hidden, weight_pooled = randn((2, 7, 12), 13), randn((2, 12), 14)

    def loss_of(hidden, pooled):
        return (hidden * weight_hidden * real).sum() + (pooled * weight_pooled).sum()

    loss = loss_of(hidden, pooled)
    if not loss.requires_grad:
        fail(
            _("the outputs carry no gradient: forward must not run under torch.no_grad() or "
              "detach them, or the model cannot be trained"),
            inputs=inputs,
        )
    loss.backward()
    loss_of(*reference(*(kept[name] for name in given))).backward()
    mine_parameters = dict(mine.named_parameters())
    reference_parameters = dict(reference.named_parameters())
    for name in GRADIENT_PARAMETERS:
        grad = mine_parameters[name].grad
        if grad is None:
            fail(
                _("no gradient reaches {name}: something between it and the outputs is "
                  "detached (torch.no_grad(), .detach(), .data)").format(name=name),
                inputs=inputs,
            )
        expect_close(grad, reference_parameters[name].grad, name=_("the gradient of {name}").format(
            name=name), inputs=inputs, atol=ATOL, rtol=RTOL)  # fmt: skip


@pytest.mark.usefixtures("basics_pass")
@given(config=bert_configs(max_layers=3), seed=seeds, data=st.data())
def test_matches_the_reference_on_small_configurations(model_cls, config, seed, data):
    """matches the reference BertModel on small random configs (padding, token types)"""
    case = data.draw(token_batches(config, masked=None, token_types=None), label="batch")
    mine, reference = build(model_cls, config, seed)
    inputs = f"{describe_config(config)}; {case.describe()}"
    got = run(mine, case, inputs)
    with torch.no_grad():
        want = reference(case.input_ids, case.attention_mask, case.token_type_ids)
    compare(got, want, case, inputs, known_mistakes(reference, case), atol=ATOL, rtol=RTOL)


# --- the real all-MiniLM-L6-v2 weights --------------------------------------------------------


@pytest.fixture(scope="module")
def minilm_reference():
    skip_unless_basics_pass()  # (module fixtures are set up before basics_pass would run)
    with skip_init():  # every weight comes from the checkpoint
        return load_pretrained(ref.BertModel).eval()


CACHE_ENV = "BERTPREP_CACHE"  # set by the grading child: the folder ``prepare`` writes to


def transformers_cache_file(folder: Path) -> Path:
    """Where transformers' outputs for these versions, weights and inputs are kept."""
    from importlib.metadata import version

    weights = (minilm_dir() / "model.safetensors").stat()
    key = hashlib.sha256()
    for part in (version("transformers"), torch.__version__, weights.st_size, weights.st_mtime_ns):
        key.update(f"{part}\n".encode())
    for case, _said in (minilm_batch(), long_batch()):
        for tensor in (case.input_ids, case.attention_mask, case.token_type_ids):
            key.update(b"-" if tensor is None else tensor.numpy().tobytes())
    return folder / f"bert_model-transformers-{key.hexdigest()[:16]}.pt"


def transformers_outputs() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """transformers' BertModel on the real weights: (last_hidden_state, pooler_output) for
    the sentence batch and the 512-token row."""
    import transformers

    model = transformers.BertModel.from_pretrained(str(minilm_dir())).eval()
    outputs = {}
    for name, (case, _said) in (("minilm", minilm_batch()), ("long", long_batch())):
        with torch.no_grad():
            output = model(input_ids=case.input_ids, attention_mask=case.attention_mask,
                           token_type_ids=case.token_type_ids)  # fmt: skip
        outputs[name] = (output.last_hidden_state, output.pooler_output)
    return outputs


def prepare(folder: Path) -> None:
    """Cache transformers' outputs (run by the grading worker, never with learner code)."""
    path = transformers_cache_file(folder)
    if path.exists():
        return
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    torch.save({name: list(pair) for name, pair in transformers_outputs().items()}, scratch)
    os.replace(scratch, path)


@pytest.fixture(scope="module")
def minilm_transformers():
    """transformers' outputs: from the cache ``prepare`` wrote, else computed now."""
    skip_unless_basics_pass()
    folder = os.environ.get(CACHE_ENV)
    if folder:
        try:
            saved = torch.load(transformers_cache_file(Path(folder)), weights_only=True)
            return {name: (pair[0], pair[1]) for name, pair in saved.items()}
        except (OSError, RuntimeError, ValueError, KeyError, EOFError):
            pass  # no cache (or a damaged one): compute them
    return transformers_outputs()


@pytest.fixture(scope="module")
def minilm_mine(model_cls, minilm_reference):
    with skip_init():  # load_weights (strict) sets every weight just below
        mine = model_cls(minilm_reference.config)
    load_weights(mine, minilm_reference.state_dict(), name="BertModel (all-MiniLM-L6-v2)")
    return mine.eval()


SENTENCES = (
    ("the cat sat on the mat .", "it was very happy there ."),  # a pair: segments A and B
    ("paris is the capital of france .", None),
    ("hello", None),
)


def minilm_batch() -> tuple[TokenBatch, str]:
    """Real words, [CLS] A [SEP] (B [SEP]), padded right with [PAD]; and how to say it."""
    vocab = (minilm_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
    index = {token: i for i, token in enumerate(vocab)}
    rows, types = [], []
    for first, second in SENTENCES:
        tokens = ["[CLS]", *first.split(), "[SEP]"]
        segment = [0] * len(tokens)
        if second:
            tokens += [*second.split(), "[SEP]"]
            segment += [1] * (len(second.split()) + 1)
        rows.append([index[t] for t in tokens])
        types.append(segment)
    seq = max(map(len, rows))
    ids = torch.tensor([r + [index["[PAD]"]] * (seq - len(r)) for r in rows])
    token_types = torch.tensor([t + [0] * (seq - len(t)) for t in types])
    mask = torch.tensor([[1] * len(r) + [0] * (seq - len(r)) for r in rows])
    said = " | ".join(f"{a} [SEP] {b}" if b else a for a, b in SENTENCES)
    return TokenBatch(ids, mask, token_types), f"all-MiniLM-L6-v2; {said!r}"


def long_batch() -> tuple[TokenBatch, str]:
    """One row of 512 tokens (every learned position), segments A then B, no mask."""
    gen = make_generator(512)
    ids = torch.randint(1000, 30522, (1, 512), generator=gen)
    ids[0, 0], ids[0, 255], ids[0, 511] = 101, 102, 102  # [CLS] ... [SEP] ... [SEP]
    types = torch.zeros_like(ids)
    types[0, 256:] = 1
    return TokenBatch(ids, None, types), _("all-MiniLM-L6-v2; one row of 512 tokens, no mask")


@pytest.mark.usefixtures("basics_pass")
def test_minilm_against_the_reference(minilm_mine, minilm_reference):
    """on the real all-MiniLM-L6-v2 weights: equals the reference (padding, sentence pairs)"""
    case, inputs = minilm_batch()
    got = run(minilm_mine, case, inputs)
    with torch.no_grad():
        want = minilm_reference(case.input_ids, case.attention_mask, case.token_type_ids)
    compare(got, want, case, inputs, known_mistakes(minilm_reference, case),
            atol=REAL_ATOL, rtol=0.0)  # fmt: skip


@pytest.mark.usefixtures("basics_pass")
def test_minilm_against_transformers(minilm_mine, minilm_reference, minilm_transformers):
    """on the real weights: equals Hugging Face transformers' BertModel, at 512 tokens too"""
    for name, (case, inputs) in (("minilm", minilm_batch()), ("long", long_batch())):
        got = run(minilm_mine, case, inputs)
        want = minilm_transformers[name]
        compare(got, want, case, inputs, known_mistakes(minilm_reference, case),
                atol=REAL_ATOL, rtol=0.0)  # fmt: skip
