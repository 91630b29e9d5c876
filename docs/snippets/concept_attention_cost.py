"""What one encoder layer costs, counted by torch on the reference BertLayer.

Per sequence of s tokens and width h, the six linear maps (Q, K, V, attention output, FFN in,
FFN out with 4h) cost 12 s h^2 multiply-adds and the two attention products (Q K^T and P V)
cost 2 s^2 h. torch's FLOP counter reports 2 FLOPs per multiply-add.
"""

import torch
from torch.utils.flop_counter import FlopCounterMode

from reference.config import BertConfig
from reference.modeling import BertLayer, scaled_dot_product_attention

torch.manual_seed(0)  # the random inputs below are reproducible

h = 768  # BERT-base
layer = BertLayer(BertConfig(hidden_size=h, attn_implementation="eager")).eval()
print(f"{'seq':>5} {'linear GFLOP':>13} {'attention GFLOP':>16} {'attention share':>16}")
for s in (128, 512, 2048):
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        layer(torch.randn(1, s, h), None)
    counts = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    linear, attention = counts["aten.addmm"], counts["aten.bmm"]
    assert linear == 2 * 12 * s * h * h and attention == 2 * 2 * s * s * h
    assert abs(attention / (linear + attention) - s / (s + 6 * h)) < 1e-12
    share = attention / (linear + attention)
    print(f"{s:>5} {linear / 1e9:>13.2f} {attention / 1e9:>16.2f} {share:>16.1%}")

# The probabilities are a (batch, heads, seq, seq) tensor: memory grows with seq^2 too.
heads, d_head, s = 12, 64, 512
q = k = v = torch.randn(1, heads, s, d_head)
_, probs = scaled_dot_product_attention(q, k, v)
assert probs.shape == (1, heads, s, s)
print(
    f"attention probabilities at seq {s}: {probs.numel():,} floats "
    f"= {probs.numel() * 4 / 2**20:.0f} MiB per layer per sequence in fp32"
)
