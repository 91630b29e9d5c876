"""Checks for exercise sequence_classification (exercises/e10_sequence_classification.py)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor, nn

from grader.checks.head_checks import (
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
    reference_sequence_loss,
    scramble,
    small_config,
    unstable_cross_entropies,
)
from grader.checks.kit import expect_close, expect_tensor, fail
from grader.checks.strategies import make_generator, seeds
from grader.i18n import _
from reference import BertForSequenceClassification

MODULE = "e10_sequence_classification"
HEAD = "SequenceClassificationHead"
LAYERS = {"dropout": nn.Dropout, "classifier": nn.Linear}


@pytest.fixture(scope="module")
def head_cls(learner):
    return learner.SequenceClassificationHead


@pytest.fixture(scope="module")
def loss_fn(learner):
    return learner.sequence_classification_loss


# ---------------------------------------------------------------------------------------------
# The head
# ---------------------------------------------------------------------------------------------


def reference_setup(head_cls, config, seed):
    """A scrambled reference model and the learner's head holding its classifier weights."""
    torch.manual_seed(seed)
    model = scramble(BertForSequenceClassification(config), seed)
    head = construct(head_cls, config, HEAD)
    expect_hf_layers(head, model, LAYERS, HEAD)
    return model, load_head_from(head, model, ("classifier",)).eval()


def head_mistakes(got, model, batch: EncoderBatch, sequence_output: Tensor) -> dict:
    mask = batch.attention_mask[..., None].to(sequence_output.dtype)
    means = (sequence_output.mean(1), (sequence_output * mask).sum(1) / mask.sum(1))
    return {
        # a plain mean (padding included) or a mean over real tokens only
        "seqcls_from_mean_of_tokens": lambda: closest(got, [model.classifier(m) for m in means]),
        "seqcls_without_pooler": lambda: model.classifier(sequence_output[:, 0]),
    }


def compare_logits(head, model, batch: EncoderBatch) -> None:
    with torch.no_grad():
        sequence_output, pooled_output = model.bert(batch.input_ids, batch.attention_mask)
        want = model(batch.input_ids, batch.attention_mask).logits
        got = head(sequence_output, pooled_output)
    inputs = _("{config}; {batch}; eval mode").format(
        config=describe_config(model.config), batch=batch.describe()
    )
    mistakes = head_mistakes(got, model, batch, sequence_output)
    expect_tensor(
        got,
        name="logits",
        shape=tuple(want.shape),
        inputs=inputs,
        shape_names="(batch, num_labels)",
    )
    expect_close(got, want, name="logits", inputs=inputs, atol=1e-5, rtol=1e-4, mistakes=mistakes)


def test_declares_classifier_and_dropout_with_hf_names(head_cls):
    """declares self.dropout and self.classifier (HF names and shapes) and nothing else"""
    config = small_config(num_labels=3)
    model = BertForSequenceClassification(config)
    head = construct(head_cls, config, HEAD)
    expect_hf_layers(head, model, LAYERS, HEAD)
    load_head_from(head, model, ("classifier",))


def test_dropout_probability_follows_the_config(head_cls):
    """dropout p is classifier_dropout when set (0.0 included), else hidden_dropout_prob"""
    check_dropout_rule(head_cls, HEAD)


def test_logits_on_a_small_batch(head_cls):
    """returns (batch, num_labels) logits equal to the reference model's on a small batch"""
    config = small_config(num_labels=3)
    model, head = reference_setup(head_cls, config, seed=0)
    batch = EncoderBatch(
        torch.tensor([[2, 7, 9, 4], [2, 5, 0, 0]]), torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    )
    compare_logits(head, model, batch)


@no_shrinking
@given(config=head_configs(), batch=encoder_batches(), seed=seeds)
def test_logits_match_the_reference_model(head_cls, config, batch, seed):
    """logits equal reference BertForSequenceClassification's on drawn configs and batches"""
    model, head = reference_setup(head_cls, config, seed)
    compare_logits(head, model, batch)


def test_dropout_is_applied_in_training_mode(head_cls):
    """in train mode: classifier(dropout(...)), same random mask as the reference under a seed"""
    config = small_config(num_labels=4, classifier_dropout=0.5)
    model, head = reference_setup(head_cls, config, seed=3)
    batch = EncoderBatch(
        torch.randint(1, 40, (6, 5), generator=make_generator(3)),
        torch.ones(6, 5, dtype=torch.long),
    )
    with torch.no_grad():
        sequence_output, pooled_output = model.bert(batch.input_ids, batch.attention_mask)
        head.train()
        model.train()
        torch.manual_seed(11)
        got = head(sequence_output, pooled_output)
        torch.manual_seed(11)
        want = model.classifier(model.dropout(pooled_output))
        eval_logits = model.classifier(pooled_output)
    inputs = _("{config}; {batch}; train mode, torch.manual_seed(11)").format(
        config=describe_config(config), batch=batch.describe()
    )
    got = expect_tensor(got, name="logits", shape=tuple(want.shape), inputs=inputs)
    if torch.allclose(got, eval_logits, atol=1e-6):
        fail(
            _("in training mode the logits equal the eval-mode logits: apply self.dropout to the "
              "input of the classifier (nn.Dropout is active after .train(), a no-op after "
              ".eval())"),
            inputs=inputs,
        )
    expect_close(got, want, name="logits (train mode)", inputs=inputs, atol=1e-5, rtol=1e-4)


