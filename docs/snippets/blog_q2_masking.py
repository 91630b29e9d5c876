"""Evidence for the corrections to the blog's Q2 (the masked language model).

The masking rule of the paper (section 3.1): choose 15% of the WordPiece positions; of those,
80% -> [MASK], 10% -> a random token, 10% unchanged; the loss is computed on the chosen
positions only. `reference.mask_tokens` is transformers' DataCollatorForLanguageModeling rule,
draw for draw (tests/test_pretraining_data.py proves it).
"""

import torch

import reference

# --8<-- [start:rule]
tok = reference.BertTokenizer.from_vocab_file(reference.minilm_dir() / "vocab.txt")
g = torch.Generator().manual_seed(0)

# A big batch of [CLS] w1 ... w126 [SEP] with ordinary word ids, so the rates are measurable.
batch, seq = 512, 128
ids = torch.randint(1000, tok.vocab_size, (batch, seq), generator=g)
ids[:, 0], ids[:, -1] = tok.cls_token_id, tok.sep_token_id
special = (ids == tok.cls_token_id) | (ids == tok.sep_token_id)

inputs, labels = reference.mask_tokens(
    ids, special, mask_token_id=tok.mask_token_id, vocab_size=tok.vocab_size, generator=g
)
chosen = labels != -100  # -100 = "no loss here" (CrossEntropyLoss's ignore_index)
to_mask = inputs[chosen] == tok.mask_token_id
kept = inputs[chosen] == ids[chosen]
rates = {
    "chosen / all": chosen.float().mean().item(),
    "[MASK] / chosen": to_mask.float().mean().item(),
    "random / chosen": (~to_mask & ~kept).float().mean().item(),
    "unchanged / chosen": kept.float().mean().item(),
}
print({k: round(v, 3) for k, v in rates.items()})
assert abs(rates["chosen / all"] - 0.15) < 0.005
assert abs(rates["[MASK] / chosen"] - 0.80) < 0.01
assert abs(rates["random / chosen"] - 0.10) < 0.01
assert abs(rates["unchanged / chosen"] - 0.10) < 0.01
assert not chosen[special].any()  # [CLS] and [SEP] are never chosen
assert torch.equal(labels[chosen], ids[chosen])  # labels hold the ORIGINAL token
assert torch.equal(inputs[~chosen], ids[~chosen])  # everything else is untouched
# --8<-- [end:rule]


# --8<-- [start:google_count]
# Google's create_pretraining_data.py chooses a fixed count per sequence instead:
# min(max_predictions_per_seq, max(1, round(len(tokens) * masked_lm_prob))), defaults 20 and 0.15.
def google_num_to_predict(n_tokens, max_predictions_per_seq=20, masked_lm_prob=0.15):
    return min(max_predictions_per_seq, max(1, round(n_tokens * masked_lm_prob)))


print([google_num_to_predict(n) for n in (5, 40, 128)])  # [1, 6, 19]
assert [google_num_to_predict(n) for n in (5, 40, 128)] == [1, 6, 19]
# --8<-- [end:google_count]
