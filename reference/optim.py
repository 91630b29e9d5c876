"""BERT's optimizer setup: which weights decay, and the warmup-then-linear-decay schedule.

The paper (Devlin et al. 2018, arXiv:1810.04805, App. A.2) pre-trains with Adam, lr 1e-4,
beta1 0.9, beta2 0.999, L2 weight decay 0.01, learning-rate warmup over the first 10,000
steps and linear decay of the learning rate afterwards. Two details come from the code:

* **No decay for biases and LayerNorm parameters.** google-research/bert
  ``optimization.py`` ``create_optimizer`` builds ``AdamWeightDecayOptimizer`` with
  ``exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]``. transformers
  ``trainer.py`` ``Trainer.get_decay_parameter_names`` (with ``trainer_pt_utils.py``
  ``get_parameter_names``) does the same by module type and by name; :func:`param_groups`
  builds the two groups of ``Trainer.create_optimizer``.
* **The schedule.** Google: ``polynomial_decay(..., power=1.0)`` to 0 over all steps, and
  during warmup ``lr * step / num_warmup_steps``. transformers ``optimization.py``
  ``get_linear_schedule_with_warmup``: the learning-rate multiplier is ``step / W`` for
  ``step < W``, then ``(T - step) / (T - W)``, floored at 0. :func:`linear_schedule_with_warmup`
  equals the transformers version. (The two differ slightly after warmup: Google decays from
  step 0, so its lr just after warmup is ``lr * (1 - W / T)``, not ``lr``.)

Why warmup matters for BERT in particular: with post-LN residual blocks the gradients near
the output are large at initialisation, and a full learning rate early on can diverge
(Xiong et al. 2020, arXiv:2002.04745).
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

__all__ = [
    "NO_DECAY_NAME_PATTERNS",
    "decay_parameter_names",
    "linear_schedule_with_warmup",
    "linear_warmup_decay_factor",
    "param_groups",
]

#: Parameter-name patterns that never get weight decay, searched in the lower-cased dotted
#: name; copied from transformers ``Trainer.get_decay_parameter_names``.
NO_DECAY_NAME_PATTERNS: tuple[str, ...] = (
    r"bias",  # every bias, including the MLM head's output-only `cls.predictions.bias`
    r"layernorm",  # BERT's `LayerNorm` modules (names are lower-cased first)
    r"rmsnorm",
    r"(?:^|\.)norm(?:$|\.)",  # a module or parameter called exactly `norm`
    r"_norm(?:$|\.)",  # `final_norm`, `q_norm`, ...
)
_NO_DECAY_RE = [re.compile(pattern) for pattern in NO_DECAY_NAME_PATTERNS]

#: Module types whose parameters never get weight decay (transformers: ``[nn.LayerNorm]``).
NO_DECAY_MODULE_TYPES: tuple[type[nn.Module], ...] = (nn.LayerNorm,)


def decay_parameter_names(model: nn.Module) -> list[str]:
    """Names of the parameters that get weight decay, in transformers' order.

    A parameter is excluded when it lives inside an ``nn.LayerNorm`` (at any depth below
    ``model``) or its lower-cased dotted name matches one of :data:`NO_DECAY_NAME_PATTERNS`.

    Like transformers' ``get_parameter_names`` this walks the module tree itself rather than
    calling ``model.named_parameters()``: each module's children come first, then the
    module's own parameters; and a parameter shared by two modules (BERT's MLM decoder weight,
    tied to the word embeddings) is listed under both names. Only
    ``model.named_parameters()`` decides what goes into the optimizer (see
    :func:`param_groups`), so the extra name is harmless. One difference: transformers also
    lists the names of unset parameter slots (a ``Linear(bias=False)``'s ``bias`` is
    ``None``), which are not parameters; they never reach the optimizer either.
    """
    names: list[str] = []
    for child_name, child in model.named_children():
        if isinstance(child, NO_DECAY_MODULE_TYPES):
            continue
        names.extend(f"{child_name}.{name}" for name in decay_parameter_names(child))
    names.extend(name for name, _ in model.named_parameters(recurse=False, remove_duplicate=False))
    # transformers tests the patterns at every level of the recursion, on the partial dotted
    # name; testing the full name is equivalent, since each partial name is a suffix of it
    # that starts at a dot.
    return [name for name in names if not any(p.search(name.lower()) for p in _NO_DECAY_RE)]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """The two optimizer parameter groups of transformers' ``Trainer.create_optimizer``.

    Returns ``[{"params": decayed, "weight_decay": weight_decay},
    {"params": not_decayed, "weight_decay": 0.0}]``; pass it to e.g. ``torch.optim.AdamW``.
    Parameters come in ``model.named_parameters()`` order (so a tied weight appears once,
    under its first name) and frozen parameters (``requires_grad=False``) are left out.
    Both groups are always present, even if one is empty, as in transformers.
    """
    weight_decay = float(weight_decay)
    if not weight_decay >= 0.0:  # also rejects NaN
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    decay = set(decay_parameter_names(model))
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    return [
        {"params": [p for name, p in trainable if name in decay], "weight_decay": weight_decay},
        {"params": [p for name, p in trainable if name not in decay], "weight_decay": 0.0},
    ]


def _check_steps(num_warmup_steps: int, num_training_steps: int) -> None:
    if num_warmup_steps < 0:
        raise ValueError(f"num_warmup_steps must be >= 0, got {num_warmup_steps}")
    if num_training_steps < 0:
        raise ValueError(f"num_training_steps must be >= 0, got {num_training_steps}")
    if num_warmup_steps > num_training_steps:
        raise ValueError(
            f"num_warmup_steps ({num_warmup_steps}) must not exceed num_training_steps "
            f"({num_training_steps})"
        )


def linear_warmup_decay_factor(step: int, num_warmup_steps: int, num_training_steps: int) -> float:
    """The learning-rate multiplier after ``step`` optimizer steps.

    Rises linearly from 0 at step 0 to 1 at ``step == num_warmup_steps``, then falls linearly
    to 0 at ``step == num_training_steps`` and stays 0 after that. With no warmup it starts
    at 1; with ``num_warmup_steps == num_training_steps`` it rises to the end and then drops
    to 0. Values are bit-for-bit those of transformers'
    ``_get_linear_schedule_with_warmup_lr_lambda``.

    transformers accepts anything (it clamps denominators with ``max(1, .)``); here negative
    numbers and a warmup longer than training are errors, since they are always mistakes.
    """
    _check_steps(num_warmup_steps, num_training_steps)
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    if step < num_warmup_steps:
        return step / num_warmup_steps
    if step >= num_training_steps:
        return 0.0
    return (num_training_steps - step) / (num_training_steps - num_warmup_steps)


def linear_schedule_with_warmup(
    optimizer: torch.optim.Optimizer,
    num_warmup_steps: int,
    num_training_steps: int,
    last_epoch: int = -1,
) -> LambdaLR:
    """A ``LambdaLR`` that scales each group's initial lr by :func:`linear_warmup_decay_factor`.

    Call ``scheduler.step()`` once after every ``optimizer.step()``. Right after construction
    the lr is already multiplied by the factor at step 0 (0 unless there is no warmup).

    ``last_epoch`` goes to ``LambdaLR`` unchanged, with torch's meaning: construction itself
    takes one step, so to resume after ``n`` steps pass ``n - 1``, and the optimizer's groups
    must hold ``"initial_lr"``. Saving and loading ``scheduler.state_dict()`` is simpler.
    """
    _check_steps(num_warmup_steps, num_training_steps)

    def factor(step: int) -> float:
        return linear_warmup_decay_factor(step, num_warmup_steps, num_training_steps)

    return LambdaLR(optimizer, factor, last_epoch)
