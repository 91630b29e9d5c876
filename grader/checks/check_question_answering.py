"""Checks for exercise question_answering (exercises/e12_question_answering.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor, nn

from grader.checks.head_checks import (
    EncoderBatch,
    closest,
    construct,
    encoder_batches,
    expect_hf_layers,
    expect_loss_tensor,
    expect_stable_loss,
    head_configs,
    large_logits,
    load_head_from,
    no_shrinking,
    reference_qa_loss,
    scramble,
    small_config,
    unstable_cross_entropies,
)
from grader.checks.kit import expect_close, expect_tensor, fail
from grader.checks.strategies import make_generator, seeds
from grader.i18n import _
from reference import BertForQuestionAnswering

MODULE = "e12_question_answering"
HEAD = "QuestionAnsweringHead"
LAYERS = {"qa_outputs": nn.Linear}


@pytest.fixture(scope="module")
def head_cls(learner):
    return learner.QuestionAnsweringHead


@pytest.fixture(scope="module")
def loss_fn(learner):
    return learner.question_answering_loss


# ---------------------------------------------------------------------------------------------
# The head
# ---------------------------------------------------------------------------------------------


def describe_qa_config(config) -> str:
    return f"hidden={config.hidden_size}"


def reference_setup(head_cls, config, seed):
    torch.manual_seed(seed)
    model = scramble(BertForQuestionAnswering(config), seed)
    head = construct(head_cls, config, HEAD)
    expect_hf_layers(head, model, LAYERS, HEAD)
    return model, load_head_from(head, model, ("qa_outputs",)).eval()


def call_head(head, sequence_output: Tensor, inputs: str) -> tuple[Tensor, Tensor]:
    result = head(sequence_output)
    if not isinstance(result, tuple | list) or len(result) != 2:
        kind = type(result).__name__
        if isinstance(result, Tensor):
            message = _("return a pair (start_logits, end_logits), got a Tensor of shape {shape} "
                        "(split the last axis into two tensors)")  # fmt: skip
        elif isinstance(result, tuple | list):
            message = _("return a pair (start_logits, end_logits), got {kind} of length {length}")
        else:
            message = _("return a pair (start_logits, end_logits), got {kind}")
        shape = tuple(result.shape) if isinstance(result, Tensor) else ()
        length = len(result) if isinstance(result, tuple | list) else 0
        fail(message.format(kind=kind, shape=shape, length=length), inputs=inputs)
    return result[0], result[1]


def compare_logits(head, model, batch: EncoderBatch) -> None:
    with torch.no_grad():
        sequence_output, _ = model.bert(batch.input_ids, batch.attention_mask)
        want = model(batch.input_ids, batch.attention_mask)
        got_start, got_end = call_head(head, sequence_output, batch.describe())
    inputs = f"{describe_qa_config(model.config)}; {batch.describe()}"
    shape = tuple(want.start_logits.shape)
    for name, got in (("start_logits", got_start), ("end_logits", got_end)):
        expect_tensor(got, name=name, shape=shape, inputs=inputs, shape_names="(batch, seq)")
    expect_close(
        got_start,
        want.start_logits,
        name="start_logits",
        inputs=inputs,
        atol=1e-5,
        rtol=1e-4,
        mistakes={"qa_start_end_swapped": lambda: want.end_logits},
    )
    expect_close(
        got_end,
        want.end_logits,
        name="end_logits",
        inputs=inputs,
        atol=1e-5,
        rtol=1e-4,
        mistakes={"qa_start_end_swapped": lambda: want.start_logits},
    )


def test_declares_qa_outputs_with_the_hf_name(head_cls):
    """declares self.qa_outputs = Linear(hidden, 2) (HF name and shape) and nothing else"""
    config = small_config(num_labels=2)
    model = BertForQuestionAnswering(config)
    head = construct(head_cls, config, HEAD)
    expect_hf_layers(head, model, LAYERS, HEAD)
    load_head_from(head, model, ("qa_outputs",))


def test_logits_on_a_small_batch(head_cls):
    """returns (start_logits, end_logits), each (batch, seq), equal to the reference model's"""
    model, head = reference_setup(head_cls, small_config(num_labels=2), seed=0)
    batch = EncoderBatch(
        torch.tensor([[2, 7, 9, 4, 3], [2, 5, 3, 0, 0]]),
        torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]),
    )
    compare_logits(head, model, batch)


