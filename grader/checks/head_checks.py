"""Shared by the fine-tuning head checks (sequence_classification, token_classification,
question_answering): small reference models, the Hugging Face weight names a head must
declare, and the reference's own loss code run on logits the check chooses.

The losses are never re-derived here: :func:`reference_loss` swaps the encoder and the head
layers of a ``reference`` model for pass-throughs, so the model's ``forward`` runs its own
loss branch (problem type, squeeze, clamping, ignore index) on the given logits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
from hypothesis import Phase, settings
from hypothesis import strategies as st
from torch import Tensor, nn

from grader.checks.kit import expect_close, fail
from grader.checks.strategies import make_generator
from grader.i18n import _
from reference import (
    BertConfig,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
)

VOCAB = 40
MAX_POSITIONS = 16
IGNORE_INDEX = -100

#: For tests that build and run a model per example: drawn inputs are already small, and
#: shrinking a failure would run hundreds more models (tens of seconds) to say little more.
no_shrinking = settings(phases=[Phase.explicit, Phase.generate])


def small_config(**overrides) -> BertConfig:
    values = dict(
        vocab_size=VOCAB,
        hidden_size=12,
        num_hidden_layers=1,
        num_attention_heads=3,
        intermediate_size=20,
        max_position_embeddings=MAX_POSITIONS,
    )
    return BertConfig(**(values | overrides))


@st.composite
def head_configs(draw, num_labels: st.SearchStrategy[int] | None = None) -> BertConfig:
    """Small random BERT configs: 1 layer, 1-4 heads of 2-8, a drawn dropout setting."""
    heads = draw(st.sampled_from([1, 2, 4]))
    return small_config(
        hidden_size=heads * draw(st.integers(2, 8)),
        num_attention_heads=heads,
        intermediate_size=draw(st.integers(4, 32)),
        hidden_act=draw(st.sampled_from(["gelu", "relu"])),
        num_labels=draw(num_labels if num_labels is not None else st.integers(1, 5)),
        classifier_dropout=draw(st.sampled_from([None, 0.0, 0.3])),
    )


def scramble(model: nn.Module, seed: int) -> nn.Module:
    """Give every parameter an O(1) random value (BERT's N(0, 0.02) init makes every logit
    nearly 0, which would let very different heads agree within tolerance)."""
    generator = make_generator(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            p.copy_(1.0 + 0.1 * noise if name.endswith("LayerNorm.weight") else 0.5 * noise)
    return model.eval()


@dataclass(frozen=True)
class EncoderBatch:
    input_ids: Tensor
    attention_mask: Tensor

    def describe(self) -> str:
        batch, seq = self.input_ids.shape
        lengths = self.attention_mask.sum(-1).tolist()
        padded = [f"row {i} has {seq - n} padding" for i, n in enumerate(lengths) if n < seq]
        return f"batch={batch}, seq={seq}" + (f" ({'; '.join(padded)})" if padded else "")


@st.composite
def encoder_batches(draw, max_batch: int = 3, max_seq: int = 9) -> EncoderBatch:
    """Token ids (random) with right padding; every row keeps at least its [CLS]."""
    batch, seq = draw(st.integers(1, max_batch)), draw(st.integers(1, max_seq))
    lengths = [draw(st.integers(1, seq)) for _ in range(batch)]
    generator = make_generator(draw(st.integers(0, 2**31 - 1)))
    input_ids = torch.randint(1, VOCAB, (batch, seq), generator=generator)
    mask = (torch.arange(seq)[None, :] < torch.tensor(lengths)[:, None]).long()
    return EncoderBatch(input_ids * mask, mask)


def construct(head_cls: type, config: BertConfig, what: str) -> nn.Module:
    head = head_cls(config)
    if not isinstance(head, nn.Module):
        fail(_("{what}(config) should build an nn.Module, got {kind}").format(
            what=what, kind=type(head).__name__
        ))
    return head


def expect_hf_layers(head: nn.Module, model: nn.Module, layers: dict[str, type], what: str) -> None:
    """The head declares exactly these sub-modules' parameters, under Hugging Face's names and
    shapes (so ``model``'s weights load into it), and nothing else with parameters."""
    for name, kind in layers.items():
        module = getattr(head, name, None)
        if not isinstance(module, kind):
            got = "nothing" if module is None else type(module).__name__
            fail(
                _("{what} should declare self.{name} = nn.{layer}(...) (Hugging Face's "
                  "name, so pre-trained weights load), found {got}").format(
                    what=what, name=name, layer=kind.__name__, got=got
                ),
                inputs=describe_config(model.config),
            )
    want = {k: v.shape for k, v in model.state_dict().items() if k.split(".")[0] in layers}
    have = {k: v.shape for k, v in head.state_dict().items()}
    missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    if missing or extra:
        parts = ([_("missing {keys}").format(keys=missing)] if missing else []) + (
            [_("unexpected {keys} (a head has no encoder or pooler of its own)").format(
                keys=extra)] if extra else []
        )  # fmt: skip
        fail(
            _("{what}'s parameters should be exactly {want}: {problems}").format(
                what=what, want=sorted(want), problems=_("; ").join(parts)
            ),
            inputs=describe_config(model.config),
        )
    for key, shape in want.items():
        if have[key] != shape:
            fail(
                _("{what}.{key} has shape {have}, expected {shape} "
                  "(nn.Linear(in_features=hidden_size, out_features=...) stores weight as "
                  "(out, in))").format(
                    what=what, key=key, have=tuple(have[key]), shape=tuple(shape)
                ),
                inputs=describe_config(model.config),
            )


def load_head_from(head: nn.Module, model: nn.Module, layers: tuple[str, ...]) -> nn.Module:
    """Copy ``model``'s head weights (HF names) into the learner's head, strictly."""
    state = {k: v for k, v in model.state_dict().items() if k.split(".")[0] in layers}
    head.load_state_dict(state, strict=True)
    return head


def expected_dropout(config: BertConfig) -> float:
    p = config.classifier_dropout
    return config.hidden_dropout_prob if p is None else p


def check_dropout_rule(head_cls: type, what: str) -> None:
    """self.dropout follows HF: classifier_dropout when it is set (0.0 included), else
    hidden_dropout_prob."""
    for classifier_dropout, hidden in ((None, 0.1), (0.3, 0.1), (0.0, 0.2)):
        config = small_config(
            num_labels=3, classifier_dropout=classifier_dropout, hidden_dropout_prob=hidden
        )
        head = construct(head_cls, config, what)
        dropout = getattr(head, "dropout", None)
        inputs = f"classifier_dropout={classifier_dropout}, hidden_dropout_prob={hidden}"
        if not isinstance(dropout, nn.Dropout):
            fail(_("{what} should declare self.dropout = nn.Dropout(p)").format(what=what),
                 inputs=inputs)  # fmt: skip
        want = expected_dropout(config)
        if dropout.p != want:
            message = (
                _("self.dropout.p is {p}, expected {want}: classifier_dropout when it is set, "
                  "else hidden_dropout_prob (0.0 is a setting, not 'unset': test `is not None`, "
                  "not truthiness)") if classifier_dropout == 0.0
                else _("self.dropout.p is {p}, expected {want}: classifier_dropout when it is "
                       "set, else hidden_dropout_prob")
            )  # fmt: skip
            fail(message.format(p=dropout.p, want=want), inputs=inputs)


def describe_config(config: BertConfig) -> str:
    dropout = (
        f"classifier_dropout={config.classifier_dropout}"
        if config.classifier_dropout is not None
        else f"hidden_dropout_prob={config.hidden_dropout_prob}"
    )
    return f"hidden={config.hidden_size}, num_labels={config.num_labels}, {dropout}"


# ---------------------------------------------------------------------------------------------
# The reference's own loss code on chosen logits
# ---------------------------------------------------------------------------------------------


class _Returns(nn.Module):
    """Stands in for the encoder: returns fixed outputs whatever it is called with."""

    def __init__(self, outputs: tuple):
        super().__init__()
        self.outputs = outputs

    def forward(self, *args, **kwargs) -> tuple:
        return self.outputs


_TINY = dict(
    vocab_size=8,
    hidden_size=4,
    num_hidden_layers=1,
    num_attention_heads=1,
    intermediate_size=4,
    max_position_embeddings=8,
)


@cache
def _pass_through(model_cls: type, num_labels: int, problem_type: str | None) -> nn.Module:
    """A reference fine-tuning model whose head layers are identities; the caller sets
    ``.bert`` to return the logits, so ``forward`` goes straight to the model's loss code."""
    model = model_cls(BertConfig(**_TINY, num_labels=num_labels, problem_type=problem_type))
    for name in ("dropout", "classifier", "qa_outputs"):
        if hasattr(model, name):
            setattr(model, name, nn.Identity())
    return model


def reference_sequence_loss(
    logits: Tensor, labels: Tensor, num_labels: int, problem_type: str | None
) -> Tensor:
    """``reference.BertForSequenceClassification``'s loss on these logits."""
    model = _pass_through(BertForSequenceClassification, num_labels, problem_type)
    model.bert = _Returns((None, logits))
    dummy = torch.zeros(logits.shape[0], 1, dtype=torch.long)
    return model(dummy, labels=labels).loss


def reference_token_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """``reference.BertForTokenClassification``'s loss on these logits."""
    model = _pass_through(BertForTokenClassification, logits.shape[-1], None)
    model.bert = _Returns((logits, None))
    return model(torch.zeros(logits.shape[:2], dtype=torch.long), labels=labels).loss


def reference_qa_loss(
    start_logits: Tensor, end_logits: Tensor, start_positions: Tensor, end_positions: Tensor
) -> Tensor:
    """``reference.BertForQuestionAnswering``'s loss on these logits."""
    model = _pass_through(BertForQuestionAnswering, 2, None)
    model.bert = _Returns((torch.stack([start_logits, end_logits], dim=-1), None))
    dummy = torch.zeros(start_logits.shape, dtype=torch.long)
    return model(dummy, start_positions=start_positions, end_positions=end_positions).loss


def closest(got, candidates: list[Tensor]) -> Tensor:
    """The candidate nearest to the learner's output: one mistake written several ways (a
    mean with or without padding, say) is one diagnosis."""
    if not isinstance(got, Tensor):
        return candidates[0]
    got = got.detach().double()

    def distance(candidate: Tensor) -> float:
        if candidate.shape != got.shape:
            return float("inf")
        return float((candidate.detach().double() - got).abs().max())

    return min(candidates, key=distance)


def expect_loss_tensor(loss, *, inputs: str) -> Tensor:
    """A loss is a 0-dim float tensor (the mean), still attached to the graph."""
    if not isinstance(loss, Tensor):
        kind = type(loss).__name__
        if loss is None:
            message = _("the loss should be a torch.Tensor, got {kind} (did you forget to return "
                        "it?)")  # fmt: skip
        elif isinstance(loss, float):
            message = _("the loss should be a torch.Tensor, got {kind} (keep it a tensor: .item() "
                        "cuts it off from the gradients)")  # fmt: skip
        else:
            message = _("the loss should be a torch.Tensor, got {kind}")
        fail(message.format(kind=kind), inputs=inputs)
    if loss.dim() != 0:
        fail(
            _("the loss should be one number (a 0-dim tensor: the mean), got shape "
              "{shape}").format(shape=tuple(loss.shape)),
            inputs=inputs,
        )
    if not loss.dtype.is_floating_point:
        fail(_("the loss should be a float tensor, got {dtype}").format(dtype=loss.dtype),
             inputs=inputs)  # fmt: skip
    return loss


# ---------------------------------------------------------------------------------------------
# Large logits: a loss written by hand from probabilities overflows or underflows
# ---------------------------------------------------------------------------------------------

LARGE = 60.0  # logits ~ N(0, 60²): exp(x) overflows float32 past 88, softmax underflows past ~104


def large_logits(shape: tuple[int, ...], seed: int) -> Tensor:
    """Logits of a confident model, in the hundreds; the checks pair them with wrong labels."""
    return torch.randn(shape, generator=make_generator(seed)) * LARGE


def unstable_cross_entropies(logits: Tensor, labels: Tensor, ignore_index: int) -> list[Tensor]:
    """Cross-entropy of (N, C) logits and (N,) labels written by hand, unstably: the log of
    softmax, and log(sum(exp(x))) without subtracting the max. Mean over labels kept."""
    keep = labels != ignore_index
    index = labels.clamp(0, logits.shape[-1] - 1)[:, None]
    per_token = (
        -torch.log(torch.softmax(logits, -1)).gather(-1, index).squeeze(-1),
        logits.exp().sum(-1).log() - logits.gather(-1, index).squeeze(-1),
    )
    return [torch.where(keep, loss, 0.0).sum() / keep.sum() for loss in per_token]


def expect_stable_loss(got, want: Tensor, *, inputs: str, mistakes: dict) -> None:
    """The loss on large logits: finite where the reference is, and equal to it."""
    got = expect_loss_tensor(got, inputs=inputs)
    diagnosis = next(iter(mistakes), None)
    if bool(torch.isfinite(want)) and not bool(torch.isfinite(got.detach())):
        fail(
            _("the loss is {got} on large logits where the reference gives {want:.6g}: exp() of "
              "a large logit overflows, and softmax or sigmoid round to exactly 0 or 1 before "
              "the log. Pass the raw logits to F.cross_entropy or "
              "F.binary_cross_entropy_with_logits (the log-sum-exp trick)").format(
                got=float(got), want=float(want)
            ),
            inputs=inputs,
            diagnosis=diagnosis,
        )
    expect_close(got, want, name="loss", inputs=inputs, atol=1e-5, rtol=1e-4, mistakes=mistakes)
