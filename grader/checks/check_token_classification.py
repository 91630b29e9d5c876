"""Checks for exercise token_classification (exercises/e11_token_classification.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor, nn

from grader.checks.head_checks import (
    IGNORE_INDEX,
    EncoderBatch,
    check_dropout_rule,
    closest,
    construct,
    describe_config,
    encoder_batches,
    expect_hf_layers,
    expect_loss_tensor,
    expect_stable_loss,
    head_configs,
    large_logits,
    load_head_from,
    no_shrinking,
    reference_token_loss,
    scramble,
    small_config,
    unstable_cross_entropies,
)
from grader.checks.kit import expect_close, expect_tensor, fail
from grader.checks.strategies import make_generator, seeds
from grader.i18n import _
from reference import BertForTokenClassification

MODULE = "e11_token_classification"
HEAD = "TokenClassificationHead"
LAYERS = {"dropout": nn.Dropout, "classifier": nn.Linear}


@pytest.fixture(scope="module")
def head_cls(learner):
    return learner.TokenClassificationHead


@pytest.fixture(scope="module")
def loss_fn(learner):
    return learner.token_classification_loss


# ---------------------------------------------------------------------------------------------
# The head
# ---------------------------------------------------------------------------------------------


def reference_setup(head_cls, config, seed):
    torch.manual_seed(seed)
    model = scramble(BertForTokenClassification(config), seed)
    head = construct(head_cls, config, HEAD)
    expect_hf_layers(head, model, LAYERS, HEAD)
    return model, load_head_from(head, model, ("classifier",)).eval()


def compare_logits(head, model, batch: EncoderBatch) -> None:
    with torch.no_grad():
        sequence_output, _unused = model.bert(batch.input_ids, batch.attention_mask)
        want = model(batch.input_ids, batch.attention_mask).logits
        got = head(sequence_output)
    inputs = _("{config}; {batch}; eval mode").format(
        config=describe_config(model.config), batch=batch.describe()
    )
    expect_tensor(
        got,
        name="logits",
        shape=tuple(want.shape),
        inputs=inputs,
        shape_names="(batch, seq, num_labels)",
    )
    mistakes = {
        "tokcls_labels_from_cls": lambda: model.classifier(sequence_output[:, :1]).expand_as(want),
    }
    expect_close(got, want, name="logits", inputs=inputs, atol=1e-5, rtol=1e-4, mistakes=mistakes)


def test_declares_classifier_and_dropout_with_hf_names(head_cls):
    """declares self.dropout and self.classifier (HF names and shapes) and nothing else"""
    config = small_config(num_labels=5)
    model = BertForTokenClassification(config)
    head = construct(head_cls, config, HEAD)
    expect_hf_layers(head, model, LAYERS, HEAD)
    load_head_from(head, model, ("classifier",))


def test_dropout_probability_follows_the_config(head_cls):
    """dropout p is classifier_dropout when set (0.0 included), else hidden_dropout_prob"""
    check_dropout_rule(head_cls, HEAD)


def test_logits_on_a_small_batch(head_cls):
    """returns (batch, seq, num_labels) logits equal to the reference model's"""
    model, head = reference_setup(head_cls, small_config(num_labels=5), seed=0)
    batch = EncoderBatch(
        torch.tensor([[2, 7, 9, 4, 3], [2, 5, 3, 0, 0]]),
        torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
    )
    compare_logits(head, model, batch)


@no_shrinking
@given(config=head_configs(), batch=encoder_batches(), seed=seeds)
def test_logits_match_the_reference_model(head_cls, config, batch, seed):
    """logits equal reference BertForTokenClassification's on drawn configs and batches"""
    model, head = reference_setup(head_cls, config, seed)
    compare_logits(head, model, batch)