@no_shrinking
@given(config=head_configs(num_labels=st.just(2)), batch=encoder_batches(), seed=seeds)
def test_logits_match_the_reference_model(head_cls, config, batch, seed):
    """start and end logits equal reference BertForQuestionAnswering's on drawn configs"""
    model, head = reference_setup(head_cls, config, seed)
    compare_logits(head, model, batch)


# ---------------------------------------------------------------------------------------------
# The loss
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanCase:
    start_logits: Tensor  # (batch, seq)
    end_logits: Tensor
    start_positions: Tensor  # (batch,)
    end_positions: Tensor

    @property
    def seq(self) -> int:
        return self.start_logits.shape[1]

    @property
    def out_of_window(self) -> bool:
        return bool(
            (self.start_positions >= self.seq).any() or (self.end_positions >= self.seq).any()
        )

    def describe(self) -> str:
        batch, seq = self.start_logits.shape
        text = (
            f"batch={batch}, seq={seq}; start_positions={self.start_positions.tolist()}, "
            f"end_positions={self.end_positions.tolist()}"
        )
        if self.out_of_window:
            text += " " + _("(positions >= {seq} lie past the input)").format(seq=seq)
        return text


@st.composite
def span_cases(draw, outside: bool) -> SpanCase:
    """Answer spans; with ``outside``, some rows have a start or end past the input (row 0
    always keeps its answer inside, the last row always has one outside)."""
    seq = draw(st.integers(2 if outside else 1, 12))
    batch = draw(st.integers(2 if outside else 1, 5))
    generator = make_generator(draw(seeds))
    starts, ends = [], []
    for row in range(batch):
        start = draw(st.integers(0, seq - 1))
        end = draw(st.integers(start, seq - 1))
        if outside and row > 0:
            where = draw(st.sampled_from(["inside", "end", "both"]))
            if row == batch - 1 and where == "inside":
                where = "both"
            if where in ("end", "both"):
                end = seq + draw(st.integers(0, 6))
            if where == "both":
                start = seq + draw(st.integers(0, 6))
        starts.append(start)
        ends.append(end)
    return SpanCase(
        torch.randn(batch, seq, generator=generator) * 2,
        torch.randn(batch, seq, generator=generator) * 2,
        torch.tensor(starts),
        torch.tensor(ends),
    )


def loss_mistakes(case: SpanCase, got) -> dict:
    s, e = case.start_logits, case.end_logits
    seq = case.seq
    start, end = case.start_positions.clamp(0, seq), case.end_positions.clamp(0, seq)

    def ce(logits, positions):
        return F.cross_entropy(logits, positions, ignore_index=seq)

    def counted(to: int):
        def clamp(p):
            return torch.where(p >= seq, torch.full_like(p, to), p)

        return (
            F.cross_entropy(s, clamp(case.start_positions))
            + F.cross_entropy(e, clamp(case.end_positions))
        ) / 2

    mistakes = {
        "qa_loss_not_averaged": lambda: ce(s, start) + ce(e, end),
        "qa_start_end_swapped": lambda: (ce(s, end) + ce(e, start)) / 2,
    }
    if case.out_of_window:
        # a position past the input counted as the last token, or as [CLS]
        mistakes["qa_out_of_range_counted"] = lambda: closest(got, [counted(seq - 1), counted(0)])
    return mistakes


