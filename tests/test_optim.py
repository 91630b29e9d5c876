"""reference.optim equals transformers: Trainer's decay groups and the linear warmup schedule.

transformers sources checked against: ``trainer.py`` (``Trainer.get_decay_parameter_names``,
``Trainer.create_optimizer``), ``trainer_pt_utils.py`` (``get_parameter_names``),
``optimization.py`` (``get_linear_schedule_with_warmup``).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from transformers import (
    BertConfig,
    BertForPreTraining,
    BertForSequenceClassification,
    Trainer,
    get_linear_schedule_with_warmup,
)

from reference.optim import (
    decay_parameter_names,
    linear_schedule_with_warmup,
    linear_warmup_decay_factor,
    param_groups,
)

SMALL = {
    "vocab_size": 99,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 37,
    "max_position_embeddings": 64,
}


def hf_decay_names(model: nn.Module) -> list[str]:
    # The method never touches `self`.
    return Trainer.get_decay_parameter_names(None, model)


def hf_param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Run transformers' own ``Trainer.create_optimizer`` and return its param groups.

    A real ``Trainer`` needs ``accelerate`` (not installed here), and the method only reads
    the attributes set below, so it runs on a bare instance.
    """
    trainer = Trainer.__new__(Trainer)
    trainer.model = model
    trainer.optimizer = None
    trainer.args = SimpleNamespace(weight_decay=weight_decay)
    trainer.optimizer_cls_and_kwargs = (torch.optim.AdamW, {"lr": 1e-3})
    return Trainer.create_optimizer(trainer).param_groups


def assert_same_groups(ours: list[dict], theirs: list[dict]) -> None:
    assert len(ours) == len(theirs) == 2
    for mine, hf in zip(ours, theirs, strict=True):
        assert [id(p) for p in mine["params"]] == [id(p) for p in hf["params"]]
        assert mine["weight_decay"] == hf["weight_decay"]


def bert_models() -> list[nn.Module]:
    torch.manual_seed(0)
    return [
        BertForPreTraining(BertConfig(**SMALL)),
        BertForSequenceClassification(BertConfig(**SMALL, num_labels=3)),
    ]


# ---------------------------------------------------------------------------------------------
# Decay groups
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", bert_models(), ids=lambda m: type(m).__name__)
def test_decay_names_equal_trainer(model: nn.Module) -> None:
    ours = decay_parameter_names(model)
    assert ours == hf_decay_names(model)
    # And they are what BERT's recipe says: all weights except LayerNorm's, no biases.
    for name, _ in model.named_parameters():
        expected = not (name.endswith("bias") or ".LayerNorm." in name)
        assert (name in ours) == expected, name


@pytest.mark.parametrize("model", bert_models(), ids=lambda m: type(m).__name__)
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_param_groups_equal_trainer(model: nn.Module, weight_decay: float) -> None:
    ours = param_groups(model, weight_decay)
    assert_same_groups(ours, hf_param_groups(model, weight_decay))
    # Every trainable parameter exactly once.
    everything = [id(p) for group in ours for p in group["params"]]
    assert sorted(everything) == sorted(id(p) for p in model.parameters())


def test_tied_decoder_weight() -> None:
    """The MLM decoder shares the word-embedding matrix: listed twice by name, grouped once."""
    model = bert_models()[0]
    assert model.cls.predictions.decoder.weight is model.bert.embeddings.word_embeddings.weight
    names = decay_parameter_names(model)
    assert "cls.predictions.decoder.weight" in names
    assert "bert.embeddings.word_embeddings.weight" in names
    decayed = param_groups(model, 0.01)[0]["params"]
    assert sum(p is model.bert.embeddings.word_embeddings.weight for p in decayed) == 1
    # The output-only MLM bias is a bias: no decay.
    assert "cls.predictions.bias" not in names


def test_frozen_parameters_left_out() -> None:
    model = bert_models()[1]
    for p in model.bert.embeddings.parameters():
        p.requires_grad_(False)
    ours = param_groups(model, 0.01)
    assert_same_groups(ours, hf_param_groups(model, 0.01))
    frozen = {id(p) for p in model.bert.embeddings.parameters()}
    assert not frozen & {id(p) for group in ours for p in group["params"]}


