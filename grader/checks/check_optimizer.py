"""Checks for exercise optimizer (exercises/e13_optimizer.py).

Groups are compared by parameter *name* (each tensor under its first name in
``model.named_parameters()``) with ``reference.optim.param_groups``, which tests/test_optim.py
proves equal to transformers' ``Trainer.create_optimizer``; the schedule with
``reference.optim.linear_warmup_decay_factor`` / ``linear_schedule_with_warmup``, proven
bit-for-bit equal to ``get_linear_schedule_with_warmup``.
"""

from __future__ import annotations

import copy
import numbers

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import Tensor, nn
from torch.optim.lr_scheduler import LambdaLR

from grader.checks.head_checks import closest
from grader.checks.kit import CheckFailure, expect_close, fail
from grader.i18n import _
from reference import BertConfig, BertForPreTraining, BertForSequenceClassification
from reference.optim import linear_schedule_with_warmup, linear_warmup_decay_factor
from reference.optim import param_groups as reference_param_groups

MODULE = "e13_optimizer"
# optimizer.step() imports torch._dynamo (a second or two): the grading worker imports it
# once, before forking, instead of every grading run paying for it.
WORKER_IMPORTS = ("torch._dynamo",)

SMALL = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=64,
)


@pytest.fixture(scope="module")
def groups_fn(learner):
    return learner.param_groups


@pytest.fixture(scope="module")
def schedule_fn(learner):
    return learner.linear_warmup_decay


def classifier_model(**overrides) -> nn.Module:
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(**SMALL, num_labels=3, **overrides))


def pretraining_model() -> nn.Module:
    torch.manual_seed(0)
    return BertForPreTraining(BertConfig(**SMALL))


# ---------------------------------------------------------------------------------------------
# Parameter groups
# ---------------------------------------------------------------------------------------------


def names_by_id(model: nn.Module) -> dict[int, str]:
    """id -> name, each tensor under its first name (how named_parameters() lists it)."""
    return {id(p): name for name, p in model.named_parameters()}


def all_names_by_id(model: nn.Module) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(name)
    return names


def listed(names) -> str:
    names = list(names)
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def read_groups(groups, model: nn.Module, weight_decay: float, inputs: str):
    """Validate the structure; return (decayed names, not-decayed names) as lists."""
    if not isinstance(groups, list | tuple):
        fail(_("return a list of two dicts, got {kind}").format(kind=type(groups).__name__),
             inputs=inputs)  # fmt: skip
    first_name = names_by_id(model)
    groups = list(groups)
    for i, group in enumerate(groups):
        if not isinstance(group, dict) or "params" not in group:
            fail(
                _("group {i} should be a dict with a 'params' list and a 'weight_decay', got "
                  "{kind}").format(i=i, kind=type(group).__name__),
                inputs=inputs,
            )
    contents = []
    for i, group in enumerate(groups):
        params = list(group["params"])
        for p in params:
            if not isinstance(p, Tensor):
                what = f"{type(p).__name__} {p!r}" if isinstance(p, str) else type(p).__name__
                fail(
                    _("group {i} holds a {what}: 'params' takes the nn.Parameter objects "
                      "(model.named_parameters() gives (name, parameter) pairs)").format(
                        i=i, what=what
                    ),
                    inputs=inputs,
                )
            if id(p) not in first_name:
                fail(
                    _("group {i} holds a tensor of shape {shape} that is not a "
                      "parameter of the model").format(i=i, shape=tuple(p.shape)),
                    inputs=inputs,
                )
        contents.append([first_name[id(p)] for p in params])
    trainable = {first_name[id(p)] for p in model.parameters() if p.requires_grad}
    if len(groups) != 2:
        diagnosis = None
        if len(groups) == 1 and set(contents[0]) >= trainable:
            diagnosis = "opt_decay_everything"
        fail(
            _("return exactly two groups (decayed, not decayed), got {n_groups}").format(
                n_groups=len(groups)
            ),
            inputs=inputs,
            diagnosis=diagnosis,
        )
    for i, group in enumerate(groups):
        if "weight_decay" not in group:
            fail(
                _("group {i} has no 'weight_decay' key (torch.optim.AdamW would silently use "
                  "its default, 0.01, for it)").format(i=i),
                inputs=inputs,
            )
    seen: dict[str, int] = {}
    for names in contents:
        for name in names:
            seen[name] = seen.get(name, 0) + 1
    twice = [name for name, count in seen.items() if count > 1]
    if twice:
        aliases = all_names_by_id(model)
        by_name = {names[0]: names for names in aliases.values()}
        shown = [" = ".join(by_name.get(n, [n])) for n in twice]
        fail(
            _("these parameters are listed more than once: {names}. A tensor shared "
              "by two modules is one parameter: it must appear once, or the optimizer steps it "
              "twice (torch rejects a parameter in two groups)").format(names=listed(shown)),
            inputs=inputs,
            diagnosis="opt_param_listed_twice",
        )
    decayed, not_decayed = contents
    wd0, wd1 = groups[0]["weight_decay"], groups[1]["weight_decay"]
    if weight_decay > 0 and wd0 == 0 and wd1 == weight_decay:
        fail(
            _("the groups are in the wrong order: the first should be the decayed one "
              "(weight_decay={weight_decay}), the second the rest (0.0)").format(
                weight_decay=weight_decay
            ),
            inputs=inputs,
        )
    if wd0 != weight_decay or wd1 != 0.0:
        fail(
            _("the groups' weight_decay should be {weight_decay} (first) and 0.0 (second), got "
              "{wd0} and {wd1}").format(weight_decay=weight_decay, wd0=wd0, wd1=wd1),
            inputs=inputs,
        )
    frozen = {first_name[id(p)] for p in model.parameters() if not p.requires_grad}
    if frozen & set(decayed + not_decayed):
        fail(
            _("frozen parameters (requires_grad=False) are in the groups: "
              "{names}; leave them out").format(
                names=listed(sorted(frozen & set(decayed + not_decayed)))
            ),
            inputs=inputs,
        )
    missing = [n for n in first_name.values() if n in trainable and n not in seen]
    if missing:
        fail(_("these trainable parameters are in neither group: {names}").format(
            names=listed(missing)), inputs=inputs)  # fmt: skip
    return decayed, not_decayed


