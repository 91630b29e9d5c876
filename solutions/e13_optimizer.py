"""Solution optimizer: decay everything but biases and norms; warm up linearly, then decay
linearly to zero.

The recipe: "We use Adam with learning rate of 1e-4, β1 = 0.9, β2 = 0.999, L2 weight decay
of 0.01, learning rate warmup over the first 10,000 steps, and linear decay of the learning
rate" (Devlin et al. 2018, App. A.2, pre-training); fine-tuning keeps the optimizer with a
smaller peak rate (App. A.3: 5e-5, 3e-5, 2e-5).

Which weights decay: google-research/bert ``optimization.py`` builds
``AdamWeightDecayOptimizer(weight_decay_rate=0.01, ...,
exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"])``. Decay pulls weights towards
0; for a bias or a LayerNorm gain that is no regularisation at all (a LayerNorm gain of 0
switches the feature off), and these are few parameters anyway. The "weight decay" is the
decoupled kind (AdamW, Loshchilov & Hutter): it is applied to the weights directly, not added
to the gradient where Adam's per-parameter scaling would distort it. torch.optim.AdamW does
exactly that.

Why warmup: Adam's second-moment estimates are noisy over the first steps, and a post-LN
Transformer such as BERT has large gradients near the output at initialisation; a full
learning rate at once can diverge (Xiong et al. 2020). Ramping up avoids that.
"""

from __future__ import annotations

import re

from torch import nn

# transformers' Trainer.get_decay_parameter_names patterns, searched in the lower-cased name.
NO_DECAY_PATTERNS = [
    re.compile(pattern)
    for pattern in (r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)")
]


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    # By type as well as by name: a LayerNorm called `ln_f` has no "norm" in its name.
    in_layer_norm = {
        id(p)
        for module in model.modules()
        if isinstance(module, nn.LayerNorm)
        for p in module.parameters()
    }
    decay, no_decay = [], []
    # named_parameters() yields each tensor once, under its first name: a tied weight (the
    # MLM decoder = the word embeddings) must not be stepped twice per update, and torch
    # optimizers reject a parameter that sits in two groups.
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue  # frozen: nothing for the optimizer to do
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
        # 0, 1/W, ..., (W-1)/W: the peak 1.0 arrives exactly at step W.
        return step / num_warmup_steps
    if step >= num_training_steps:
        # Past the end (and the case W == T, where T - W would be 0 below): stay at 0.
        return 0.0
    # 1 at step W, then down by 1/(T - W) per step, reaching 0 exactly at step T.
    return (num_training_steps - step) / (num_training_steps - num_warmup_steps)
