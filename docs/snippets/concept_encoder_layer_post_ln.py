"""BERT's layer is post-LN: LayerNorm(x + Sublayer(x)), twice. Checked on a real MiniLM layer.

The hand-written post-LN formula reproduces the layer exactly; the pre-LN arrangement
x + Sublayer(LayerNorm(x)) with the same weights gives a different function, so a pre-LN
implementation cannot load BERT weights and agree with it.
"""

import torch
import torch.nn.functional as F

from reference import BertModel, load_pretrained

model = load_pretrained(BertModel)  # the bundled all-MiniLM-L6-v2, eval mode
layer = model.encoder.layer[0]
attn, inter, out = layer.attention, layer.intermediate, layer.output
torch.manual_seed(0)
x = model.embeddings(torch.randint(1000, 2000, (2, 9)), torch.zeros(2, 9, dtype=torch.long))


def post_ln(x):
    h = attn.output.LayerNorm(x + attn.output.dense(attn.self(x, None)))
    return out.LayerNorm(h + out.dense(F.gelu(inter.dense(h))))


def pre_ln(x):
    h = x + attn.output.dense(attn.self(attn.output.LayerNorm(x), None))
    return h + out.dense(F.gelu(inter.dense(out.LayerNorm(h))))


with torch.inference_mode():
    y = layer(x, None)
    gap_post = (post_ln(x) - y).abs().max().item()
    gap_pre = (pre_ln(x) - y).abs().max().item()
    # Undo the last LayerNorm's affine map: every token vector has mean 0 and variance 1.
    z = (y - out.LayerNorm.bias) / out.LayerNorm.weight
    mean, var = z.mean(-1).abs().max().item(), (z.var(-1, unbiased=False) - 1).abs().max().item()

assert gap_post < 1e-5 and gap_pre > 0.1 and mean < 1e-4 and var < 1e-3
print(f"post-LN formula vs the layer: max |diff| = {gap_post:.1e}")
print(f"pre-LN, same weights:         max |diff| = {gap_pre:.2f}")
# mean and var - 1 are float rounding (their exact size varies by CPU): print the bounds.
print("layer output, affine undone:  |mean| < 1e-4, |var - 1| < 1e-3 per token")