# ---------------------------------------------------------------------------------------------
# The loss
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossCase:
    logits: Tensor
    labels: Tensor
    num_labels: int
    problem_type: str | None

    def describe(self) -> str:
        dtype = str(self.labels.dtype).removeprefix("torch.")
        return (
            _("logits of shape {logits_shape}, labels {dtype} of shape "
              "{labels_shape}, num_labels={num_labels}, "
              "problem_type={problem_type!r}").format(
                logits_shape=tuple(self.logits.shape), dtype=dtype,
                labels_shape=tuple(self.labels.shape), num_labels=self.num_labels,
                problem_type=self.problem_type
            )
        )


@st.composite
def loss_cases(draw, kind: str) -> LossCase:
    """kind: the problem ("single", "regression", "multi") with problem_type None, or
    "explicit": a problem_type given, sometimes one the labels alone would not choose."""
    batch = draw(st.integers(1, 6))
    generator = make_generator(draw(seeds))
    problem_type = None
    if kind == "explicit":
        kind, problem_type = draw(
            st.sampled_from(
                [
                    ("single", "single_label_classification"),
                    ("regression", "regression"),
                    ("regression_many", "regression"),  # auto would say multi-label
                    ("multi_one", "multi_label_classification"),  # auto would say regression
                    ("multi", "multi_label_classification"),
                ]
            )
        )
    num_labels = 1 if kind in ("regression", "multi_one") else draw(st.integers(2, 6))
    logits = torch.randn(batch, num_labels, generator=generator) * 2
    if kind == "single":
        labels = torch.randint(0, num_labels, (batch,), generator=generator)
        if draw(st.booleans()):
            labels = labels[:, None]
    elif kind == "regression":
        labels = torch.randn(batch, generator=generator) * 2
        if draw(st.sampled_from([False, False, True])):
            labels = labels[:, None]
    elif kind == "regression_many":
        labels = torch.randn(batch, num_labels, generator=generator)
    else:  # multi, multi_one: 0/1 targets, sometimes soft ones
        labels = (torch.rand(batch, num_labels, generator=generator) < 0.5).float()
        if draw(st.sampled_from([False, False, True])):
            labels = torch.rand(batch, num_labels, generator=generator)
    return LossCase(logits, labels, num_labels, problem_type)


def loss_mistakes(case: LossCase) -> dict:
    logits, labels, k = case.logits, case.labels, case.num_labels

    def mse_unsqueezed():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return F.mse_loss(logits, labels)

    def auto_rule():
        return reference_sequence_loss(logits, labels, k, None)

    mistakes = {}
    if case.problem_type is not None:
        mistakes["seqcls_problem_type_ignored"] = auto_rule
    if labels.dtype == torch.long:
        flat = labels.view(-1)
        mistakes |= {
            "seqcls_softmax_before_cross_entropy": lambda: F.cross_entropy(
                logits.softmax(-1), flat
            ),
            "seqcls_bce_for_single_label": lambda: F.binary_cross_entropy_with_logits(
                logits, F.one_hot(flat, k).float()
            ),
        }
    elif k == 1:
        mistakes["seqcls_mse_without_squeeze"] = mse_unsqueezed
    else:
        mistakes["seqcls_cross_entropy_for_multi_label"] = lambda: F.cross_entropy(logits, labels)
    return mistakes


def compare_loss(loss_fn, case: LossCase) -> None:
    inputs = case.describe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a broadcasting mse_loss warns; the value tells
        got = loss_fn(case.logits, case.labels, case.num_labels, case.problem_type)
    got = expect_loss_tensor(got, inputs=inputs)
    want = reference_sequence_loss(case.logits, case.labels, case.num_labels, case.problem_type)
    expect_close(
        got, want, name="loss", inputs=inputs, atol=1e-5, rtol=1e-4, mistakes=loss_mistakes(case)
    )


def test_loss_returns_a_scalar_tensor(loss_fn):
    """the loss is a 0-dim float tensor on a small single-label batch"""
    case = LossCase(
        torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]]), torch.tensor([0, 2]), 3, None
    )
    expect_loss_tensor(loss_fn(case.logits, case.labels, 3, None), inputs=case.describe())


