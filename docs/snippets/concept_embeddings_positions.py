"""Self-attention is order-blind; BERT's learned position embeddings are what break the symmetry.

On the real all-MiniLM-L6-v2 weights: the encoder stack alone is permutation-equivariant
(shuffle the input vectors and the outputs are shuffled the same way), while the full model,
which adds position embeddings, gives different vectors for the same words in another order.
The position table is a learned (512, hidden) matrix, so longer inputs are refused.
"""

import torch

from reference import BertModel, BertTokenizer, load_pretrained, minilm_dir

torch.manual_seed(0)  # the printed figures do not depend on it; seeded all the same

model = load_pretrained(BertModel, minilm_dir())
tokenizer = BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")
ids = torch.tensor([tokenizer("the dog bit the man")["input_ids"]])  # [CLS] ... [SEP]
perm = torch.tensor([0, 1, 5, 3, 4, 2, 6])  # swap "dog" (2) and "man" (5)

with torch.inference_mode():
    # 1. Encoder only: feed it embeddings, then the same vectors in another order.
    x = model.embeddings(ids, torch.zeros_like(ids))
    out, out_shuffled = model.encoder(x, None), model.encoder(x[:, perm], None)
    equivariance_gap = (out[:, perm] - out_shuffled).abs().max().item()
    assert equivariance_gap < 1e-5

    # 2. Full model: "the man bit the dog" is not a shuffle of "the dog bit the man".
    a = model(ids).last_hidden_state
    b = model(ids[:, perm]).last_hidden_state
    dog_change = (a[0, 2] - b[0, 5]).abs().max().item()  # "dog" as subject vs as object
    assert dog_change > 0.1

table = model.embeddings.position_embeddings.weight
assert tuple(table.shape) == (512, 384)
try:
    model(torch.ones(1, 513, dtype=torch.long))
except ValueError as err:
    refused = str(err)
else:
    raise AssertionError("a 513-token input should be refused")

# The gap is float rounding (its exact size varies by CPU): print the bound the assert checks.
print("encoder alone, shuffled input vs shuffled output: max |diff| < 1e-5")
print(f"full model, 'dog' as subject vs as object:         max |diff| = {dog_change:.2f}")
print(f"position table {tuple(table.shape)}; 513 tokens -> {refused}")