def test_dropout_is_applied_in_training_mode(head_cls):
    """in train mode: classifier(dropout(sequence_output)), same mask as the reference"""
    config = small_config(num_labels=4, classifier_dropout=0.5)
    model, head = reference_setup(head_cls, config, seed=3)
    input_ids = torch.randint(1, 40, (3, 6), generator=make_generator(3))
    with torch.no_grad():
        sequence_output, _unused = model.bert(input_ids)
        head.train()
        model.train()
        torch.manual_seed(11)
        got = head(sequence_output)
        torch.manual_seed(11)
        want = model.classifier(model.dropout(sequence_output))
        eval_logits = model.classifier(sequence_output)
    inputs = _("{config}; batch=3, seq=6; train mode, torch.manual_seed(11)").format(
        config=describe_config(config)
    )
    got = expect_tensor(got, name="logits", shape=tuple(want.shape), inputs=inputs)
    if torch.allclose(got, eval_logits, atol=1e-6):
        fail(
            _("in training mode the logits equal the eval-mode logits: apply self.dropout to the "
              "hidden states before the classifier"),
            inputs=inputs,
        )
    expect_close(got, want, name="logits (train mode)", inputs=inputs, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# The loss
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagCase:
    logits: Tensor  # (batch, seq, num_labels)
    labels: Tensor  # (batch, seq), -100 where ignored

    def describe(self) -> str:
        batch, seq, k = self.logits.shape
        ignored = int((self.labels == IGNORE_INDEX).sum())
        return (
            _("batch={batch}, seq={seq}, num_labels={k}; {ignored} of {total} labels are "
              "-100 ([CLS], [SEP], padding, later word pieces)").format(
                batch=batch, seq=seq, k=k, ignored=ignored, total=batch * seq
            )
        )


@st.composite
def tag_cases(draw) -> TagCase:
    """Tags laid out as a tokenizer would: -100 at [CLS], [SEP], padding and some word
    pieces; at least one real tag."""
    batch, seq, k = draw(st.integers(1, 4)), draw(st.integers(2, 10)), draw(st.integers(2, 7))
    generator = make_generator(draw(seeds))
    logits = torch.randn(batch, seq, k, generator=generator) * 2
    labels = torch.randint(0, k, (batch, seq), generator=generator)
    for row in range(batch):
        length = draw(st.integers(1, seq))
        labels[row, length:] = IGNORE_INDEX  # padding
        labels[row, 0] = IGNORE_INDEX  # [CLS]
        if length >= 2:
            labels[row, length - 1] = IGNORE_INDEX  # [SEP]
    pieces = torch.rand(batch, seq, generator=generator) < draw(st.sampled_from([0.0, 0.3]))
    labels[pieces] = IGNORE_INDEX  # non-first word pieces
    if bool((labels == IGNORE_INDEX).all()):
        labels[0, 1] = int(torch.randint(0, k, (1,), generator=generator))
    return TagCase(logits, labels)


def loss_mistakes(case: TagCase) -> dict:
    logits, labels = case.logits, case.labels
    flat_logits, flat_labels = logits.reshape(-1, logits.size(-1)), labels.reshape(-1)
    return {
        "tokcls_loss_mean_over_ignored": lambda: F.cross_entropy(
            flat_logits, flat_labels, reduction="none"
        ).mean(),
        "tokcls_softmax_before_cross_entropy": lambda: F.cross_entropy(
            flat_logits.softmax(-1), flat_labels
        ),
    }


def compare_loss(loss_fn, case: TagCase) -> None:
    inputs = case.describe()
    got = expect_loss_tensor(loss_fn(case.logits, case.labels), inputs=inputs)
    want = reference_token_loss(case.logits, case.labels)
    expect_close(
        got, want, name="loss", inputs=inputs, atol=1e-5, rtol=1e-4, mistakes=loss_mistakes(case)
    )


def small_tag_case() -> TagCase:
    generator = make_generator(1)
    labels = torch.tensor([[-100, 2, 0, -100, 1, -100], [-100, 1, -100, -100, -100, -100]])
    return TagCase(torch.randn(2, 6, 3, generator=generator) * 2, labels)


def test_loss_on_a_small_batch(loss_fn):
    """a 0-dim loss equal to the reference on a small batch with -100 labels"""
    compare_loss(loss_fn, small_tag_case())


@given(case=tag_cases())
def test_loss_matches_the_reference(loss_fn, case):
    """equals reference BertForTokenClassification's loss on drawn tags and ignored positions"""
    compare_loss(loss_fn, case)


@given(case=tag_cases(), seed=seeds)
def test_ignored_positions_do_not_count(loss_fn, case, seed):
    """changing the logits where labels are -100 leaves the loss unchanged"""
    ignored = case.labels == IGNORE_INDEX
    noise = torch.randn(case.logits.shape, generator=make_generator(seed)) * 10
    changed = torch.where(ignored[..., None], noise, case.logits)
    inputs = case.describe() + "; " + _("logits at the -100 positions replaced by other values")
    before = expect_loss_tensor(loss_fn(case.logits, case.labels), inputs=case.describe())
    after = expect_loss_tensor(loss_fn(changed, case.labels), inputs=inputs)
    if not torch.allclose(before.detach(), after.detach(), atol=1e-5, rtol=1e-4):
        fail(
            _("the loss changed from {before:.6g} to {after:.6g} when only the "
              "logits of positions labelled -100 changed: those positions must not count").format(
                before=float(before), after=float(after)
            ),
            inputs=inputs,
        )


@pytest.mark.parametrize("num_labels", [2, 5])
def test_loss_equals_the_reference_model_end_to_end(head_cls, loss_fn, num_labels):
    """your head + your loss equal reference BertForTokenClassification(labels=...).loss"""
    config = small_config(num_labels=num_labels)
    model, head = reference_setup(head_cls, config, seed=5)
    generator = make_generator(5)
    input_ids = torch.randint(1, 40, (3, 7), generator=generator)
    attention_mask = torch.tensor([[1] * 7, [1] * 5 + [0] * 2, [1] * 3 + [0] * 4])
    labels = torch.randint(0, num_labels, (3, 7), generator=generator)
    labels[attention_mask == 0] = IGNORE_INDEX
    labels[:, 0] = IGNORE_INDEX
    labels[0, 3] = IGNORE_INDEX
    input_ids = input_ids * attention_mask
    with torch.no_grad():
        want = model(input_ids, attention_mask, labels=labels).loss
        sequence_output, _ = model.bert(input_ids, attention_mask)
        logits = head(sequence_output)
        got = loss_fn(logits, labels)
    case = TagCase(logits, labels)
    inputs = f"{describe_config(config)}; " + case.describe()
    got = expect_loss_tensor(got, inputs=inputs)
    expect_close(
        got, want, name="loss", inputs=inputs, atol=1e-5, rtol=1e-4, mistakes=loss_mistakes(case)
    )


def test_gradients_flow_and_skip_ignored_positions(loss_fn):
    """loss.backward() gives the reference's gradient: zero at every -100 position"""
    case = small_tag_case()
    mine = case.logits.clone().requires_grad_()
    got = expect_loss_tensor(loss_fn(mine, case.labels), inputs=case.describe())
    if not got.requires_grad:
        fail(
            _("the loss is cut off from the logits: avoid .detach(), .item(), numpy or "
              "torch.no_grad() in the loss"),
            inputs=case.describe(),
        )
    got.backward()
    theirs = case.logits.clone().requires_grad_()
    reference_token_loss(theirs, case.labels).backward()
    expect_close(
        mine.grad,
        theirs.grad,
        name="d loss / d logits",
        inputs=case.describe(),
        atol=1e-6,
        rtol=1e-4,
    )


def test_loss_on_large_logits(loss_fn):
    """large logits, confidently wrong: the loss stays finite and equals the reference"""
    logits = large_logits((2, 6, 4), seed=17)
    labels = logits.argmin(-1)  # the tag the model rules out most
    labels[:, 0] = IGNORE_INDEX
    labels[1, 4:] = IGNORE_INDEX
    case = TagCase(logits, labels)
    inputs = case.describe() + "; " + _("logits of size up to {largest:.0f}").format(
        largest=float(logits.abs().max()))
    got = loss_fn(logits, labels)
    flat_logits, flat_labels = logits.reshape(-1, logits.shape[-1]), labels.reshape(-1)
    mistakes = {"tokcls_unstable_manual_loss": lambda: closest(
        got, unstable_cross_entropies(flat_logits, flat_labels, IGNORE_INDEX))}
    expect_stable_loss(got, reference_token_loss(logits, labels), inputs=inputs,
                       mistakes=mistakes)  # fmt: skip
