"""Exercise optimizer: weight-decay groups and the warmup-then-linear-decay schedule.

BERT is trained with Adam, L2 weight decay 0.01, "learning rate warmup over the first 10,000
steps, and linear decay of the learning rate" (Devlin et al. 2018, App. A.2), and fine-tuned
with the same optimizer at a small peak rate (App. A.3: 5e-5, 3e-5 or 2e-5). Two details
live only in the code, and interviewers like both: which parameters are *not* decayed, and
what exactly the learning-rate multiplier is at each step.

You write the two pieces that transformers' ``Trainer`` builds for every BERT fine-tuning
run: the parameter groups of its ``create_optimizer`` and the multiplier of
``get_linear_schedule_with_warmup``. Use them as

    optimizer = torch.optim.AdamW(param_groups(model, 0.01), lr=5e-5)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: linear_warmup_decay(step, num_warmup_steps, num_training_steps))
    # per batch: loss.backward(); optimizer.step(); scheduler.step(); optimizer.zero_grad()
"""

from __future__ import annotations

from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """The two parameter groups of transformers' ``Trainer.create_optimizer``.

    Returns:
        [{"params": [...], "weight_decay": weight_decay},   # the decayed parameters
         {"params": [...], "weight_decay": 0.0}]            # the rest
        in that order, both present even if one is empty. "params" holds the nn.Parameter
        objects themselves (not names), in ``model.named_parameters()`` order.

    Which parameters get no weight decay (transformers' ``Trainer.get_decay_parameter_names``
    rule): those inside an ``nn.LayerNorm`` module, whatever its name, and those whose full
    dotted name, lower-cased, contains "bias", "layernorm" or "rmsnorm", or has a part that is
    exactly "norm" or ends in "_norm" (e.g. "final_norm.weight"). In BERT that means every
    bias and every LayerNorm weight. Everything else is decayed.

    Every trainable parameter appears exactly once over both groups, including a weight that
    two modules share (BERT's MLM decoder reuses the word-embedding matrix: one tensor, two
    names). Frozen parameters (``requires_grad=False``) are left out.
    """
    raise NotImplementedError("param_groups is yours to write; stuck? run: bertprep hint optimizer")


def linear_warmup_decay(step: int, num_warmup_steps: int, num_training_steps: int) -> float:
    """The learning-rate multiplier after ``step`` optimizer steps (step 0 = before the first).

    Rises linearly from 0 at step 0 to 1 at step == num_warmup_steps, then falls linearly to
    0 at step == num_training_steps, and stays 0 afterwards. With num_warmup_steps == 0 it
    starts at 1. The checks use 0 <= num_warmup_steps <= num_training_steps and step >= 0,
    including steps past num_training_steps and num_warmup_steps == num_training_steps.

    Returns a Python float (``LambdaLR`` multiplies each group's initial lr by it).
    """
    raise NotImplementedError(
        "linear_warmup_decay is yours to write; stuck? run: bertprep hint optimizer"
    )
