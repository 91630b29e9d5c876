"""Hypothesis strategies shared by every check module.

Shapes, masks and configs are drawn by hypothesis (so failures shrink to small, readable
cases); tensor *values* come from a torch generator seeded by a drawn integer (drawing
thousands of floats one by one would be slow and shrink to all-zeros, which hides bugs).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hypothesis import strategies as st
from torch import Tensor

SCALES = (1.0, 0.01, 30.0)  # ordinary, tiny (eps matters), large (stability matters)


def make_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(shape: tuple[int, ...], seed: int, scale: float = 1.0, offset: float = 0.0) -> Tensor:
    return torch.randn(shape, generator=make_generator(seed)) * scale + offset


def non_contiguous(x: Tensor) -> Tensor:
    """Same values, non-contiguous memory (a transposed copy transposed back)."""
    if x.dim() < 2:
        return x[None].expand(2, *x.shape)[0]
    return x.transpose(0, -1).contiguous().transpose(0, -1)


seeds = st.integers(min_value=0, max_value=2**31 - 1)
scales = st.sampled_from(SCALES)


@st.composite
def padding_masks(draw, batch: int, seq: int, allow_fully_padded: bool = True) -> Tensor:
    """(batch, seq) int64 masks, 1 = real token. Mostly right-padded (as tokenizers do),
    sometimes arbitrary, sometimes with a row that has no real token at all."""
    low = 0 if allow_fully_padded else 1
    style = draw(st.sampled_from(["right", "right", "scattered"]))
    if style == "right":
        lengths = [draw(st.integers(low, seq)) for _ in range(batch)]
        return (torch.arange(seq)[None, :] < torch.tensor(lengths)[:, None]).long()
    rows = []
    for _ in range(batch):
        row = draw(st.lists(st.integers(0, 1), min_size=seq, max_size=seq))
        if not allow_fully_padded and not any(row):
            row[draw(st.integers(0, seq - 1))] = 1
        rows.append(row)
    return torch.tensor(rows, dtype=torch.long)


@dataclass(frozen=True)
class AttentionCase:
    query: Tensor
    key: Tensor
    value: Tensor
    mask: Tensor | None
    scale: float
    contiguous: bool

    def describe(self) -> str:
        b, h, sq, d = self.query.shape
        sk = self.key.shape[2]
        parts = [f"batch={b}, heads={h}, seq_q={sq}, seq_k={sk}, d_head={d}"]
        if self.mask is None:
            parts.append("no mask")
        else:
            padded = (self.mask == 0).sum(-1).tolist()
            rows = [f"{n} padded keys in row {i}" for i, n in enumerate(padded) if n]
            parts.append(", ".join(rows) if rows else "mask with no padding")
        if self.scale != 1.0:
            parts.append(f"values scaled by {self.scale:g}")
        if not self.contiguous:
            parts.append("non-contiguous inputs")
        return "; ".join(parts)


@st.composite
def attention_cases(
    draw,
    *,
    masked: bool | None = None,
    allow_fully_padded: bool = True,
    self_attention: bool = False,
    max_seq: int = 9,
    max_d_head: int = 16,
) -> AttentionCase:
    batch = draw(st.integers(1, 3))
    heads = draw(st.integers(1, 4))
    seq_q = draw(st.integers(1, max_seq))
    seq_k = seq_q if self_attention else draw(st.integers(1, max_seq))
    d_head = draw(st.integers(1, max_d_head))
    seed, scale = draw(seeds), draw(scales)
    use_mask = draw(st.booleans()) if masked is None else masked
    mask = draw(padding_masks(batch, seq_k, allow_fully_padded)) if use_mask else None
    contiguous = draw(st.booleans())
    q = randn((batch, heads, seq_q, d_head), seed, scale)
    k = randn((batch, heads, seq_k, d_head), seed + 1, scale)
    v = randn((batch, heads, seq_k, d_head), seed + 2)
    if not contiguous:
        q, k, v = non_contiguous(q), non_contiguous(k), non_contiguous(v)
    return AttentionCase(q, k, v, mask, scale, contiguous)


@st.composite
def hidden_shapes(draw, max_batch: int = 3, max_seq: int = 9, max_hidden: int = 48):
    return (draw(st.integers(1, max_batch)), draw(st.integers(1, max_seq)),
            draw(st.integers(1, max_hidden)))  # fmt: skip