def call_loss(loss_fn, case: SpanCase):
    args = (case.start_logits, case.end_logits, case.start_positions, case.end_positions)
    if not case.out_of_window:
        return loss_fn(*args)
    try:
        return loss_fn(*args)
    except (IndexError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        fail(
            _("your loss raised {kind} ({first}) on answer positions past the input: "
              "cross_entropy has no class {seq} or beyond. Clamp positions to [0, seq] "
              "and pass ignore_index=seq").format(
                kind=type(err).__name__, first=first, seq=case.seq
            ),
            inputs=case.describe(),
            diagnosis="qa_positions_not_clamped",
        )


def compare_loss(loss_fn, case: SpanCase) -> None:
    inputs = case.describe()
    got = expect_loss_tensor(call_loss(loss_fn, case), inputs=inputs)
    want = reference_qa_loss(
        case.start_logits, case.end_logits, case.start_positions, case.end_positions
    )
    expect_close(
        got,
        want,
        name="loss",
        inputs=inputs,
        atol=1e-5,
        rtol=1e-4,
        mistakes=loss_mistakes(case, got),
    )


def small_span_case(outside: bool = False) -> SpanCase:
    generator = make_generator(2)
    starts, ends = ([1, 3, 9], [2, 11, 9]) if outside else ([1, 3, 0], [2, 4, 0])
    return SpanCase(
        torch.randn(3, 6, generator=generator) * 2,
        torch.randn(3, 6, generator=generator) * 2,
        torch.tensor(starts),
        torch.tensor(ends),
    )


def test_loss_on_a_small_batch(loss_fn):
    """a 0-dim loss equal to the reference on a small batch, answer positions inside the input"""
    compare_loss(loss_fn, small_span_case())


@given(case=span_cases(outside=False))
def test_loss_with_answers_inside_the_input(loss_fn, case):
    """equals the reference's loss when every answer position lies inside the input"""
    compare_loss(loss_fn, case)


def test_loss_with_an_answer_past_the_input(loss_fn):
    """answer positions past the input (>= seq) are ignored, as the reference does"""
    compare_loss(loss_fn, small_span_case(outside=True))


@given(case=span_cases(outside=True))
def test_loss_with_answers_past_the_input(loss_fn, case):
    """equals the reference's loss on drawn batches with some answer positions past the input"""
    compare_loss(loss_fn, case)


def test_loss_equals_the_reference_model_end_to_end(head_cls, loss_fn):
    """your head + your loss equal reference BertForQuestionAnswering(...).loss"""
    config = small_config(num_labels=2)
    model, head = reference_setup(head_cls, config, seed=5)
    input_ids = torch.randint(1, 40, (4, 8), generator=make_generator(5))
    starts, ends = torch.tensor([0, 2, 5, 8]), torch.tensor([0, 4, 12, 9])
    with torch.no_grad():
        want = model(input_ids, start_positions=starts, end_positions=ends).loss
        sequence_output, _ = model.bert(input_ids)
        start_logits, end_logits = call_head(head, sequence_output, "batch=4, seq=8")
    case = SpanCase(start_logits, end_logits, starts, ends)
    with torch.no_grad():
        got = expect_loss_tensor(call_loss(loss_fn, case), inputs=case.describe())
    expect_close(
        got,
        want,
        name="loss",
        inputs=case.describe(),
        atol=1e-5,
        rtol=1e-4,
        mistakes=loss_mistakes(case, got),
    )


def test_gradients_flow_to_both_logits(loss_fn):
    """loss.backward() gives the reference's gradients for start and end logits"""
    case = small_span_case(outside=True)
    mine = [case.start_logits.clone().requires_grad_(), case.end_logits.clone().requires_grad_()]
    mine_case = SpanCase(mine[0], mine[1], case.start_positions, case.end_positions)
    got = expect_loss_tensor(call_loss(loss_fn, mine_case), inputs=case.describe())
    if not got.requires_grad:
        fail(
            _("the loss is cut off from the logits: avoid .detach(), .item(), numpy or "
              "torch.no_grad() in the loss"),
            inputs=case.describe(),
        )
    got.backward()
    theirs = [case.start_logits.clone().requires_grad_(), case.end_logits.clone().requires_grad_()]
    reference_qa_loss(theirs[0], theirs[1], case.start_positions, case.end_positions).backward()
    for name, a, b in (("start_logits", mine[0], theirs[0]), ("end_logits", mine[1], theirs[1])):
        if a.grad is None:
            fail(_("no gradient reaches {name}").format(name=name), inputs=case.describe())
        expect_close(
            a.grad, b.grad, name=f"d loss / d {name}", inputs=case.describe(), atol=1e-6, rtol=1e-4
        )


def test_loss_on_large_logits(loss_fn):
    """large logits, confidently wrong: the loss stays finite and equals the reference"""
    start_logits, end_logits = large_logits((2, 4, 7), seed=19).unbind(0)
    # the positions the model rules out most; the last row's end lies past the input
    starts, ends = start_logits.argmin(-1), end_logits.argmin(-1)
    ends[-1] = 7
    case = SpanCase(start_logits, end_logits, starts, ends)
    inputs = case.describe() + "; " + _("logits of size up to {largest:.0f}").format(
        largest=float(torch.stack([start_logits, end_logits]).abs().max()))
    got = call_loss(loss_fn, case)

    def unstable():
        pairs = zip(unstable_cross_entropies(start_logits, starts.clamp(0, 7), 7),
                    unstable_cross_entropies(end_logits, ends.clamp(0, 7), 7), strict=True)
        return closest(got, [(s + e) / 2 for s, e in pairs])  # fmt: skip

    want = reference_qa_loss(start_logits, end_logits, starts, ends)
    expect_stable_loss(got, want, inputs=inputs, mistakes={"qa_unstable_manual_loss": unstable})
