"""reference/ equals transformers: the real MiniLM weights, then every head on random configs."""

from __future__ import annotations

import pytest
import torch
import transformers
from conftest import record_max_diff
from hypothesis import given, settings
from hypothesis import strategies as st

import reference

TOLERANCE = 1e-4  # fp32; the observed differences are printed at the end of the run


@pytest.fixture(scope="module")
def real_pair(minilm_dir):
    ours = reference.load_pretrained(reference.BertModel)
    theirs = transformers.BertModel.from_pretrained(str(minilm_dir)).eval()
    return ours, theirs


@st.composite
def padded_batches(draw, max_len=512, vocab=30522, type_vocab=2):
    """A batch with per-row padding (row lengths drawn, at least one real token per row)."""
    batch = draw(st.integers(1, 4))
    seq = draw(st.one_of(st.integers(1, 16), st.integers(17, max_len), st.just(max_len)))
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(0, vocab, (batch, seq), generator=gen)
    lengths = [draw(st.integers(1, seq)) for _ in range(batch)]
    attention_mask = (torch.arange(seq)[None, :] < torch.tensor(lengths)[:, None]).long()
    input_ids = input_ids.masked_fill(attention_mask == 0, 0)  # [PAD] is id 0
    token_type_ids = torch.randint(0, type_vocab, (batch, seq), generator=gen) * attention_mask
    return input_ids, attention_mask, token_type_ids


def max_diff_on_real_tokens(ours: torch.Tensor, theirs: torch.Tensor, mask: torch.Tensor) -> float:
    return (ours - theirs)[mask.bool()].abs().max().item()


