"""Checks for exercise mlm_head (exercises/e18_mlm_head.py)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor

from grader.checks.kit import Variants, expect_close, expect_tensor, fail, load_weights
from grader.checks.strategies import (
    bert_configs,
    describe_config,
    make_generator,
    non_contiguous,
    randn,
    randomize_parameters_,
    seeds,
)
from grader.i18n import _
from reference import BertConfig, BertForMaskedLM
from reference.modeling import masked_lm_loss as reference_loss

MODULE = "e18_mlm_head"
IGNORE_INDEX = -100
ATOL, RTOL = 1e-5, 1e-4
# Not the shared SCALES: at x30 a whole row of dense outputs can sit deep in GELU's negative
# tail, where every float32 erf GELU is ~1e-8 from exact, and LayerNorm (eps 1e-12) then blows
# that rounding up to 1e-2. Such rows test float32, not the learner.
head_scales = st.sampled_from([1.0, 0.01, 3.0])


@pytest.fixture(scope="module")
def mine(learner):
    return learner


def small_config() -> BertConfig:
    return BertConfig(
        vocab_size=11,
        hidden_size=8,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=16,
        attn_implementation="eager",
    )


def reference_model(config: BertConfig, seed: int) -> BertForMaskedLM:
    """A reference BertForMaskedLM with seeded weights of a telling size (its decoder weight is
    its word-embedding matrix, N(0, 1); its output bias is non-zero)."""
    return randomize_parameters_(BertForMaskedLM(config), seed).eval()


def build_head(mine, model: BertForMaskedLM):
    """Your BertLMPredictionHead holding the reference's ``cls.predictions.*`` weights."""
    head = mine.BertLMPredictionHead(model.config)
    load_weights(head, model.cls.predictions.state_dict(), name="BertLMPredictionHead")
    return head.eval()


def describe(config: BertConfig, x: Tensor, scale: float = 1.0) -> str:
    batch, seq, hidden = x.shape
    text = _("sequence_output of shape ({batch}, {seq}, {hidden}); {config}").format(
        batch=batch, seq=seq, hidden=hidden, config=describe_config(config)
    )
    if scale != 1.0:
        text += "; " + _("values scaled by {scale:g}").format(scale=scale)
    if not x.is_contiguous():
        text += "; " + _("non-contiguous sequence_output")
    return text


def head_mistakes(model: BertForMaskedLM, x: Tensor) -> dict:
    reference = model.cls.predictions
    weight = reference.decoder.weight
    return {
        "mlm_transform_skipped": lambda: reference.decoder(x),
        "mlm_bias_missing": lambda: reference.transform(x) @ weight.T,
    }


def test_forward_returns_logits_over_the_vocabulary(mine):
    """forward returns (batch, seq, vocab) float logits"""
    config = small_config()
    head = mine.BertLMPredictionHead(config)
    with torch.no_grad():
        got = head(randn((2, 3, 8), 0))
    expect_tensor(
        got,
        name="logits",
        shape=(2, 3, 11),
        dtype=torch.float32,
        inputs=_("sequence_output of shape (2, 3, 8); hidden=8, vocab=11"),
        shape_names="(batch, seq, vocab)",
    )


@given(
    config=bert_configs(),
    seed=seeds,
    scale=head_scales,
    batch=st.integers(1, 3),
    seq=st.integers(1, 6),
)
def test_transform_is_dense_gelu_layernorm(mine, config, seed, scale, batch, seq):
    """the transform matches the reference: LayerNorm(gelu(dense(x)))"""
    model = reference_model(config, seed)
    head = build_head(mine, model)
    x = randn((batch, seq, config.hidden_size), seed + 1, scale)
    with torch.no_grad():
        got = head.transform(x)
        want = model.cls.predictions.transform(x)
        reference = model.cls.predictions.transform
        mistakes = {
            "gelu_tanh_approximation": lambda: reference.LayerNorm(
                F.gelu(reference.dense(x), approximate="tanh")
            ),
        }
    expect_close(
        got,
        want,
        name="transform output",
        inputs=describe(config, x, scale),
        atol=ATOL,
        rtol=RTOL,
        mistakes=mistakes,
    )


@given(
    config=bert_configs(),
    seed=seeds,
    scale=head_scales,
    batch=st.integers(1, 3),
    seq=st.integers(1, 6),
    contiguous=st.booleans(),
)
def test_logits_match_the_reference(mine, config, seed, scale, batch, seq, contiguous):
    """logits match the reference head: decoder(transform(x)) with the output bias"""
    model = reference_model(config, seed)
    head = build_head(mine, model)
    x = randn((batch, seq, config.hidden_size), seed + 1, scale)
    if not contiguous:
        x = non_contiguous(x)
    with torch.no_grad():
        got = head(x)
        want = model.cls.predictions(x)
        mistakes = head_mistakes(model, x)
    expect_close(
        got,
        want,
        name="logits",
        inputs=describe(config, x, scale),
        atol=ATOL,
        rtol=RTOL,
        mistakes=mistakes,
    )


