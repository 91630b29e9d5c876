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


def _quantile(values: list[float], q: float) -> float:
    """The q-quantile by linear interpolation (q=0.9: the p90)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def grader_speed(progress: Callable[[str], None] = lambda message: None) -> dict[str, object]:
    """Verdict times in one warm worker (what ``watch`` uses), as a learner meets them.

    - check --all on the solutions in a fresh worker (worker start-up, then grading, which
      includes the one-time work: ``prepare`` caches, ``WORKER_IMPORTS``), and again warm;
    - right code: each solution alone, in the warm worker;
    - wrong code: every mutant of tests/mutants/ (each exercise's file replaced by it).
    """
    import shutil
    import tempfile
    from pathlib import Path

    from grader.catalogue import load_catalogue
    from grader.dev.verify import MutantError, mutant_files, mutant_source
    from grader.sandbox.procs import children_cpu_seconds
    from grader.sandbox.runner import Worker, run_checks
    from grader.sandbox.target import resolve_target

    catalogue = load_catalogue()
    solutions = resolve_target("solutions")
    result: dict[str, object] = {}
    started = time.perf_counter()
    with Worker() as worker, tempfile.TemporaryDirectory(prefix="bertprep-bench-") as tmp:
        result["worker_start_s"] = time.perf_counter() - started
        progress("check --all on the solutions (fresh worker)")
        begin = time.perf_counter()
        verdicts = run_checks(catalogue.ids(), solutions, worker=worker, catalogue=catalogue)
        result["check_all_fresh_s"] = time.perf_counter() - begin
        result["check_all_passed"] = sum(v.status == "passed" for v in verdicts.values())
        result["exercises"] = len(verdicts)
        def cpu() -> float:  # of the grading processes the worker has waited for
            return children_cpu_seconds(worker.process.pid) or 0.0

        progress("right code, one exercise at a time")
        right: dict[str, float] = {}
        right_cpu: dict[str, float] = {}
        for exercise_id in catalogue.ids():
            begin, begin_cpu = time.perf_counter(), cpu()
            run_checks([exercise_id], solutions, worker=worker, catalogue=catalogue)
            right[exercise_id] = time.perf_counter() - begin
            right_cpu[exercise_id] = cpu() - begin_cpu
        result["right_s"], result["right_cpu_s"] = right, right_cpu
        progress("wrong code: every mutant")
        target = Path(tmp) / "target"
        shutil.copytree(solutions, target, ignore=shutil.ignore_patterns("__pycache__"))
        wrong: dict[str, float] = {}
        wrong_cpu: dict[str, float] = {}
        caught = 0
        for exercise_id, mistake, path in mutant_files(catalogue):
            file = target / catalogue.get(exercise_id).file
            original = file.read_bytes()
            try:
                file.write_text(mutant_source(file.name, path), encoding="utf-8")
            except (MutantError, OSError):
                continue
            begin, begin_cpu = time.perf_counter(), cpu()
            verdict = run_checks([exercise_id], target, worker=worker,
                                 catalogue=catalogue)[exercise_id]  # fmt: skip
            wrong[f"{exercise_id}/{mistake}"] = time.perf_counter() - begin
            wrong_cpu[f"{exercise_id}/{mistake}"] = cpu() - begin_cpu
            caught += verdict.status == "failed" and verdict.diagnosis == mistake
            file.write_bytes(original)
        result["wrong_s"], result["wrong_cpu_s"] = wrong, wrong_cpu
        result["wrong_caught"] = caught
        progress("check --all on the solutions (warm worker)")
        begin, begin_cpu = time.perf_counter(), cpu()
        run_checks(catalogue.ids(), solutions, worker=worker, catalogue=catalogue)
        result["check_all_warm_s"] = time.perf_counter() - begin
        result["check_all_warm_cpu_s"] = cpu() - begin_cpu
    result["load_average"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return result


def _spread(values: dict[str, float]) -> str:
    ordered = list(values.values())
    return (f"median {statistics.median(ordered):.2f}s, p90 {_quantile(ordered, 0.9):.2f}s, "
            f"max {max(ordered):.2f}s")  # fmt: skip


def report_grader(console: Console) -> None:
    """``bertprep bench grader``: verdict times for wrong code (every mutant) next to right
    code (every solution), and check --all on the solutions; wall time, then the CPU time of
    the grading processes (what a busy machine does not change)."""
    speed = grader_speed(lambda message: console.print(f"[dim]{message}...[/]"))
    wrong, right = speed["wrong_s"], speed["right_s"]
    slowest_wrong = max(wrong, key=wrong.get)
    slowest_right = max(right, key=right.get)
    over = {k: f"{v:.2f}s" for k, v in right.items() if v > 1.0}
    console.print(
        f"wrong code ({len(wrong)} mutants, one warm worker): {_spread(wrong)} "
        f"({slowest_wrong}); CPU {_spread(speed['wrong_cpu_s'])}; {speed['wrong_caught']}/"
        f"{len(wrong)} failed with their own diagnosis — target median <= 0.5 s, "
        f"p90 <= 1.0 s, max <= 2.0 s"
    )
    console.print(
        f"right code ({len(right)} solutions, one warm worker): {_spread(right)} "
        f"({slowest_right}); CPU {_spread(speed['right_cpu_s'])}"
        + (f"; over 1 s: {over}" if over else "; all under 1 s")
        + " — target every exercise <= 1.0 s"
    )
    console.print(
        f"check --all --target solutions: {speed['check_all_passed']}/{speed['exercises']} "
        f"passed; fresh worker {speed['worker_start_s'] + speed['check_all_fresh_s']:.1f}s "
        f"(start {speed['worker_start_s']:.1f}s, grading {speed['check_all_fresh_s']:.1f}s), "
        f"warm worker {speed['check_all_warm_s']:.1f}s (CPU {speed['check_all_warm_cpu_s']:.1f}s)"
        f" — target <= 5 s"
    )
    if speed.get("load_average") is not None:
        console.print(f"[dim]load average during the run: {speed['load_average']:.1f} on "
                      f"{os.cpu_count()} CPUs[/]")  # fmt: skip


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
