"""Where BERT's parameters are: counted on the reference and on transformers, by formula.

Per layer: Q, K, V and the attention output are h x h plus bias (4h^2 + 4h), the feed-forward
is h x 4h and 4h x h plus biases (8h^2 + 5h), two LayerNorms (4h): 12h^2 + 13h in all.
Embeddings: (vocab + 512 positions + 2 segments) x h plus a LayerNorm; pooler: h^2 + h.
"""

import torch
import transformers

from reference.config import BertConfig
from reference.modeling import BertModel

torch.manual_seed(0)  # the printed figures do not depend on it; seeded all the same


def formula(vocab, h, layers, ffn, positions=512, types=2):
    embeddings = (vocab + positions + types) * h + 2 * h
    layer = 4 * (h * h + h) + 2 * h + (h * ffn + ffn) + (ffn * h + h) + 2 * h
    pooler = h * h + h
    return embeddings, layer, pooler, embeddings + layers * layer + pooler


def count(model):
    return sum(p.numel() for p in model.parameters())


print(f"{'model':<18} {'total':>12} {'embeddings':>11} {'per layer':>10} {'embeddings share':>17}")
for name, h, layers, heads in (
    ("BERT-base", 768, 12, 12),
    ("BERT-large", 1024, 24, 16),
    ("all-MiniLM-L6-v2", 384, 6, 12),
):
    kwargs = dict(
        hidden_size=h, num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=4 * h
    )
    with torch.device("meta"):  # shapes only, no memory
        ours = count(BertModel(BertConfig(**kwargs)))
        theirs = count(transformers.BertModel(transformers.BertConfig(**kwargs)))
    embeddings, layer, pooler, total = formula(30522, h, layers, 4 * h)
    assert ours == theirs == total
    print(f"{name:<18} {total:>12,} {embeddings:>11,} {layer:>10,} {embeddings / total:>17.1%}")

assert formula(30522, 768, 12, 3072)[3] == 109_482_240  # "110M" in the paper
assert formula(30522, 1024, 24, 4096)[3] == 335_141_888  # "340M"