def test_gradients_flow_through_the_head(mine):
    """gradients of the logits reach sequence_output and every weight, as in the reference"""
    config = small_config()
    model = reference_model(config, 6)
    head = build_head(mine, model)
    reference = model.cls.predictions
    inputs = _("sequence_output of shape (2, 3, 8); hidden=8, vocab=11; loss = a weighted sum "
               "of the logits")  # fmt: skip
    weights = randn((2, 3, 11), 7)
    x_mine, x_reference = randn((2, 3, 8), 8).requires_grad_(), randn((2, 3, 8), 8).requires_grad_()
    logits = expect_tensor(head(x_mine), name="logits", shape=(2, 3, 11), inputs=inputs)
    if not logits.requires_grad:
        fail(
            _("the logits carry no gradient: forward must not run under torch.no_grad() or "
              "detach anything, or the head cannot be trained"),
            inputs=inputs,
        )
    (logits * weights).sum().backward()
    (reference(x_reference) * weights).sum().backward()
    mine_parameters = dict(head.named_parameters())
    grads = [("sequence_output", x_mine.grad, x_reference.grad)]
    grads += [(name, mine_parameters[name].grad, parameter.grad)
              for name, parameter in reference.named_parameters()]  # fmt: skip
    for name, got, want in grads:
        if got is None:
            fail(
                _("no gradient reaches {name}: something between it and the logits is "
                  "detached (torch.no_grad(), .detach(), .data)").format(name=name),
                inputs=inputs,
            )
        expect_close(got, want, name=_("the gradient of {name}").format(name=name),
                     inputs=inputs, atol=ATOL, rtol=RTOL)  # fmt: skip


def test_tie_to_shares_the_embedding_matrix(mine):
    """tie_to makes decoder.weight the embedding matrix itself: one Parameter, not a copy"""
    config = small_config()
    model = reference_model(config, 3)
    head = build_head(mine, model)
    embeddings = model.bert.embeddings.word_embeddings
    inputs = (
        _("your head holding the reference weights, then head.tie_to(word_embeddings) with a "
          "(11, 8) nn.Embedding")
    )
    head.tie_to(embeddings)
    decoder_weight = head.decoder.weight
    if decoder_weight is not embeddings.weight:
        how = _("a copy of it")
        if isinstance(decoder_weight, torch.Tensor) and (
            decoder_weight.data_ptr() == embeddings.weight.data_ptr()
        ):
            how = _("a different Parameter sharing its memory (.data = ...)")
        fail(
            _("after tie_to, decoder.weight is {how}, not word_embeddings.weight itself: the two "
              "drift apart as soon as the optimiser updates one (assign the Parameter: "
              "self.decoder.weight = word_embeddings.weight)").format(how=how),
            inputs=inputs,
            diagnosis="mlm_decoder_not_tied",
        )
    if head.decoder.bias is not head.bias:
        fail(
            _("after tie_to, decoder.bias must still be the head's own bias (head.decoder.bias "
              "is head.bias): the output bias is not tied to anything on the input side"),
            inputs=inputs,
        )
    # A change to the embedding matrix is a change to the decoder.
    x = randn((2, 4, 8), 4)
    with torch.no_grad():
        embeddings.weight.mul_(-2.0).add_(0.5)
        got = head(x)
        want = model.cls.predictions(x)
    expect_close(
        got,
        want,
        name="logits",
        atol=ATOL,
        rtol=RTOL,
        inputs=inputs + "; " + _("then word_embeddings.weight changed in place"),
    )
    # And the gradient of the output side lands in the embedding matrix.
    embeddings.weight.grad = None
    head(x).sum().backward()
    if embeddings.weight.grad is None or not bool(embeddings.weight.grad.abs().sum() > 0):
        fail(
            _("the loss of the head sends no gradient to word_embeddings.weight: the decoder is "
              "detached from the embedding matrix"),
            inputs=inputs,
            diagnosis="mlm_decoder_not_tied",
        )


# ---------------------------------------------------------------------------------------------
# The loss
# ---------------------------------------------------------------------------------------------


@st.composite
def loss_cases(draw):
    """(logits (batch, seq, vocab), labels (batch, seq) with -100 at unselected positions)."""
    batch, seq, vocab = draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(2, 40))
    seed, scale = draw(seeds), draw(st.sampled_from([1.0, 5.0, 0.1]))
    g = make_generator(seed)
    logits = torch.randn((batch, seq, vocab), generator=g) * scale
    labels = torch.randint(vocab, (batch, seq), generator=g)
    share = draw(st.sampled_from([0.15, 0.5, 1.0]))
    selected = torch.rand((batch, seq), generator=g) < share
    selected.view(-1)[draw(st.integers(0, batch * seq - 1))] = True  # at least one label
    labels = labels.masked_fill(~selected, IGNORE_INDEX)
    if draw(st.booleans()):  # as a slice or a transpose of a bigger tensor would be
        logits, labels = non_contiguous(logits), non_contiguous(labels)
    return logits, labels, scale


