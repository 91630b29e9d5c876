"""Why scores are divided by sqrt(d_head): unscaled dot products grow with d_head.

If the components of q and k are independent with mean 0 and variance 1, q . k has mean 0 and
variance d_head (Vaswani et al. 2017, §3.2.1, footnote 4). Dividing by sqrt(d_head) brings the
variance back to 1. Without it, a softmax over 128 keys saturates more and more often as d_head
grows, and its Jacobian diag(p) - p p^T, which every gradient to the scores passes through,
shrinks towards zero.
"""

import math

import torch

torch.manual_seed(0)
print(
    f"{'d_head':>6} {'var(q.k)':>9} {'var(scaled)':>12} {'saturated raw':>14} "
    f"{'saturated scaled':>17} {'median |J| raw':>15} {'scaled':>7}"
)
saturated_before = -1.0
for d_head in (16, 64, 256, 768):
    q, k = torch.randn(20_000, d_head), torch.randn(20_000, d_head)
    dots = (q * k).sum(-1)
    var_raw, var_scaled = dots.var().item(), (dots / math.sqrt(d_head)).var().item()
    assert abs(var_raw / d_head - 1) < 0.05 and abs(var_scaled - 1) < 0.05

    # 500 queries, each against its own 128 keys.
    queries, keys = torch.randn(500, 1, d_head), torch.randn(500, 128, d_head)
    scores = (queries @ keys.transpose(1, 2)).squeeze(1)  # (500, 128)
    row = []
    for s in (scores, scores / math.sqrt(d_head)):
        p = s.softmax(-1)
        jacobian = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # d softmax / d scores
        saturated = (p.max(-1).values > 0.99).float().mean().item()  # share of ~one-hot rows
        row += [saturated, jacobian.norm(dim=(1, 2)).median().item()]
    sat_raw, jac_raw, sat_scaled, jac_scaled = row
    assert sat_scaled == 0.0 and sat_raw > saturated_before  # raw saturation grows with d_head
    saturated_before = sat_raw
    if d_head >= 256:
        assert jac_raw < jac_scaled / 4
    print(
        f"{d_head:>6} {var_raw:>9.1f} {var_scaled:>12.2f} {sat_raw:>14.1%} {sat_scaled:>17.1%} "
        f"{jac_raw:>15.4f} {jac_scaled:>7.4f}"
    )
