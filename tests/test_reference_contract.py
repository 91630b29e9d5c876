"""The reference's own contract: config loading, building blocks, loading, and clear errors."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
import transformers

import reference
from reference.modeling import gelu_tanh

SMALL = dict(
    vocab_size=50,
    hidden_size=12,
    num_hidden_layers=1,
    num_attention_heads=3,
    intermediate_size=20,
    max_position_embeddings=16,
)


# --- config -----------------------------------------------------------------------------------


def test_config_reads_the_real_minilm_config(minilm_dir):
    config = reference.BertConfig.from_json_file(minilm_dir / "config.json")
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (
        6,
        384,
        12,
    )
    assert config.intermediate_size == 1536 and config.vocab_size == 30522
    assert config.head_size == 32 and config.layer_norm_eps == 1e-12


def test_config_round_trips_every_hf_field(tmp_path):
    hf = transformers.BertConfig(
        **SMALL,
        hidden_act="relu",
        classifier_dropout=0.25,
        problem_type="regression",
        id2label={0: "neg", 1: "neu", 2: "pos"},
        layer_norm_eps=1e-6,
        type_vocab_size=4,
    )
    hf.to_json_file(tmp_path / "config.json")
    ours = reference.BertConfig.from_json_file(tmp_path / "config.json")
    for name in [
        *SMALL,
        "hidden_act",
        "classifier_dropout",
        "problem_type",
        "layer_norm_eps",
        "type_vocab_size",
        "num_labels",
    ]:
        assert getattr(ours, name) == getattr(hf, name), name
    assert ours.id2label == {0: "neg", 1: "neu", 2: "pos"}


def test_config_num_labels_comes_from_id2label_and_unknown_keys_are_ignored(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                **SMALL,
                "id2label": {"0": "a", "1": "b", "2": "c", "3": "d"},
                "num_labels": 2,
                "architectures": ["BertForSequenceClassification"],
                "gradient_checkpointing": True,
            }
        )
    )
    assert reference.BertConfig.from_json_file(path).num_labels == 4
    path.write_text(json.dumps(SMALL))
    assert reference.BertConfig.from_json_file(path).num_labels == 2  # HF's default


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (dict(hidden_size=10, num_attention_heads=3), "multiple of num_attention_heads"),
        (dict(hidden_act="swishy"), "hidden_act"),
        (dict(position_embedding_type="relative_key"), "absolute"),
        (dict(problem_type="ranking"), "problem_type"),
        (dict(attn_implementation="flash"), "attn_implementation"),
    ],
)
def test_config_rejects_what_it_cannot_honour(values, message):
    with pytest.raises(ValueError, match=message):
        reference.BertConfig(**values)


def test_config_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"config\.json"):
        reference.BertConfig.from_json_file(tmp_path / "config.json")
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        reference.BertConfig.from_json_file(tmp_path / "config.json")


# --- building blocks --------------------------------------------------------------------------


def test_gelu_is_the_exact_erf_form_not_tanh():
    x = torch.linspace(-6, 6, 2001, dtype=torch.float64)
    exact = 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    assert torch.allclose(reference.gelu(x), exact, atol=1e-12, rtol=0)
    assert (gelu_tanh(x) - exact).abs().max() > 1e-4  # the approximation is measurably off


def test_additive_mask_blocks_padding_and_broadcasts_over_heads_and_queries():
    mask = reference.additive_attention_mask(torch.tensor([[1, 1, 0], [1, 0, 0]]), torch.float32)
    assert mask.shape == (2, 1, 1, 3)
    assert mask[0, 0, 0, :2].eq(0).all() and mask[1, 0, 0, 0] == 0
    assert mask[0, 0, 0, 2] == torch.finfo(torch.float32).min


def test_plain_attention_rows_sum_to_one_and_padding_gets_no_weight():
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 3, 5, 4, generator=gen) for _ in range(3))
    mask = reference.additive_attention_mask(
        torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]]), torch.float32
    )
    context, probs = reference.scaled_dot_product_attention(q, k, v, mask)
    assert torch.allclose(probs.sum(-1), torch.ones(2, 3, 5))
    assert probs[1, :, :, 2:].abs().max() == 0
    assert torch.allclose(
        context,
        torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        atol=1e-6,
    )


# --- loading ----------------------------------------------------------------------------------


def test_read_safetensors_matches_the_safetensors_library(minilm_dir):
    from safetensors.torch import load_file

    ours = reference.read_safetensors(minilm_dir / "model.safetensors")
    theirs = load_file(str(minilm_dir / "model.safetensors"))
    assert ours.keys() == theirs.keys()
    for name in theirs:
        assert ours[name].dtype == theirs[name].dtype and torch.equal(ours[name], theirs[name])


def test_load_pretrained_returns_eval_mode_and_maps_the_encoder_under_bert(minilm_dir):
    model = reference.load_pretrained(reference.BertModel)
    assert not model.training
    with pytest.warns(UserWarning, match="classifier.weight"):
        classifier = reference.load_pretrained(reference.BertForSequenceClassification, minilm_dir)
    assert torch.equal(
        classifier.bert.encoder.layer[3].output.dense.weight,
        model.encoder.layer[3].output.dense.weight,
    )


def test_load_pretrained_reads_a_checkpoint_saved_by_hf(tmp_path):
    """A head checkpoint written by transformers (keys under bert.) round-trips."""
    torch.manual_seed(0)
    hf = transformers.BertForTokenClassification(transformers.BertConfig(**SMALL, num_labels=7))
    hf.save_pretrained(tmp_path)
    ours = reference.load_pretrained(reference.BertForTokenClassification, tmp_path)
    ids = torch.randint(0, 50, (2, 9))
    with torch.no_grad():
        assert (ours(ids).logits - hf.eval()(input_ids=ids).logits).abs().max() < 1e-6
    bare = reference.load_pretrained(reference.BertModel, tmp_path)  # and the other way round
    assert torch.equal(
        bare.embeddings.word_embeddings.weight, hf.bert.embeddings.word_embeddings.weight
    )


def copy_checkpoint(minilm_dir, tmp_path):
    for name in ("config.json", "model.safetensors"):
        shutil.copy(minilm_dir / name, tmp_path / name)
    return tmp_path / "model.safetensors"


def test_missing_weights_file_is_a_clear_error(minilm_dir, tmp_path):
    shutil.copy(minilm_dir / "config.json", tmp_path / "config.json")
    with pytest.raises(FileNotFoundError, match=r"model\.safetensors"):
        reference.load_pretrained(reference.BertModel, tmp_path)


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda data: data[: len(data) // 2], "truncated or corrupt"),
        (lambda data: data[:5], "too short"),
        (lambda data: (10**12).to_bytes(8, "little") + data[8:], "truncated or corrupt"),
        (lambda data: data[:8] + b"\xff" * 20 + data[28:], "unreadable safetensors header"),
    ],
    ids=["half-file", "five-bytes", "huge-header-size", "garbled-header"],
)
def test_corrupt_weights_file_is_a_clear_error(minilm_dir, tmp_path, corrupt, message):
    path = copy_checkpoint(minilm_dir, tmp_path)
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(reference.CheckpointError, match=message):
        reference.load_pretrained(reference.BertModel, tmp_path)


def test_weights_that_do_not_fit_the_config_are_a_clear_error(minilm_dir, tmp_path):
    copy_checkpoint(minilm_dir, tmp_path)
    config = json.loads((minilm_dir / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "intermediate_size": 1024}))
    with pytest.raises(reference.CheckpointError, match=r"intermediate\.dense"):
        reference.load_pretrained(reference.BertModel, tmp_path)


# --- bad inputs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    return reference.BertModel(reference.BertConfig(**SMALL)).eval()


@pytest.mark.parametrize(
    ("make_inputs", "error", "message"),
    [
        (
            lambda: dict(input_ids=torch.tensor([[1, 2, 50]])),
            ValueError,
            r"50 at position \(0, 2\)",
        ),
        (lambda: dict(input_ids=torch.tensor([[1, -1]])), ValueError, "outside"),
        (
            lambda: dict(input_ids=torch.ones(1, 17, dtype=torch.long)),
            ValueError,
            "exceeds max_position_embeddings",
        ),
        (lambda: dict(input_ids=torch.ones(1, 3)), TypeError, "integer token ids"),
        (lambda: dict(input_ids=[[1, 2, 3]]), TypeError, "torch.Tensor"),
        (lambda: dict(input_ids=torch.ones(3, dtype=torch.long)), ValueError, r"\(batch, seq\)"),
        (lambda: dict(input_ids=torch.ones(1, 0, dtype=torch.long)), ValueError, "no tokens"),
        (
            lambda: dict(
                input_ids=torch.ones(2, 4, dtype=torch.long), attention_mask=torch.ones(2, 5)
            ),
            ValueError,
            "attention_mask has shape",
        ),
        (
            lambda: dict(
                input_ids=torch.ones(2, 4, dtype=torch.long),
                token_type_ids=torch.ones(4, 2, dtype=torch.long),
            ),
            ValueError,
            "token_type_ids has shape",
        ),
        (
            lambda: dict(
                input_ids=torch.ones(1, 4, dtype=torch.long), token_type_ids=torch.full((1, 4), 2)
            ),
            ValueError,
            "type_vocab_size",
        ),
    ],
    ids=[
        "id-too-large",
        "negative-id",
        "too-long",
        "float-ids",
        "list-ids",
        "1d-ids",
        "empty",
        "mask-shape",
        "token-type-shape",
        "token-type-range",
    ],
)
def test_bad_inputs_get_a_clear_error(small_model, make_inputs, error, message):
    with pytest.raises(error, match=message):
        small_model(**make_inputs())


def test_question_answering_needs_two_labels():
    with pytest.raises(ValueError, match="num_labels=2"):
        reference.BertForQuestionAnswering(reference.BertConfig(**SMALL, num_labels=3))


def test_read_safetensors_never_writes_to_the_file(minilm_dir, tmp_path):
    path = copy_checkpoint(minilm_dir, tmp_path)
    before = path.read_bytes()
    tensors = reference.read_safetensors(path)
    for tensor in tensors.values():
        tensor.zero_()  # the tensors are writable, and private to this process
    assert path.read_bytes() == before
    again = reference.read_safetensors(path)
    original = reference.read_safetensors(minilm_dir / "model.safetensors")
    assert all(torch.equal(again[name], original[name]) for name in original)