@settings(max_examples=25)
@given(padded_batches())
def test_bert_model_matches_hf_on_real_weights(real_pair, batch):
    ours, theirs = real_pair
    input_ids, attention_mask, token_type_ids = batch
    with torch.inference_mode():
        got = ours(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        want = theirs(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
    hidden = max_diff_on_real_tokens(got.last_hidden_state, want.last_hidden_state, attention_mask)
    pooled = (got.pooler_output - want.pooler_output).abs().max().item()
    record_max_diff("MiniLM BertModel last_hidden_state (real tokens)", hidden)
    record_max_diff("MiniLM BertModel pooler_output", pooled)
    assert hidden < TOLERANCE, f"hidden states differ by {hidden:.2e} (shape {input_ids.shape})"
    assert pooled < TOLERANCE, f"pooler output differs by {pooled:.2e}"


def test_real_weights_full_length_and_no_mask(real_pair):
    """The 512-token edge and the default arguments (no mask, no token types)."""
    ours, theirs = real_pair
    input_ids = torch.randint(1000, 30522, (2, 512), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        got = ours(input_ids)
        want = theirs(input_ids=input_ids)
    diff = (got.last_hidden_state - want.last_hidden_state).abs().max().item()
    record_max_diff("MiniLM BertModel last_hidden_state (real tokens)", diff)
    assert diff < TOLERANCE


def test_plain_attention_path_equals_sdpa_path(minilm_dir):
    """The readable softmax(QKᵀ/√d + mask)V path and the fused SDPA path agree."""
    sdpa = reference.load_pretrained(reference.BertModel)
    config = reference.BertConfig.from_json_file(minilm_dir / "config.json")
    config.attn_implementation = "eager"
    eager = reference.BertModel(config).eval()
    eager.load_state_dict(sdpa.state_dict())
    input_ids = torch.randint(0, 30522, (3, 77), generator=torch.Generator().manual_seed(1))
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1, 40:] = 0
    attention_mask[2, 3:] = 0
    with torch.inference_mode():
        a = sdpa(input_ids, attention_mask).last_hidden_state
        b = eager(input_ids, attention_mask).last_hidden_state
    diff = max_diff_on_real_tokens(a, b, attention_mask)
    record_max_diff("reference sdpa vs eager attention path", diff)
    assert diff < 1e-5


def test_fully_padded_row_stays_finite(real_pair):
    ours, _ = real_pair
    input_ids = torch.zeros(2, 6, dtype=torch.long)
    attention_mask = torch.tensor([[1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    with torch.inference_mode():
        out = ours(input_ids, attention_mask)
    assert torch.isfinite(out.last_hidden_state).all()
    assert torch.isfinite(out.pooler_output).all()


def test_padding_does_not_change_real_tokens(real_pair):
    """Masked keys get no weight: appending padding leaves real positions as they were."""
    ours, _ = real_pair
    ids = torch.randint(1000, 30522, (1, 9), generator=torch.Generator().manual_seed(2))
    padded = torch.cat([ids, torch.zeros(1, 7, dtype=torch.long)], dim=1)
    mask = torch.cat([torch.ones(1, 9), torch.zeros(1, 7)], dim=1).long()
    with torch.inference_mode():
        short = ours(ids).last_hidden_state
        long = ours(padded, mask).last_hidden_state[:, :9]
    assert (short - long).abs().max().item() < 1e-5


# ---------------------------------------------------------------------------------------------
# Heads on random configurations (weights copied from HF with load_state_dict, strict)
# ---------------------------------------------------------------------------------------------

RANDOM_CONFIGS = {
    # 3 heads of 16, odd FFN width, three segment types.
    "h48-a3-ffn37": dict(
        vocab_size=101,
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=3,
        intermediate_size=37,
        max_position_embeddings=64,
        type_vocab_size=3,
        num_labels=5,
    ),
    # 5 heads of 8, tanh-GELU, a different LayerNorm eps, one label less, 3 layers.
    "h40-a5-gelu_new": dict(
        vocab_size=257,
        hidden_size=40,
        num_hidden_layers=3,
        num_attention_heads=5,
        intermediate_size=72,
        max_position_embeddings=33,
        layer_norm_eps=1e-5,
        hidden_act="gelu_new",
        num_labels=4,
    ),
    # One head of 24, ReLU, explicit classifier dropout.
    "h24-a1-relu": dict(
        vocab_size=64,
        hidden_size=24,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=50,
        max_position_embeddings=20,
        hidden_act="relu",
        classifier_dropout=0.3,
        num_labels=3,
    ),
}

HEAD_CLASSES = [
    "BertModel",
    "BertForPreTraining",
    "BertForMaskedLM",
    "BertForNextSentencePrediction",
    "BertForSequenceClassification",
    "BertForTokenClassification",
    "BertForQuestionAnswering",
]


def make_pair(class_name: str, config_name: str, **overrides):
    values = {**RANDOM_CONFIGS[config_name], **overrides}
    if class_name == "BertForQuestionAnswering":
        values["num_labels"] = 2
    torch.manual_seed(sum(map(ord, class_name + config_name)))
    hf_config = transformers.BertConfig(**values)
    theirs = getattr(transformers, class_name)(hf_config).eval()
    ours = getattr(reference, class_name)(reference.BertConfig(**values)).eval()
    ours.load_state_dict(theirs.state_dict())  # strict: same keys, same shapes
    return ours, theirs, values


def random_inputs(values: dict, batch: int = 3, seq: int = 11, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    seq = min(seq, values["max_position_embeddings"])
    input_ids = torch.randint(0, values["vocab_size"], (batch, seq), generator=gen)
    attention_mask = torch.ones(batch, seq, dtype=torch.long)
    attention_mask[1, seq // 2 :] = 0
    token_type_ids = torch.randint(0, values.get("type_vocab_size", 2), (batch, seq), generator=gen)
    return dict(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)


def assert_close(name: str, got: torch.Tensor | None, want: torch.Tensor | None) -> None:
    assert (got is None) == (want is None), f"{name}: one side is None"
    if got is None:
        return
    assert got.shape == want.shape, f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    diff = (got - want).abs().max().item() if got.numel() else 0.0
    record_max_diff(f"random configs: {name}", diff)
    assert diff < TOLERANCE, f"{name} differs by {diff:.2e}"


@pytest.mark.parametrize("config_name", list(RANDOM_CONFIGS))
@pytest.mark.parametrize("class_name", HEAD_CLASSES)
def test_state_dict_keys_match_hf(class_name, config_name):
    ours, theirs, _ = make_pair(class_name, config_name)
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("config_name", list(RANDOM_CONFIGS))
def test_bert_model_matches_hf_on_random_config(config_name):
    ours, theirs, values = make_pair("BertModel", config_name)
    inputs = random_inputs(values)
    with torch.no_grad():
        got, want = ours(**inputs), theirs(**inputs)
    mask = inputs["attention_mask"].bool()
    assert_close("last_hidden_state", got.last_hidden_state[mask], want.last_hidden_state[mask])
    assert_close("pooler_output", got.pooler_output, want.pooler_output)


@pytest.mark.parametrize("config_name", list(RANDOM_CONFIGS))
def test_pretraining_heads_match_hf(config_name):
    ours, theirs, values = make_pair("BertForPreTraining", config_name)
    inputs = random_inputs(values, seed=1)
    gen = torch.Generator().manual_seed(3)
    labels = torch.full_like(inputs["input_ids"], -100)
    chosen = torch.rand(labels.shape, generator=gen) < 0.3
    labels[chosen] = inputs["input_ids"][chosen]
    nsp = torch.tensor([0, 1, 1])
    with torch.no_grad():
        got = ours(**inputs, labels=labels, next_sentence_label=nsp)
        want = theirs(**inputs, labels=labels, next_sentence_label=nsp)
        no_labels = ours(**inputs)
    assert_close("pre-training prediction_logits", got.prediction_logits, want.prediction_logits)
    assert_close(
        "pre-training seq_relationship_logits",
        got.seq_relationship_logits,
        want.seq_relationship_logits,
    )
    assert_close("pre-training loss", got.loss, want.loss)
    assert no_labels.loss is None


@pytest.mark.parametrize("config_name", list(RANDOM_CONFIGS))
def test_masked_lm_matches_hf(config_name):
    ours, theirs, values = make_pair("BertForMaskedLM", config_name)
    inputs = random_inputs(values, seed=2)
    labels = torch.full_like(inputs["input_ids"], -100)
    labels[:, 1::4] = inputs["input_ids"][:, 1::4]
    with torch.no_grad():
        got, want = ours(**inputs, labels=labels), theirs(**inputs, labels=labels)
    assert_close("masked LM logits", got.logits, want.logits)
    assert_close("masked LM loss", got.loss, want.loss)


@pytest.mark.parametrize("config_name", list(RANDOM_CONFIGS))
def test_next_sentence_prediction_matches_hf(config_name):
    ours, theirs, values = make_pair("BertForNextSentencePrediction", config_name)
    inputs = random_inputs(values, seed=3)
    labels = torch.tensor([1, 0, 1])
    with torch.no_grad():
        got, want = ours(**inputs, labels=labels), theirs(**inputs, labels=labels)
    assert_close("NSP logits", got.logits, want.logits)
    assert_close("NSP loss", got.loss, want.loss)


def sequence_labels(kind: str, num_labels: int, batch: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(4)
    if kind == "single_label_classification":
        return torch.randint(0, num_labels, (batch,), generator=gen)
    if kind == "multi_label_classification":
        return (torch.rand(batch, num_labels, generator=gen) > 0.5).float()
    return torch.randn(batch, num_labels, generator=gen)  # regression


@pytest.mark.parametrize("config_name", list(RANDOM_CONFIGS))
@pytest.mark.parametrize(
    ("num_labels", "problem_type", "label_kind"),
    [
        (1, None, "regression"),  # one label -> regression (MSE)
        (4, None, "single_label_classification"),  # integer labels -> cross-entropy
        (4, None, "multi_label_classification"),  # float labels -> BCE with logits
        (3, "regression", "regression"),  # explicit problem_type wins
        (3, "multi_label_classification", "multi_label_classification"),
    ],
)
def test_sequence_classification_matches_hf(config_name, num_labels, problem_type, label_kind):
    ours, theirs, values = make_pair(
        "BertForSequenceClassification",
        config_name,
        num_labels=num_labels,
        problem_type=problem_type,
    )
    inputs = random_inputs(values, seed=5)
    labels = sequence_labels(label_kind, num_labels)
    with torch.no_grad():
        got, want = ours(**inputs, labels=labels), theirs(**inputs, labels=labels)
    assert theirs.config.problem_type == label_kind  # HF decided what we expected
    assert_close(f"sequence classification logits ({label_kind})", got.logits, want.logits)
    assert_close(f"sequence classification loss ({label_kind})", got.loss, want.loss)


@pytest.mark.parametrize("config_name", list(RANDOM_CONFIGS))
def test_token_classification_matches_hf(config_name):
    ours, theirs, values = make_pair("BertForTokenClassification", config_name)
    inputs = random_inputs(values, seed=6)
    labels = torch.randint(0, values["num_labels"], inputs["input_ids"].shape)
    labels[inputs["attention_mask"] == 0] = -100  # padding is ignored
    labels[:, 0] = -100  # [CLS] too
    with torch.no_grad():
        got, want = ours(**inputs, labels=labels), theirs(**inputs, labels=labels)
    assert_close("token classification logits", got.logits, want.logits)
    assert_close("token classification loss", got.loss, want.loss)


@pytest.mark.parametrize("config_name", list(RANDOM_CONFIGS))
@pytest.mark.parametrize(
    "positions",
    [
        ([1, 2, 0], [3, 2, 0]),
        ([1, 50, 4], [2, 60, 9]),  # answer truncated away: clamped to seq_len and ignored
        ([-5, 3, 1], [2, 4, 1]),  # negative positions clamp to 0
    ],
)
def test_question_answering_matches_hf(config_name, positions):
    ours, theirs, values = make_pair("BertForQuestionAnswering", config_name)
    inputs = random_inputs(values, seed=7)
    start, end = (torch.tensor(p) for p in positions)
    with torch.no_grad():
        got = ours(**inputs, start_positions=start, end_positions=end)
        want = theirs(**inputs, start_positions=start, end_positions=end)
        column = ours(**inputs, start_positions=start[:, None], end_positions=end[:, None])
    assert_close("QA start_logits", got.start_logits, want.start_logits)
    assert_close("QA end_logits", got.end_logits, want.end_logits)
    assert_close("QA loss", got.loss, want.loss)
    assert_close("QA loss, (batch, 1) positions", column.loss, want.loss)


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
@pytest.mark.parametrize("class_name", ["BertForPreTraining", "BertForSequenceClassification"])
def test_dropout_in_train_mode_matches_hf(class_name, attn_implementation):
    """Same dropout sites in the same order: under one seed, train-mode outputs are identical."""
    ours, theirs, values = make_pair(
        class_name, "h48-a3-ffn37", attn_implementation=attn_implementation
    )
    ours.train()
    theirs.train()
    inputs = random_inputs(values, seed=8)
    torch.manual_seed(123)
    got = ours(**inputs)
    torch.manual_seed(123)
    want = theirs(**inputs)
    got_logits = got.logits if hasattr(got, "logits") else got.prediction_logits
    want_logits = want.logits if hasattr(want, "logits") else want.prediction_logits
    assert_close(f"train-mode logits ({attn_implementation})", got_logits, want_logits)
    with torch.no_grad():
        torch.manual_seed(124)
        other = ours(**inputs)
    other_logits = other.logits if hasattr(other, "logits") else other.prediction_logits
    assert not torch.allclose(got_logits, other_logits), "dropout should depend on the seed"


def test_eval_mode_is_deterministic():
    ours, _, values = make_pair("BertForSequenceClassification", "h48-a3-ffn37")
    inputs = random_inputs(values)
    with torch.no_grad():
        assert torch.equal(ours(**inputs).logits, ours(**inputs).logits)


@pytest.mark.parametrize("class_name", ["BertForPreTraining", "BertForMaskedLM"])
def test_mlm_decoder_is_tied_to_word_embeddings(class_name):
    model = getattr(reference, class_name)(reference.BertConfig(**RANDOM_CONFIGS["h48-a3-ffn37"]))
    embeddings = model.bert.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.weight is embeddings
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias
    # One matrix: a gradient step on the embeddings moves the decoder too.
    with torch.no_grad():
        embeddings[5] += 1.0
    assert torch.equal(model.cls.predictions.decoder.weight[5], embeddings[5])
    n_unique = len({id(p) for p in model.parameters()})
    assert n_unique == sum(1 for _ in model.parameters())  # parameters() yields each once


def test_parameter_counts_match_the_paper_sizes():
    """BERT-base ~110M and BERT-large ~340M (§3), exactly as HF counts them."""
    with torch.device("meta"):
        base = reference.BertModel(reference.BertConfig())
        large = reference.BertModel(
            reference.BertConfig(
                hidden_size=1024,
                num_hidden_layers=24,
                num_attention_heads=16,
                intermediate_size=4096,
            )
        )
    assert sum(p.numel() for p in base.parameters()) == 109_482_240
    assert sum(p.numel() for p in large.parameters()) == 335_141_888


def test_fresh_initialisation_follows_hf():
    config = reference.BertConfig(**RANDOM_CONFIGS["h48-a3-ffn37"])
    torch.manual_seed(0)
    model = reference.BertForSequenceClassification(config)
    weights = torch.cat(
        [m.weight.flatten() for m in model.modules() if isinstance(m, torch.nn.Linear)]
    )
    assert abs(weights.std().item() - config.initializer_range) < 2e-3
    assert torch.all(model.bert.embeddings.word_embeddings.weight[config.pad_token_id] == 0)
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            assert torch.all(module.weight == 1) and torch.all(module.bias == 0)
        if isinstance(module, torch.nn.Linear):
            assert torch.all(module.bias == 0)