def group_diagnosis(wrongly_decayed: set[str], wrongly_spared: set[str], expected_spared: set[str]):
    if wrongly_spared or not wrongly_decayed:
        return None
    if wrongly_decayed == expected_spared:
        return "opt_decay_everything"

    def in_layer_norm(name: str) -> bool:
        return "layernorm" in name.lower()

    if all(name.endswith("bias") and not in_layer_norm(name) for name in wrongly_decayed):
        return "opt_decay_on_biases"
    if all(in_layer_norm(name) and not name.endswith("bias") for name in wrongly_decayed):
        return "opt_decay_on_layernorm"
    return None


def compare_groups(groups_fn, model: nn.Module, weight_decay: float, what: str) -> None:
    inputs = f"{what}, weight_decay={weight_decay}"
    decayed, spared = read_groups(groups_fn(model, weight_decay), model, weight_decay, inputs)
    first_name = names_by_id(model)
    want = reference_param_groups(model, weight_decay)
    want_decayed = {first_name[id(p)] for p in want[0]["params"]}
    want_spared = {first_name[id(p)] for p in want[1]["params"]}
    wrongly_decayed = set(decayed) - want_decayed
    wrongly_spared = set(spared) - want_spared
    if not wrongly_decayed and not wrongly_spared:
        order = [n for n in first_name.values() if n in want_decayed]
        if decayed != order:
            fail(
                _("the decayed group has the right parameters in another order: keep "
                  "model.named_parameters() order"),
                inputs=inputs,
            )
        return
    parts = []
    if wrongly_decayed:
        parts.append(_("decayed but should not be: {names}").format(
            names=listed(sorted(wrongly_decayed))))  # fmt: skip
    if wrongly_spared:
        parts.append(_("not decayed but should be: {names}").format(
            names=listed(sorted(wrongly_spared))))  # fmt: skip
    raise CheckFailure(
        _("the parameters are split differently from transformers' Trainer"),
        inputs=inputs,
        expected=_("{decayed} decayed, {spared} not (biases, norm layers)").format(
            decayed=len(want_decayed), spared=len(want_spared)
        ),
        got="; ".join(parts),
        diagnosis=group_diagnosis(wrongly_decayed, wrongly_spared, want_spared),
    )


