"""Evidence for the corrections to the blog's Q1 ("BERT's main features").

Runs offline on the bundled all-MiniLM-L6-v2 weights (a 6-layer, 384-wide BertModel) with the
repository's from-scratch BERT (`reference/`, proven equal to transformers in tests/).
Each section is included in docs/{en,zh}/blog-corrections.md; every claim is an assert.
"""

import math

import torch

import reference

torch.manual_seed(0)
model = reference.load_pretrained(reference.BertModel)  # eval mode: no dropout
tok = reference.BertTokenizer.from_vocab_file(reference.minilm_dir() / "vocab.txt")

# --8<-- [start:bidirectional]
# Change one word on the RIGHT of position 2 and watch position 2 after ONE encoder layer.
a = tok("the bank of the river was muddy")
b = tok("the bank of the money was muddy")  # position 5 differs ("river" -> "money")
ids = torch.tensor([a["input_ids"], b["input_ids"]])
types = torch.zeros_like(ids)
assert (ids[0] != ids[1]).nonzero().flatten().tolist() == [5]


def first_layer(ids, mask=None):
    with torch.no_grad():
        return model.encoder.layer[0](model.embeddings(ids, types), mask)


h = first_layer(ids)
print(f"BERT, layer 1: change at position 2 = {(h[0, 2] - h[1, 2]).abs().max():.4f}")
assert (h[0, 2] - h[1, 2]).abs().max() > 1e-2  # "bank" already sees "river"/"money"

# The same layer with a GPT-style causal mask (no attending to the right): no change at all.
seq = ids.size(1)
causal = torch.full((seq, seq), torch.finfo(torch.float32).min).triu(1)[None, None]
h = first_layer(ids, causal)
print(f"causal,  layer 1: change at position 2 = {(h[0, 2] - h[1, 2]).abs().max():.4f}")
assert torch.equal(h[0, :5], h[1, :5])  # positions left of the change are bit-identical
# --8<-- [end:bidirectional]

# --8<-- [start:positions]
pos = model.embeddings.position_embeddings
print(pos)  # Embedding(512, 384): one learned vector per absolute position 0..511
assert isinstance(pos.weight, torch.nn.Parameter) and pos.weight.requires_grad
assert tuple(pos.weight.shape) == (512, 384)

# Not the fixed sinusoidal table of Vaswani et al. (2017, section 3.5):
p = torch.arange(512.0)[:, None]
i = torch.arange(0, 384, 2.0)[None, :]
sinusoid = torch.zeros(512, 384)
sinusoid[:, 0::2] = torch.sin(p / 10000 ** (i / 384))
sinusoid[:, 1::2] = torch.cos(p / 10000 ** (i / 384))
cos = torch.nn.functional.cosine_similarity(pos.weight.detach(), sinusoid, dim=1).mean()
print(f"mean cosine(learned, sinusoidal) = {cos:.3f}")
assert abs(cos) < 0.1

# Absolute and capped: position 512 does not exist.
try:
    model(torch.ones(1, 513, dtype=torch.long))
    raise AssertionError("513 tokens should not fit")
except ValueError as err:
    print(err)  # sequence length 513 exceeds max_position_embeddings (512): truncate the input

# Why positions are needed at all: without them, self-attention cannot see word order.
# Zero the position table, shuffle the tokens, and the outputs are the same rows, shuffled.
model.embeddings.position_embeddings.weight.data.zero_()
x = torch.tensor([tok("dog bites man")["input_ids"]])
perm = torch.tensor([0, 3, 2, 1, 4])  # [CLS] man bites dog [SEP]
with torch.no_grad():
    out, out_perm = model(x).last_hidden_state, model(x[:, perm]).last_hidden_state
gap = (out[:, perm] - out_perm).abs().max().item()
assert gap < 1e-5  # equal up to float rounding (the exact rounding error varies by CPU)
print("max |f(shuffled) - shuffled f| < 1e-5")
model = reference.load_pretrained(reference.BertModel)  # restore the real position table
# --8<-- [end:positions]

# --8<-- [start:post_ln]
# BERT is post-LN: every sub-layer ends in LayerNorm(x + Sublayer(x)). So each layer's output,
# with the final LayerNorm's affine part undone, has mean 0 and variance 1 on every token.
ids = torch.tensor([tok("residual connections feed a layer norm in bert")["input_ids"]])
with torch.no_grad():
    h = model.embeddings(ids, torch.zeros_like(ids))
    for n, layer in enumerate(model.encoder.layer):
        h = layer(h, None)
        ln = layer.output.LayerNorm  # the last operation of the layer
        z = (h - ln.bias) / ln.weight
        mean, var = z.mean(-1).abs().max().item(), (z.var(-1, unbiased=False) - 1).abs().max()
        print(f"layer {n}: max |mean| = {mean:.1e}, max |var - 1| = {var:.1e}")
        assert mean < 1e-3 and var < 1e-3
# --8<-- [end:post_ln]

# --8<-- [start:params]
base = reference.BertModel(reference.BertConfig())  # L=12, H=768, A=12, FFN 3072
n_base = sum(p.numel() for p in base.parameters())
with torch.device("meta"):  # shapes only, no memory: BERT-large
    large = reference.BertModel(
        reference.BertConfig(
            hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096
        )
    )
n_large = sum(p.numel() for p in large.parameters())
n_minilm = sum(p.numel() for p in model.parameters())
print(f"BERT-base {n_base:,}  BERT-large {n_large:,}  all-MiniLM-L6-v2 {n_minilm:,}")
assert (n_base, n_large, n_minilm) == (109_482_240, 335_141_888, 22_713_216)
assert math.isclose(n_base / 1e9, 0.109, abs_tol=5e-4)  # about 0.11 billion
# --8<-- [end:params]
