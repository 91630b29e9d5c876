"""Mutant: the multiplier warms up, then stays at 1: no decay."""

from __future__ import annotations

import re

from torch import nn

NO_DECAY_PATTERNS = [
    re.compile(pattern)
    for pattern in (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)")
]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    in_layer_norm = {
        id(p)
        for module in model.modules()
        if isinstance(module, nn.LayerNorm)
        for p in module.parameters()
    }
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        lowered = name.lower()
        if id(param) in in_layer_norm or any(p.search(lowered) for p in NO_DECAY_PATTERNS):
            no_decay.append(param)
        else:
            decay.append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def linear_warmup_decay(step: int, num_warmup_steps: int, num_training_steps: int) -> float:
    if step < num_warmup_steps:
        return step / num_warmup_steps
    return 1.0
