"""AdamW decay groups and the warmup-then-linear-decay schedule, reference vs transformers.

1. Decay groups on BERT-base: every bias and every LayerNorm parameter goes to the group with
   weight_decay 0, the same names transformers' Trainer.get_decay_parameter_names picks.
2. The learning-rate multiplier of get_linear_schedule_with_warmup, step by step, and Google's
   optimization.py schedule (linear decay counted from step 0, overridden during warmup), which
   reaches only 1 - W/T of the peak when warmup ends.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
import transformers

from reference import BertConfig, BertModel, param_groups
from reference.optim import decay_parameter_names, linear_warmup_decay_factor

torch.manual_seed(0)  # the printed figures do not depend on it; seeded all the same

with torch.device("meta"):
    ours = BertModel(BertConfig())
    theirs = transformers.BertModel(transformers.BertConfig())
assert sorted(decay_parameter_names(ours)) == sorted(
    transformers.Trainer.get_decay_parameter_names(None, theirs)
)
decay, no_decay = param_groups(ours, weight_decay=0.01)
no_decay_names = [n for n, _ in ours.named_parameters() if n not in decay_parameter_names(ours)]
assert all(n.endswith("bias") or ".LayerNorm." in n for n in no_decay_names)
print(
    f"BERT-base: {sum(p.numel() for p in decay['params']):,} weights decayed "
    f"({len(decay['params'])} tensors), {sum(p.numel() for p in no_decay['params']):,} "
    f"biases and LayerNorm parameters not ({len(no_decay['params'])} tensors)"
)


def google(step, warmup, total):  # optimization.py create_optimizer, as a multiplier of init_lr
    decayed = 1.0 - min(step, total) / total  # polynomial_decay(power=1.0, end_learning_rate=0)
    return step / warmup if step < warmup else decayed


optimizer = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=1.0)
scheduler = transformers.get_linear_schedule_with_warmup(optimizer, 10, 100)
for step in range(101):
    assert scheduler.get_last_lr()[0] == linear_warmup_decay_factor(step, 10, 100)
    optimizer.step()
    scheduler.step()

print(f"{'step':>5} {'transformers':>13} {'Google':>7}   (W = 10, T = 100)")
for step in (0, 5, 9, 10, 11, 55, 100):
    ours_factor, google_factor = linear_warmup_decay_factor(step, 10, 100), google(step, 10, 100)
    print(f"{step:>5} {ours_factor:>13.3f} {google_factor:>7.3f}")
assert linear_warmup_decay_factor(10, 10, 100) == 1.0 and google(10, 10, 100) == 0.9
