"""Mutant: every parameter is decayed, in a single group."""

from __future__ import annotations

import re

from torch import nn

NO_DECAY_PATTERNS = [
    re.compile(pattern)
    for pattern in (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)")
]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    params = [p for p in model.parameters() if p.requires_grad]
    return [{"params": params, "weight_decay": weight_decay}]


def linear_warmup_decay(step: int, num_warmup_steps: int, num_training_steps: int) -> float:
    if step < num_warmup_steps:
        return step / num_warmup_steps
    if step >= num_training_steps:
        return 0.0
    return (num_training_steps - step) / (num_training_steps - num_warmup_steps)