@given(case=loss_cases("single"))
def test_single_label_loss(loss_fn, case):
    """int64 labels, num_labels > 1: the reference's single-label loss"""
    compare_loss(loss_fn, case)


@given(case=loss_cases("regression"))
def test_regression_loss(loss_fn, case):
    """num_labels == 1, float labels (batch,) or (batch, 1): the reference's regression loss"""
    compare_loss(loss_fn, case)


@given(case=loss_cases("multi"))
def test_multi_label_loss(loss_fn, case):
    """float 0/1 (or soft) labels (batch, num_labels): the reference's multi-label loss"""
    compare_loss(loss_fn, case)


@given(case=loss_cases("explicit"))
def test_an_explicit_problem_type_wins(loss_fn, case):
    """a given problem_type decides, even where the labels alone would choose another"""
    compare_loss(loss_fn, case)


@pytest.mark.parametrize(
    ("num_labels", "problem_type", "kind"),
    [
        (3, None, "single"),
        (1, None, "regression"),
        (4, None, "multi"),
        (1, "multi_label_classification", "multi_one"),
    ],
)
def test_loss_equals_the_reference_model_end_to_end(
    head_cls, loss_fn, num_labels, problem_type, kind
):
    """your head + your loss equal reference BertForSequenceClassification(labels=...).loss"""
    config = small_config(num_labels=num_labels, problem_type=problem_type)
    model, head = reference_setup(head_cls, config, seed=5)
    generator = make_generator(5)
    input_ids = torch.randint(1, 40, (4, 6), generator=generator)
    if kind == "single":
        labels = torch.randint(0, num_labels, (4,), generator=generator)
    elif kind == "regression":
        labels = torch.randn(4, generator=generator)
    else:
        labels = (torch.rand(4, num_labels, generator=generator) < 0.5).float()
    with torch.no_grad():
        want = model(input_ids, labels=labels)
        sequence_output, pooled_output = model.bert(input_ids)
        logits = head(sequence_output, pooled_output)
        got = loss_fn(logits, labels, num_labels, problem_type)
    case = LossCase(logits, labels, num_labels, problem_type)
    inputs = f"{describe_config(config)}; batch=4, seq=6; " + case.describe()
    got = expect_loss_tensor(got, inputs=inputs)
    expect_close(
        got,
        want.loss,
        name="loss",
        inputs=inputs,
        atol=1e-5,
        rtol=1e-4,
        mistakes=loss_mistakes(case),
    )


@pytest.mark.parametrize("kind", ["single", "regression", "multi"])
def test_gradients_flow_to_the_logits(loss_fn, kind):
    """loss.backward() reaches the logits with the reference's gradient"""
    generator = make_generator(7)
    num_labels = 1 if kind == "regression" else 3
    logits = torch.randn(5, num_labels, generator=generator)
    if kind == "single":
        labels = torch.randint(0, 3, (5,), generator=generator)
    elif kind == "regression":
        labels = torch.randn(5, generator=generator)
    else:
        labels = (torch.rand(5, 3, generator=generator) < 0.5).float()
    case = LossCase(logits, labels, num_labels, None)
    mine = logits.clone().requires_grad_()
    got = expect_loss_tensor(loss_fn(mine, labels, num_labels, None), inputs=case.describe())
    if not got.requires_grad:
        fail(
            _("the loss is cut off from the logits: avoid .detach(), .item(), numpy or "
              "torch.no_grad() in the loss"),
            inputs=case.describe(),
        )
    got.backward()
    theirs = logits.clone().requires_grad_()
    reference_sequence_loss(theirs, labels, num_labels, None).backward()
    expect_close(
        mine.grad,
        theirs.grad,
        name="d loss / d logits",
        inputs=case.describe(),
        atol=1e-6,
        rtol=1e-4,
    )


@pytest.mark.parametrize("kind", ["single", "multi"])
def test_loss_on_large_logits(loss_fn, kind):
    """large logits, confidently wrong: the loss stays finite and equals the reference"""
    logits = large_logits((6, 5), seed=13)
    if kind == "single":
        labels = logits.argmin(-1)  # the class the model rules out most
        unstable = {"seqcls_unstable_manual_loss": lambda: closest(
            got, unstable_cross_entropies(logits, labels, ignore_index=-100))}
    else:
        labels = (logits < 0).float()  # every label the opposite of the prediction
        unstable = {"seqcls_unstable_manual_loss": lambda: F.binary_cross_entropy(
            torch.sigmoid(logits), labels)}
    case = LossCase(logits, labels, 5, None)
    inputs = case.describe() + "; " + _("logits of size up to {largest:.0f}").format(
        largest=float(logits.abs().max()))
    got = loss_fn(logits, labels, 5, None)
    want = reference_sequence_loss(logits, labels, 5, None)
    expect_stable_loss(got, want, inputs=inputs, mistakes=unstable)
