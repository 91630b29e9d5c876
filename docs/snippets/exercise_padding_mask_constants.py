"""Which constant to add for padding: -inf and a hard-coded -1e9 break, finfo(dtype).min does not.

Scores are (batch, heads, seq_q, seq_k); the mask is (batch, 1, 1, seq_k). Row 0 has two real
keys and two padded ones; row 1 has no real key at all (a fully padded sequence).
"""

import torch

attention_mask = torch.tensor([[1, 1, 0, 0], [0, 0, 0, 0]])
keep = attention_mask.bool()[:, None, None, :]  # (batch, 1, 1, seq_k)
scores = torch.randn(2, 1, 3, 4, generator=torch.Generator().manual_seed(0)) * 5


def probs(constant: float, dtype: torch.dtype) -> torch.Tensor:
    mask = torch.zeros(keep.shape, dtype=dtype).masked_fill(~keep, constant)
    return (scores.to(dtype) + mask).float().softmax(-1)


print(f"-1e9 in float16 is {torch.tensor(-1e9, dtype=torch.float16).item()}")
print(f"finfo(float16).min = {torch.finfo(torch.float16).min}, "
      f"finfo(float32).min = {torch.finfo(torch.float32).min:.4e}")
assert torch.tensor(-1e9, dtype=torch.float16).isinf()

with_inf = probs(float("-inf"), torch.float32)
assert with_inf[0].isfinite().all() and with_inf[1].isnan().all()
print("-inf:              padded keys in row 0 get", with_inf[0, 0, 0, 2:].tolist(),
      "; fully padded row 1 is NaN:", bool(with_inf[1].isnan().all()))

with_min = probs(torch.finfo(torch.float32).min, torch.float32)
assert with_min.isfinite().all() and (with_min[0, ..., 2:] == 0).all()
assert torch.allclose(with_min.sum(-1), torch.ones(2, 1, 3))
print("finfo(dtype).min:  padded keys in row 0 get", with_min[0, 0, 0, 2:].tolist(),
      "; fully padded row 1 is uniform:", with_min[1, 0, 0].tolist())