def describe_loss_case(logits: Tensor, labels: Tensor, scale: float) -> str:
    batch, seq, vocab = logits.shape
    n = int((labels != IGNORE_INDEX).sum())
    text = (
        _("prediction_logits of shape ({batch}, {seq}, {vocab}), scaled by {scale:g}; labels with "
          "{n} of {total} positions labelled, the rest -100").format(
            batch=batch, seq=seq, vocab=vocab, scale=scale, n=n, total=batch * seq
        )
    )
    if not logits.is_contiguous():
        text += "; " + _("non-contiguous prediction_logits and labels")
    return text


def loss_mistakes(logits: Tensor, labels: Tensor) -> Variants:
    vocab = logits.size(-1)
    flat_logits, flat_labels = logits.reshape(-1, vocab), labels.reshape(-1)
    selected = flat_labels != IGNORE_INDEX
    per_token = F.cross_entropy(flat_logits, flat_labels, reduction="none")  # 0 where ignored
    return Variants(
        [
            # -100 replaced by a real class (0) and averaged over every position
            (
                "mlm_loss_over_all_tokens",
                lambda: F.cross_entropy(flat_logits, flat_labels.clamp(min=0)),
            ),
            # the selected tokens' losses summed, but divided by every position
            ("mlm_loss_over_all_tokens", lambda: per_token.sum() / flat_labels.numel()),
            (
                "mlm_softmax_before_cross_entropy",
                lambda: F.cross_entropy(flat_logits.softmax(-1), flat_labels),
            ),
            (
                "mlm_softmax_before_cross_entropy",
                lambda: F.nll_loss(flat_logits.softmax(-1)[selected], flat_labels[selected]),
            ),
        ]
    )


def call_loss(mine, logits: Tensor, labels: Tensor, inputs: str) -> Tensor:
    try:
        return mine.masked_lm_loss(logits, labels)
    except (IndexError, RuntimeError) as error:
        text = str(error)
        if "out of bounds" in text or "-100" in text:
            fail(
                _("masked_lm_loss raised {kind} ({error}): a label "
                  "of -100 was used as a class index; those positions must be skipped "
                  "(F.cross_entropy(..., ignore_index=-100) does it)").format(
                    kind=type(error).__name__, error=text.splitlines()[0]
                ),
                inputs=inputs,
                diagnosis="mlm_loss_over_all_tokens",
            )
        if "target" in text.lower() and "size" in text.lower():
            fail(
                _("masked_lm_loss raised {kind} ({error}): "
                  "F.cross_entropy takes the classes on dim 1, so flatten to (batch * seq, "
                  "vocab) logits and (batch * seq,) labels first").format(
                    kind=type(error).__name__, error=text.splitlines()[0]
                ),
                inputs=inputs,
            )
        raise


@given(case=loss_cases())
def test_masked_lm_loss_matches_the_reference(mine, case):
    """masked_lm_loss is the mean cross-entropy over the labelled positions only"""
    logits, labels, scale = case
    inputs = describe_loss_case(logits, labels, scale)
    given_labels = labels.clone()
    got = call_loss(mine, logits, labels, inputs)
    if not torch.equal(labels, given_labels):
        fail(
            _("masked_lm_loss changed the labels tensor it was given (in place): build a new "
              "tensor instead, the caller still needs the -100 positions"),
            inputs=inputs,
        )
    expect_tensor(got, name="loss", shape=(), inputs=inputs, shape_names="(): a scalar")
    expect_close(
        got,
        reference_loss(logits, labels),
        name="loss",
        inputs=inputs,
        atol=ATOL,
        rtol=RTOL,
        mistakes=loss_mistakes(logits, labels),
    )


def test_unlabelled_positions_get_no_gradient(mine):
    """gradients flow to the labelled positions' logits and to no other position"""
    g = make_generator(5)
    logits = torch.randn((2, 5, 7), generator=g).requires_grad_()
    labels = torch.tensor([[3, -100, -100, 6, -100], [-100, 0, -100, -100, -100]])
    inputs = _("prediction_logits of shape (2, 5, 7); labels with 3 of 10 positions labelled")
    loss = call_loss(mine, logits, labels, inputs)
    loss = expect_tensor(loss, name="loss", shape=(), inputs=inputs)
    if not loss.requires_grad:
        fail(
            _("the loss is detached from the logits: avoid .item(), .detach() or numpy in it"),
            inputs=inputs,
        )
    loss.backward()
    leaked = logits.grad[labels == IGNORE_INDEX].abs().max()
    if leaked > 0:
        fail(
            _("positions labelled -100 get gradient (up to {leaked:.3g}): they are "
              "trained on, so the model learns to copy its visible input").format(
                leaked=float(leaked)
            ),
            inputs=inputs,
            diagnosis="mlm_loss_over_all_tokens",
        )
