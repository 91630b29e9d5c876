"""The blog's Q4, corrected: fine-tune BERT as a sentence classifier, in PyTorch.

Encoder: the bundled all-MiniLM-L6-v2 (a 6-layer, 384-wide BertModel, bert-base-uncased vocab),
loaded offline. Head: dropout + one Linear(hidden, num_labels) on the pooled [CLS] vector
(Devlin et al. 2018, section 4.1). Every weight is trained, not only the head (section 3.2).
Runs in seconds on a laptop CPU; the toy data only shows that the loop works.
"""

import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may come from a model hub

import torch
from transformers import (
    BertForSequenceClassification,
    BertTokenizer,
    get_linear_schedule_with_warmup,
)

import reference  # only to find the bundled checkpoint: reference.minilm_dir()

torch.manual_seed(0)
model_dir = reference.minilm_dir()

# 1. The checkpoint's OWN tokenizer (same vocab.txt, same lower-casing as in pre-training).
tokenizer = BertTokenizer.from_pretrained(model_dir)
# 2. Encoder weights from the checkpoint + a NEW classifier (transformers warns that
#    classifier.weight / classifier.bias are newly initialised: that is expected).
model = BertForSequenceClassification.from_pretrained(model_dir, num_labels=2)

texts = [
    "a wonderful, moving film",
    "the acting was superb",
    "i loved every minute of it",
    "a delightful and clever story",
    "beautifully shot and well written",
    "one of the best films this year",
    "warm, funny and full of heart",
    "an absolute joy to watch",
    "a dull, lifeless film",
    "the acting was terrible",
    "i hated every minute of it",
    "a boring and clumsy story",
    "badly shot and poorly written",
    "one of the worst films this year",
    "cold, humourless and empty",
    "an absolute chore to watch",
]
labels = torch.tensor([1] * 8 + [0] * 8)  # ONE integer label per sentence

# 3. Three separate (batch, seq) tensors: input_ids, token_type_ids, attention_mask.
#    [CLS] and [SEP] are added by the tokenizer and must stay.
enc = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
print({k: tuple(v.shape) for k, v in enc.items()})
assert (enc["input_ids"][:, 0] == tokenizer.cls_token_id).all()

# 4. AdamW with decoupled weight decay 0.01, none on biases and LayerNorm weights (as Google's
#    optimization.py and transformers' Trainer); lr from the paper's grid {5e-5, 3e-5, 2e-5};
#    linear warmup over the first 10% of steps, then linear decay to 0 (run_classifier.py).
no_decay = ("bias", "LayerNorm.weight")
groups = [
    {
        "params": [p for n, p in model.named_parameters() if not any(s in n for s in no_decay)],
        "weight_decay": 0.01,
    },
    {
        "params": [p for n, p in model.named_parameters() if any(s in n for s in no_decay)],
        "weight_decay": 0.0,
    },
]
optimizer = torch.optim.AdamW(groups, lr=5e-5, fused=True)  # fused: one kernel, faster on CPU
epochs, batch_size = 6, 8
total_steps = epochs * math.ceil(len(texts) / batch_size)
scheduler = get_linear_schedule_with_warmup(
    optimizer, num_warmup_steps=math.ceil(0.1 * total_steps), num_training_steps=total_steps
)


def mean_loss() -> float:
    """Loss on the whole toy set, dropout off."""
    model.eval()
    with torch.no_grad():
        return model(**enc, labels=labels).loss.item()


before = mean_loss()
layer0_ln = model.bert.encoder.layer[0].attention.output.LayerNorm.weight  # never decayed
layer0_ln_before = layer0_ln.detach().clone()

# 5. The loop: logits -> CrossEntropyLoss (computed inside the model from `labels`; it applies
#    log-softmax itself, so there is no softmax layer in the model).
for epoch in range(epochs):
    model.train()  # dropout on
    order, losses = torch.randperm(len(texts)), []
    for start in range(0, len(texts), batch_size):
        idx = order[start : start + batch_size]
        out = model(
            input_ids=enc["input_ids"][idx],
            token_type_ids=enc["token_type_ids"][idx],
            attention_mask=enc["attention_mask"][idx],
            labels=labels[idx],
        )
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # as Google's optimization.py
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        losses.append(out.loss.item())
    print(f"epoch {epoch + 1}: mean batch loss {sum(losses) / len(losses):.3f}")

after = mean_loss()
print(f"mean loss on the toy set: {before:.3f} -> {after:.3f}")
assert after < before, "fine-tuning should lower the training loss"

# End to end: gradients reached the bottom of the pre-trained encoder, not just the new head.
moved = (layer0_ln - layer0_ln_before).abs().max().item()
print(f"largest change in layer 0's first LayerNorm weight: {moved:.1e}")
assert moved > 0
