"""The exact GELU, its three look-alikes, and what the tanh form does to a real BERT.

GELU(x) = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))) is what transformers' "gelu" runs
(F.gelu). The tanh and sigmoid forms are approximations from the GELU paper; ReLU is what GELU
replaced. On the bundled all-MiniLM-L6-v2, putting the tanh form into every layer moves the
hidden states by far more than the capstone's 1e-4 tolerance.
"""

import math

import torch
import torch.nn.functional as F

from reference import BertModel, load_pretrained, minilm_dir
from reference import modeling as ref

torch.manual_seed(0)  # the printed figures do not depend on it; seeded all the same

x = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
exact = 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
assert (exact - F.gelu(x)).abs().max() < 1e-12  # F.gelu is this formula
forms = {
    "tanh form": F.gelu(x, approximate="tanh"),
    "x * sigmoid(1.702 x)": x * torch.sigmoid(1.702 * x),
    "ReLU": torch.relu(x),
}
gaps = {}
for name, y in forms.items():
    gap = (y - exact).abs()
    gaps[name] = gap.max().item()
    print(f"{name:<22} max |diff| from exact = {gaps[name]:.2e} at x = {x[gap.argmax()]:.2f}")
low = exact.argmin()
print(f"exact GELU minimum: {exact[low]:.5f} at x = {x[low]:.4f}")
assert gaps["tanh form"] < 5e-4 < gaps["x * sigmoid(1.702 x)"] < 0.03 < gaps["ReLU"] < 0.18

# The same sentence through all-MiniLM-L6-v2, with the exact GELU and with the tanh form.
vocab = (minilm_dir() / "vocab.txt").read_text(encoding="utf-8").splitlines()
index = {token: i for i, token in enumerate(vocab)}
words = ["[CLS]", "the", "cat", "sat", "on", "the", "mat", ".", "[SEP]"]
ids = torch.tensor([[index[w] for w in words]])
model = load_pretrained(BertModel).eval()
with torch.inference_mode():
    hidden_exact, pooled_exact = model(ids)
    for layer in model.encoder.layer:
        layer.intermediate.intermediate_act_fn = ref.gelu_tanh
    hidden_tanh, pooled_tanh = model(ids)
hidden_gap = (hidden_tanh - hidden_exact).abs().max().item()
pooled_gap = (pooled_tanh - pooled_exact).abs().max().item()
assert hidden_gap > 1e-4
print(
    "all-MiniLM-L6-v2, tanh form in all 6 layers: "
    f"last_hidden_state moves by up to {hidden_gap:.1e}"
)
print(f"                                             pooler_output moves by up to {pooled_gap:.1e}")