def test_negative_weight_decay_rejected() -> None:
    with pytest.raises(ValueError, match="weight_decay"):
        param_groups(bert_models()[1], -0.1)


# Random module trees with names chosen to hit every pattern's edge: `norm` alone,
# `_norm`, `Norm` inside a word, `rmsnorm`, `bias` inside a word, LayerNorm under an odd name.
NAME_PARTS = ["norm", "Norm", "_norm", "layer", "LayerNorm", "rms", "bias", "ln", "x", "enorm"]
names_st = st.lists(st.sampled_from(NAME_PARTS), min_size=1, max_size=3).map("".join)


@st.composite
def module_trees(draw: st.DrawFn, depth: int = 0) -> nn.Module:
    module = nn.Module()
    for name in draw(st.lists(names_st, max_size=3, unique=True)):
        kind = draw(st.sampled_from(["param", "linear", "layernorm", "rmsnorm", "tree"]))
        if kind == "param":
            module.register_parameter(name, nn.Parameter(torch.zeros(2)))
        elif kind == "linear":
            module.add_module(name, nn.Linear(2, 2))
        elif kind == "layernorm":
            module.add_module(name, nn.LayerNorm(2))
        elif kind == "rmsnorm":
            module.add_module(name, nn.RMSNorm(2))  # not a LayerNorm: decayed unless by name
        elif depth < 2:
            module.add_module(name, draw(module_trees(depth + 1)))
    return module


@given(module_trees())
def test_decay_names_equal_trainer_on_random_trees(model: nn.Module) -> None:
    assert decay_parameter_names(model) == hf_decay_names(model)
    if any(True for _ in model.parameters()):
        assert_same_groups(param_groups(model, 0.1), hf_param_groups(model, 0.1))


# ---------------------------------------------------------------------------------------------
# Schedule
# ---------------------------------------------------------------------------------------------


def hf_factor(step: int, warmup: int, total: int) -> float:
    scheduler = get_linear_schedule_with_warmup(
        torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0), warmup, total
    )
    return scheduler.lr_lambdas[0](step)


@given(
    st.integers(0, 300).flatmap(
        lambda total: st.tuples(
            st.integers(0, total), st.just(total), st.integers(0, 2 * total + 5)
        )
    )
)
def test_factor_equals_transformers(args: tuple[int, int, int]) -> None:
    warmup, total, step = args
    ours = linear_warmup_decay_factor(step, warmup, total)
    assert ours == hf_factor(step, warmup, total)  # bit-for-bit
    assert 0.0 <= ours <= 1.0


def test_factor_shape() -> None:
    # Warmup 4, total 10: 0, .25, .5, .75, 1 at step 4, then down by 1/6 to 0 at step 10.
    got = [linear_warmup_decay_factor(s, 4, 10) for s in range(13)]
    want = [0, 0.25, 0.5, 0.75, 1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0.0, 0.0, 0.0]
    assert got == pytest.approx(want, abs=1e-15)
    # No warmup: starts at full lr.
    assert linear_warmup_decay_factor(0, 0, 10) == 1.0
    # Warmup == total: rises all the way, then 0 at the end (not 1).
    assert linear_warmup_decay_factor(9, 10, 10) == 0.9
    assert linear_warmup_decay_factor(10, 10, 10) == 0.0
    # Degenerate but legal: nothing to train.
    assert linear_warmup_decay_factor(0, 0, 0) == 0.0


@pytest.mark.parametrize(
    ("step", "warmup", "total", "match"),
    [
        (0, -1, 10, "num_warmup_steps"),
        (0, 0, -1, "num_training_steps"),
        (0, 11, 10, "must not exceed"),
        (-1, 2, 10, "step"),
    ],
)
def test_factor_rejects_bad_arguments(step: int, warmup: int, total: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        linear_warmup_decay_factor(step, warmup, total)
    if step >= 0:
        with pytest.raises(ValueError, match=match):
            linear_schedule_with_warmup(
                torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0), warmup, total
            )


