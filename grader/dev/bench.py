"""Benchmarks that print ratios measured side by side in one run (never pass/fail)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

import torch
from rich.console import Console


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


def check_all_time(target: str = "solutions") -> dict[str, float]:
    """Wall time of ``bertprep check --all`` on ``target``: worker start-up and grading."""
    from grader.catalogue import load_catalogue
    from grader.sandbox.runner import Worker, run_checks
    from grader.sandbox.target import resolve_target

    catalogue = load_catalogue()
    started = time.perf_counter()
    with Worker() as worker:
        warm = time.perf_counter()
        verdicts = run_checks(catalogue.ids(), resolve_target(target), worker=worker)
        done = time.perf_counter()
    slowest = max(verdicts.values(), key=lambda v: v.seconds)
    return {
        "exercises": len(verdicts),
        "passed": sum(v.status == "passed" for v in verdicts.values()),
        "worker_start_s": warm - started,
        "grading_s": done - warm,
        "total_s": done - started,
        "slowest": f"{slowest.id} ({slowest.seconds:.2f}s of checks)",
    }


def watch_latency(rounds: int = 1) -> dict[str, object]:
    """Save-to-verdict latency of watch mode, per exercise, on a scratch copy of solutions/.

    Each round rewrites every exercise file (as an editor's save does) and measures from
    the file's modification time to the verdict, through the same file watcher and warm
    worker that ``bertprep watch`` uses.
    """
    import queue
    import shutil
    import tempfile
    import threading
    from pathlib import Path

    from grader.catalogue import PROJECT_ROOT, load_catalogue
    from grader.sandbox.runner import Worker
    from grader.watch import Watcher, watch_events

    catalogue = load_catalogue()
    latencies: dict[str, list[float]] = {e.id: [] for e in catalogue.exercises}
    with tempfile.TemporaryDirectory(prefix="bertprep-watch-") as tmp, Worker() as worker:
        folder = Path(tmp) / "exercises"
        shutil.copytree(PROJECT_ROOT / "solutions", folder,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        events: queue.Queue = queue.Queue()
        stop = threading.Event()
        threading.Thread(target=watch_events, args=(folder, events, stop), daemon=True).start()
        time.sleep(0.5)  # let the watcher start before the first save

        def record(exercise, verdict, seconds):
            latencies[exercise.id].append(seconds)

        watcher = Watcher(folder, catalogue, worker, record)
        for _ in range(rounds):
            for exercise in catalogue.exercises:
                path = folder / exercise.file
                path.write_text(path.read_text() + "\n")
                _, changed, saved_at = events.get(timeout=30)
                while changed.name != exercise.file:  # ignore stray events
                    _, changed, saved_at = events.get(timeout=30)
                watcher.grade(exercise, saved_at)
        stop.set()
    per_exercise = {k: statistics.median(v) for k, v in latencies.items() if v}
    under = sum(v < 1.0 for v in per_exercise.values())
    return {
        "per_exercise_s": per_exercise,
        "median_s": statistics.median(per_exercise.values()),
        "under_1s": f"{under}/{len(per_exercise)}",
    }


def report_grader(console: Console) -> None:
    """``bertprep bench grader``: check --all wall time and watch save-to-verdict latency."""
    timing = check_all_time()
    console.print(
        f"bertprep check --all --target solutions: {timing['passed']}/{timing['exercises']} "
        f"passed in {timing['total_s']:.1f}s (worker start {timing['worker_start_s']:.1f}s, "
        f"grading {timing['grading_s']:.1f}s; slowest {timing['slowest']}) — target < 30 s"
    )
    latency = watch_latency()
    slow = {k: f"{v:.2f}s" for k, v in latency["per_exercise_s"].items() if v >= 1.0}
    console.print(
        f"watch, save -> verdict: median {latency['median_s']:.2f}s, "
        f"{latency['under_1s']} exercises under 1 s — target < 1 s"
        + (f"; slower: {slow}" if slow else "")
    )


def report_forward(console: Console, batch: int, seq: int, repeats: int) -> None:
    """``bertprep bench forward``: the reference's forward time against transformers'."""
    result = forward_ratio(batch=batch, seq=seq, repeats=repeats)
    console.print(
        f"BertModel forward, all-MiniLM-L6-v2, batch {result['batch']} x {result['seq']}, "
        f"fp32, inference mode, {result['threads']} threads, median of {result['repeats']}:\n"
        f"  reference    {result['reference_ms']:8.2f} ms\n"
        f"  transformers {result['transformers_ms']:8.2f} ms (sdpa)\n"
        f"  ratio reference / transformers = [bold]{result['ratio']:.3f}[/] (target <= 1.00)"
    )