def test_returns_two_groups_of_parameters(groups_fn):
    """returns [decayed group, not-decayed group]: dicts of 'params' and 'weight_decay'"""
    model = classifier_model()
    inputs = _("reference BertForSequenceClassification (2 layers), weight_decay=0.01")
    read_groups(groups_fn(model, 0.01), model, 0.01, inputs)


def test_groups_of_a_sequence_classifier(groups_fn):
    """on a BertForSequenceClassification: biases and LayerNorm weights are not decayed"""
    compare_groups(groups_fn, classifier_model(), 0.01, "reference BertForSequenceClassification")


def test_groups_of_a_pretraining_model_with_tied_weights(groups_fn):
    """on a BertForPreTraining, whose MLM decoder shares the word embeddings: each tensor once"""
    compare_groups(
        groups_fn,
        pretraining_model(),
        0.01,
        _("reference BertForPreTraining (decoder weight tied to word embeddings)"),
    )


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_the_weight_decay_value_is_passed_through(groups_fn, weight_decay):
    """the first group carries the weight_decay given (0.0 and 0.1 too), the second 0.0"""
    compare_groups(
        groups_fn, classifier_model(), weight_decay, "reference BertForSequenceClassification"
    )


def test_frozen_parameters_are_left_out(groups_fn):
    """parameters with requires_grad=False (a frozen embedding layer) are in neither group"""
    model = classifier_model()
    for p in model.bert.embeddings.parameters():
        p.requires_grad_(False)
    compare_groups(
        groups_fn,
        model,
        0.01,
        _("reference BertForSequenceClassification with bert.embeddings frozen"),
    )


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.Linear(4, 4)
        self.q_norm = nn.RMSNorm(4)


class _OtherModel(nn.Module):
    """Module names other than BERT's, one for each part of transformers' rule."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([_Block(), _Block()])
        self.ln_f = nn.LayerNorm(4)  # a LayerNorm without "norm" in its name: by type
        self.final_norm = nn.RMSNorm(4)  # "_norm"
        self.norm = nn.RMSNorm(4)  # exactly "norm"
        self.scale = nn.Parameter(torch.ones(4))  # decayed
        self.head = nn.Linear(4, 2, bias=False)


def test_transformers_rule_on_other_module_names(groups_fn):
    """transformers' whole rule: a LayerNorm named ln_f; RMSNorms named norm, final_norm, q_norm"""
    torch.manual_seed(0)
    compare_groups(
        groups_fn,
        _OtherModel(),
        0.01,
        _("a model with blocks.0/1.attn (Linear), blocks.0/1.q_norm (RMSNorm), ln_f "
          "(LayerNorm), final_norm and norm (RMSNorm), scale, head (Linear, no bias)"),
    )


class _LookalikeModel(nn.Module):
    """Names on either side of transformers' rule: what a shortcut ("norm" anywhere in the
    name, a name that ends in "bias", case-sensitive "LayerNorm", every norm type) gets wrong."""

    def __init__(self):
        super().__init__()
        self.relative_attention_bias = nn.Embedding(4, 2)  # "bias" in the name: not decayed
        self.normalizer = nn.Linear(4, 4)  # "norm" inside a word: weight decayed, bias not
        self.LayerNorm = nn.RMSNorm(4)  # not an nn.LayerNorm, but "layernorm" lower-cased
        self.ln_2 = nn.RMSNorm(4)  # a norm type other than nn.LayerNorm, no rule name: decayed


def test_names_close_to_the_rule(groups_fn):
    """names near the rule: "bias", "LayerNorm" inside a name spare it; normalizer, ln_2 decay"""
    torch.manual_seed(0)
    compare_groups(
        groups_fn,
        _LookalikeModel(),
        0.01,
        _("a model with relative_attention_bias (Embedding), normalizer (Linear), LayerNorm "
          "(an RMSNorm, not an nn.LayerNorm) and ln_2 (RMSNorm)"),
    )


# ---------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------


def reference_factor(step: int, warmup: int, total: int) -> float:
    return linear_warmup_decay_factor(step, warmup, total)


def as_number(value, step: int, warmup: int, total: int) -> float:
    inputs = f"step={step}, num_warmup_steps={warmup}, num_training_steps={total}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        kind = type(value).__name__
        message = (
            _("return a Python float, got {kind} (use float(...) or plain arithmetic)")
            if isinstance(value, Tensor)
            else _("return a Python float, got {kind}")
        )
        fail(message.format(kind=kind), inputs=inputs)
    return float(value)