def test_transformers_accepts_what_we_reject() -> None:
    """Documented difference: transformers silently runs warmup > total (and never decays)."""
    assert hf_factor(7, 10, 5) == 0.7
    assert hf_factor(10, 10, 5) == 0.0


def two_group_optimizer(kind: str) -> tuple[torch.optim.Optimizer, list[nn.Parameter]]:
    params = [nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(2))]
    groups = [
        {"params": [params[0]], "lr": 1e-3, "weight_decay": 0.01},
        {"params": [params[1]], "lr": 5e-4, "weight_decay": 0.0},
    ]
    if kind == "adamw":
        return torch.optim.AdamW(groups), params
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9), params


WT_CASES = [(0, 0), (0, 1), (0, 7), (1, 1), (3, 3), (10, 10), (1, 10), (4, 10), (9, 10), (25, 100)]


@pytest.mark.parametrize("kind", ["adamw", "sgd"])
@pytest.mark.parametrize(("warmup", "total"), WT_CASES)
def test_schedule_equals_transformers_step_by_step(kind: str, warmup: int, total: int) -> None:
    """Two identical training runs, one per scheduler: equal lr and weights after every step."""
    opt_ours, params_ours = two_group_optimizer(kind)
    opt_hf, params_hf = two_group_optimizer(kind)
    ours = linear_schedule_with_warmup(opt_ours, warmup, total)
    hf = get_linear_schedule_with_warmup(opt_hf, warmup, total)
    initial = [1e-3, 5e-4]

    def lrs(opt: torch.optim.Optimizer) -> list[float]:
        return [group["lr"] for group in opt.param_groups]

    assert lrs(opt_ours) == lrs(opt_hf)
    for step in range(total + 5):  # run past the end: lr stays 0
        expected = [lr * linear_warmup_decay_factor(step, warmup, total) for lr in initial]
        assert lrs(opt_ours) == pytest.approx(expected, rel=1e-12, abs=0)
        assert ours.get_last_lr() == hf.get_last_lr()
        for opt, params in ((opt_ours, params_ours), (opt_hf, params_hf)):
            loss = sum((p**2).sum() for p in params)
            opt.zero_grad()
            loss.backward()
            opt.step()
        ours.step()
        hf.step()
        assert lrs(opt_ours) == lrs(opt_hf)
        for a, b in zip(params_ours, params_hf, strict=True):
            assert torch.equal(a, b)
    assert lrs(opt_ours) == [0.0, 0.0]


def test_schedule_peak_and_resume() -> None:
    opt, _ = two_group_optimizer("sgd")
    scheduler = linear_schedule_with_warmup(opt, 4, 10)
    assert opt.param_groups[0]["lr"] == 0.0  # warmup starts from 0
    for _ in range(4):
        opt.step()
        scheduler.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-3)  # the peak, at step W

    # Resuming after 6 steps (torch's last_epoch = 6 - 1): same lr as the uninterrupted run.
    for _ in range(2):
        opt.step()
        scheduler.step()
    resumed_opt, _ = two_group_optimizer("sgd")
    for group in resumed_opt.param_groups:
        group["initial_lr"] = group["lr"]
    resumed = linear_schedule_with_warmup(resumed_opt, 4, 10, last_epoch=5)
    hf_opt, _ = two_group_optimizer("sgd")
    for group in hf_opt.param_groups:
        group["initial_lr"] = group["lr"]
    hf = get_linear_schedule_with_warmup(hf_opt, 4, 10, last_epoch=5)
    assert resumed.last_epoch == hf.last_epoch == scheduler.last_epoch == 6
    assert resumed.get_last_lr() == scheduler.get_last_lr()
    for _ in range(5):
        for o in (opt, resumed_opt, hf_opt):
            o.step()
        for s in (scheduler, resumed, hf):
            s.step()
        assert math.isclose(resumed.get_last_lr()[0], scheduler.get_last_lr()[0], rel_tol=1e-12)
        assert resumed.get_last_lr() == hf.get_last_lr()
