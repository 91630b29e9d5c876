"""Benchmarks that print ratios measured side by side in one run (never pass/fail)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import torch


def interleaved_timings(
    contenders: dict[str, Callable[[], object]], repeats: int, warmup: int = 3
) -> dict[str, list[float]]:
    """Time each contender ``repeats`` times, alternating who goes first in every round, so
    drift in the machine's speed (thermal, other load) hits both sides alike."""
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    timings: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(repeats):
        order = names if round_index % 2 == 0 else names[::-1]
        for name in order:
            start = time.perf_counter()
            contenders[name]()
            timings[name].append(time.perf_counter() - start)
    return timings


def forward_ratio(batch: int = 8, seq: int = 128, repeats: int = 30) -> dict[str, float]:
    """Reference BertModel vs transformers BertModel (sdpa) on the real MiniLM weights."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    import reference

    ours = reference.load_pretrained(reference.BertModel)
    theirs = transformers.BertModel.from_pretrained(str(reference.minilm_dir())).eval()
    gen = torch.Generator().manual_seed(0)
    input_ids = torch.randint(1000, 30522, (batch, seq), generator=gen)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[1::2, seq * 3 // 4 :] = 0  # half the rows padded, as in a real batch
    token_type_ids = torch.zeros_like(input_ids)

    def run_ours():
        with torch.inference_mode():
            return ours(input_ids, attention_mask, token_type_ids)

    def run_theirs():
        with torch.inference_mode():
            return theirs(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )

    timings = interleaved_timings({"reference": run_ours, "transformers": run_theirs}, repeats)
    ours_s = statistics.median(timings["reference"])
    theirs_s = statistics.median(timings["transformers"])
    return {
        "reference_ms": ours_s * 1e3,
        "transformers_ms": theirs_s * 1e3,
        "ratio": ours_s / theirs_s,
        "threads": torch.get_num_threads(),
        "batch": batch,
        "seq": seq,
        "repeats": repeats,
    }