def call_schedule(schedule_fn, step: int, warmup: int, total: int) -> float:
    try:
        value = schedule_fn(step, warmup, total)
    except ZeroDivisionError:
        why = (
            _("num_warmup_steps is 0: test `step < num_warmup_steps` before dividing by it")
            if warmup == 0
            else _("num_training_steps - num_warmup_steps is 0: return 0.0 once step >= "
                   "num_training_steps, before dividing")
        )
        fail(
            f"ZeroDivisionError: {why}",
            inputs=f"step={step}, num_warmup_steps={warmup}, num_training_steps={total}",
        )
    return as_number(value, step, warmup, total)


def schedule_mistakes(warmup: int, total: int, steps: list[int], got: Tensor) -> dict:
    def trajectory(f) -> Tensor:
        return torch.tensor([float(f(s)) for s in steps], dtype=torch.float64)

    def ref(s: int, w: int = warmup, t: int = total) -> float:
        return reference_factor(max(s, 0), w, t) if s >= 0 else 0.0

    def variants(*fs):
        return lambda: closest(got, [trajectory(f) for f in fs])

    no_warmup = [
        lambda s: max(0.0, (total - s) / total) if total else 0.0,
        lambda s: 1.0 if s < warmup else ref(s),
    ]
    if total > warmup:
        no_warmup.append(lambda s: max(0.0, (total - s) / (total - warmup)))
    off_by_one = [lambda s: ref(s + 1), lambda s: ref(s - 1), lambda s: ref(s, warmup, total + 1)]
    if warmup + 1 <= total:
        off_by_one.append(lambda s: ref(s, warmup + 1, total))
    if warmup >= 1:
        off_by_one.append(lambda s: ref(s, warmup - 1, total))
    if total - 1 >= warmup:
        off_by_one.append(lambda s: ref(s, warmup, total - 1))
    return {
        "sched_no_warmup": variants(*no_warmup),
        "sched_never_decays": variants(lambda s: min(1.0, s / warmup) if warmup else 1.0),
        "sched_off_by_one": variants(*off_by_one),
    }


def compare_schedule(schedule_fn, warmup: int, total: int, extra: int = 3) -> None:
    steps = list(range(total + extra + 1))
    got = torch.tensor(
        [call_schedule(schedule_fn, s, warmup, total) for s in steps], dtype=torch.float64
    )
    want = torch.tensor([reference_factor(s, warmup, total) for s in steps], dtype=torch.float64)
    inputs = (
        _("num_warmup_steps={warmup}, num_training_steps={total}; the multiplier at steps 0 to "
          "{last} (the index is the step)").format(warmup=warmup, total=total, last=steps[-1])
    )
    if bool((got < 0).any()):
        step = int((got < 0).nonzero()[0])
        fail(
            _("the multiplier is negative ({got:.4g}) at step {step}: floor it at "
              "0 after num_training_steps").format(got=float(got[step]), step=step),
            inputs=inputs,
        )
    expect_close(
        got,
        want,
        name="multiplier",
        inputs=inputs,
        atol=1e-9,
        rtol=0,
        mistakes=schedule_mistakes(warmup, total, steps, got),
    )


def test_schedule_on_a_small_case(schedule_fn):
    """warmup 4, total 10: 0, .25, .5, .75, 1 at step 4, then down to 0 at step 10, and 0 after"""
    compare_schedule(schedule_fn, 4, 10)


@given(
    st.integers(1, 300).flatmap(lambda total: st.tuples(st.integers(0, total - 1), st.just(total)))
)
def test_schedule_matches_the_reference(schedule_fn, warmup_total):
    """equals get_linear_schedule_with_warmup's multiplier for drawn warmup and total steps"""
    compare_schedule(schedule_fn, *warmup_total)


@pytest.mark.parametrize("total", [1, 7, 100])
def test_schedule_without_warmup(schedule_fn, total):
    """num_warmup_steps=0: full rate at step 0, then linear decay to 0"""
    compare_schedule(schedule_fn, 0, total)


