"""The masked-LM rule, measured: 15% selected, then 80% [MASK] / 10% random / 10% unchanged.

Runs reference.mask_tokens and transformers' DataCollatorForLanguageModeling from the same
torch.Generator state on a padded batch of real WordPiece ids: the two give identical tensors.
Then it measures the rates on 200 sequences of 128 tokens and checks that [CLS], [SEP] and
padding are never selected. Finally, Google's per-sequence count for comparison.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch
import transformers

from reference import BertTokenizer, mask_tokens, minilm_dir

tokenizer = BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")
hf_tokenizer = transformers.BertTokenizer.from_pretrained(str(minilm_dir()))
text = "the quick brown fox jumps over the lazy dog while the cat sleeps " * 10
batch = tokenizer([text, "a short one"], max_length=128, truncation=True, padding=True)
ids = torch.tensor(batch["input_ids"]).repeat(100, 1)  # (200, 128), half of it mostly padding
special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids))  # [CLS], [SEP], [PAD]

collator = transformers.DataCollatorForLanguageModeling(hf_tokenizer, mlm_probability=0.15)
collator.generator = torch.Generator().manual_seed(0)
theirs = collator.torch_mask_tokens(ids.clone(), special_tokens_mask=special.clone())
ours = mask_tokens(
    ids,
    special,
    mask_token_id=tokenizer.mask_token_id,
    vocab_size=len(tokenizer.vocab),
    generator=torch.Generator().manual_seed(0),
)
assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))

inputs, labels = ours
selected = labels != -100
assert not selected[special].any()  # specials and padding never selected, never labelled
assert torch.equal(labels[selected], ids[selected])  # label = the original token
n = selected.sum().item()
masked = (inputs == tokenizer.mask_token_id) & selected
unchanged = (inputs == ids) & selected
randomised = selected & ~masked & ~unchanged  # a random draw can also hit the original id
rates = {
    "selected / ordinary tokens": n / (~special).sum().item(),
    "[MASK] / selected": masked.sum().item() / n,
    "random / selected": randomised.sum().item() / n,
    "unchanged / selected": unchanged.sum().item() / n,
    "random / all ordinary tokens": randomised.sum().item() / (~special).sum().item(),
}
expected = [0.15, 0.80, 0.10, 0.10, 0.015]
for (name, value), target in zip(rates.items(), expected, strict=True):
    assert abs(value - target) < 0.25 * target, name
    print(f"{name:<30} {value:6.1%}  (rule: {target:.1%})")

# Google's create_pretraining_data.py: a fixed count per sequence, capped.
max_predictions_per_seq, masked_lm_prob = 20, 0.15
for length in (20, 128, 512):
    count = min(max_predictions_per_seq, max(1, round(length * masked_lm_prob)))
    print(f"Google, {length:>3}-token sequence: exactly {count} predictions")