@pytest.mark.parametrize(("warmup", "total"), [(1, 1), (5, 5), (0, 0)])
def test_schedule_when_warmup_takes_every_step(schedule_fn, warmup, total):
    """num_warmup_steps == num_training_steps: rises to the end, then 0 (no division by zero)"""
    compare_schedule(schedule_fn, warmup, total)


def two_group_adamw() -> torch.optim.Optimizer:
    params = [nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(2))]
    return torch.optim.AdamW(
        [
            {"params": [params[0]], "lr": 1e-3, "weight_decay": 0.01},
            {"params": [params[1]], "lr": 5e-4, "weight_decay": 0.0},
        ]
    )


def adamw_step(optimizer: torch.optim.Optimizer) -> None:
    params = [p for group in optimizer.param_groups for p in group["params"]]
    optimizer.zero_grad()
    sum((p**2).sum() for p in params).backward()
    optimizer.step()


@pytest.mark.parametrize(("warmup", "total"), [(3, 10), (0, 6), (4, 4), (2, 5)])
def test_lambda_lr_drives_adamw_like_the_reference(schedule_fn, warmup, total):
    """LambdaLR(AdamW, your multiplier): the same lr as the reference scheduler at every step"""
    mine, theirs = two_group_adamw(), two_group_adamw()
    inputs = (
        _("AdamW with two groups (lr 1e-3 and 5e-4), num_warmup_steps={warmup}, "
          "num_training_steps={total}; lr of group 0 after each scheduler.step() (index = "
          "step)").format(warmup=warmup, total=total)
    )

    def factor(step: int) -> float:
        return call_schedule(schedule_fn, step, warmup, total)

    scheduler = LambdaLR(mine, factor)
    reference = linear_schedule_with_warmup(theirs, warmup, total)
    got, want = [], []
    for _unused in range(total + 4):
        got.append([g["lr"] for g in mine.param_groups])
        want.append([g["lr"] for g in theirs.param_groups])
        for optimizer in (mine, theirs):
            adamw_step(optimizer)
        scheduler.step()
        reference.step()
    got_t, want_t = torch.tensor(got, dtype=torch.float64), torch.tensor(want, dtype=torch.float64)
    steps = list(range(len(got)))
    expect_close(
        got_t[:, 0] / 1e-3,
        want_t[:, 0] / 1e-3,
        name="lr / initial lr",
        inputs=inputs,
        atol=1e-9,
        rtol=0,
        mistakes=schedule_mistakes(warmup, total, steps, got_t[:, 0] / 1e-3),
    )
    expect_close(got_t, want_t, name="lr of both groups", inputs=inputs, atol=1e-12, rtol=1e-9)


def test_a_few_training_steps_equal_the_reference_setup(groups_fn, schedule_fn):
    """AdamW(your groups) + LambdaLR(your multiplier) train a small BERT exactly as the reference"""
    model = classifier_model(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    twin = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1, 99, (4, 6), generator=generator)
    labels = torch.randint(0, 3, (4,), generator=generator)
    warmup, total = 2, 5
    mine = torch.optim.AdamW(groups_fn(model, 0.01), lr=1e-2)
    scheduler = LambdaLR(mine, lambda s: call_schedule(schedule_fn, s, warmup, total))
    theirs = torch.optim.AdamW(reference_param_groups(twin, 0.01), lr=1e-2)
    reference = linear_schedule_with_warmup(theirs, warmup, total)
    inputs = (
        _("reference BertForSequenceClassification, AdamW lr=1e-2, weight_decay=0.01, "
          "num_warmup_steps={warmup}, num_training_steps={total}, one fixed batch").format(
            warmup=warmup, total=total
        )
    )
    for step in range(total + 2):
        for net, optimizer, sched in ((model, mine, scheduler), (twin, theirs, reference)):
            optimizer.zero_grad()
            F.cross_entropy(net(input_ids).logits, labels).backward()
            optimizer.step()
            sched.step()
        for (name, a), b in zip(model.named_parameters(), twin.parameters(), strict=True):
            if not torch.allclose(a, b, atol=1e-6, rtol=1e-5):
                fail(
                    _("after optimizer step {step}, {name} differs from the reference run "
                      "(largest difference {diff:.3g})").format(
                        step=step + 1, name=name, diff=float((a - b).abs().max())
                    ),
                    inputs=inputs,
                )
