"""Grade exercises: run their check modules in the warm worker and turn records into verdicts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from grader.catalogue import Catalogue, load_catalogue
from grader.i18n import _

TEST_TIMEOUT_S = 20  # one check (one hypothesis test); a check module may raise it for itself
RUN_TIMEOUT_BASE_S = 60
RUN_TIMEOUT_PER_EXERCISE_S = 45
MEMORY_MB = 2048
OUTPUT_MB = 64
WORKER_START_TIMEOUT_S = 120

STATUSES = ("passed", "failed", "not_started", "error")


@dataclass
class Verdict:
    id: str
    status: str  # passed | failed | not_started | error
    passed: int = 0
    total: int = 0
    message: str = ""
    check: str | None = None  # title of the first failing check
    inputs: str | None = None
    expected: str | None = None
    got: str | None = None
    diagnosis: str | None = None  # known-mistake id
    diagnosis_text: str | None = None
    location: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def aggregate(exercise_id: str, records: list[dict], catalogue: Catalogue) -> Verdict:
    """One verdict from the per-check records of one exercise (in the order they ran)."""
    results = [r for r in records if r.get("event") == "result"]
    counted = [r for r in results if r["status"] != "skipped"]
    passed = sum(r["status"] == "passed" for r in results)
    total = len(results)
    seconds = round(sum(r.get("duration", 0.0) for r in results), 3)
    verdict = Verdict(exercise_id, "passed", passed, total, seconds=seconds)
    if not results:
        verdict.status, verdict.message = "error", _("no checks ran")
        return verdict
    first_bad = next((r for r in counted if r["status"] != "passed"), None)
    if first_bad is None:
        verdict.message = _("all {total} checks pass").format(total=total)
        return verdict
    if first_bad["status"] == "not_started" and passed == 0:
        verdict.status = "not_started"
        verdict.message = _("not started: the stub still raises NotImplementedError")
        return verdict
    errors = [r for r in counted if r["status"] == "error"]
    failure = errors[0] if errors else first_bad
    verdict.status = "error" if errors else "failed"
    if failure["status"] == "not_started":
        failure = {
            **failure,
            "message": _("part of this exercise is still a stub (raises NotImplementedError)"),
        }
    verdict.message = failure.get("message", "")
    verdict.check = failure.get("title")
    for key in ("inputs", "expected", "got", "location", "diagnosis"):
        setattr(verdict, key, failure.get(key))
    if verdict.diagnosis in catalogue.mistakes:
        verdict.diagnosis_text = catalogue.mistakes[verdict.diagnosis].sentence()
    return verdict


class Worker:
    """A ``python -m grader.sandbox.worker`` child that stays warm between grading runs."""

    def __init__(self) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        ready = self._read_line(WORKER_START_TIMEOUT_S)
        if ready is None or json.loads(ready).get("status") != "ready":
            self.close()
            raise RuntimeError(_("the grading worker did not start (is the .venv complete?)"))

    def _read_line(self, timeout: float) -> str | None:
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.process.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        return result[0] if result and result[0] else None

    def run(self, request: dict) -> dict:
        with self._lock:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self._read_line(request["run_timeout"] + 30)
        if line is None:
            self.close()
            raise RuntimeError(_("the grading worker stopped answering"))
        return json.loads(line)

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
    return records


def _crash_message(answer: dict, log_tail: str) -> str:
    if answer["timed_out"]:
        return _("the whole run took too long and was stopped (an infinite loop in native "
                 "code?)")  # fmt: skip
    if answer["signal"] is not None:
        name = signal.Signals(answer["signal"]).name
        meaning = {
            "SIGSEGV": _("a segmentation fault"),
            "SIGABRT": _("an abort"),
            "SIGKILL": _("killed (out of memory?)"),
            "SIGBUS": _("a bus error"),
            "SIGFPE": _("a floating-point exception"),
        }.get(name, name)
        return _("the check process crashed: {meaning} ({signal})").format(
            meaning=meaning, signal=name)  # fmt: skip
    if answer["exit_code"] == 0:
        return _("the check process exited in the middle of a check (os._exit or similar?)")
    detail = log_tail.strip().splitlines()[-1] if log_tail.strip() else ""
    return _("the check process exited unexpectedly (code {code}) {detail}").format(
        code=answer["exit_code"], detail=detail).strip()  # fmt: skip


def run_checks(
    exercise_ids: list[str],
    target: Path,
    *,
    worker: Worker | None = None,
    catalogue: Catalogue | None = None,
    test_timeout: float = TEST_TIMEOUT_S,
    memory_mb: int = MEMORY_MB,
) -> dict[str, Verdict]:
    """Grade ``exercise_ids`` (in that order) on the code in ``target``.

    One forked child runs all requested check modules. If it dies (crash, outer timeout),
    the exercise that was running is given an error verdict and the rest are graded again in
    a fresh child, so one broken exercise never hides the others' verdicts.
    """
    catalogue = catalogue or load_catalogue()
    own_worker = worker is None
    worker = worker or Worker()
    verdicts: dict[str, Verdict] = {}
    remaining = list(exercise_ids)
    try:
        with tempfile.TemporaryDirectory(prefix="bertprep-") as tmp:
            attempt = 0
            while remaining:
                attempt += 1
                results = Path(tmp) / f"results-{attempt}.jsonl"
                log = Path(tmp) / f"log-{attempt}.txt"
                request = {
                    "checks": [str(catalogue.get(i).check_file) for i in remaining],
                    "target": str(target),
                    "results": str(results),
                    "log": str(log),
                    "workdir": tmp,
                    "test_timeout": test_timeout,
                    "run_timeout": RUN_TIMEOUT_BASE_S + RUN_TIMEOUT_PER_EXERCISE_S * len(remaining),
                    "memory_mb": memory_mb,
                    "output_mb": OUTPUT_MB,
                }
                answer = worker.run(request)
                records = _read_records(results)
                by_exercise: dict[str, list[dict]] = {i: [] for i in remaining}
                for record in records:
                    by_exercise.setdefault(record.get("exercise", ""), []).append(record)
                last = records[-1] if records and records[-1].get("event") == "start" else None
                # A check that started and never reported means the child died inside it,
                # even when the exit code looks normal (os._exit(0) in learner code).
                crashed = answer["timed_out"] or answer["exit_code"] not in (0, 1) or bool(last)
                if not crashed:
                    for exercise_id in remaining:
                        verdicts[exercise_id] = aggregate(
                            exercise_id, by_exercise[exercise_id], catalogue
                        )
                    break
                # Check modules run in order: those before the one that was running when the
                # child died are complete, that one gets the crash, the rest run again.
                log_tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                culprit = last.get("exercise") if last else None
                if culprit not in remaining:
                    for exercise_id in remaining:
                        verdicts[exercise_id] = Verdict(
                            exercise_id, "error", message=_crash_message(answer, log_tail)
                        )
                    break
                position = remaining.index(culprit)
                for exercise_id in remaining[:position]:
                    verdicts[exercise_id] = aggregate(
                        exercise_id, by_exercise[exercise_id], catalogue
                    )
                verdict = aggregate(culprit, by_exercise[culprit], catalogue)
                verdict.status = "error"
                verdict.message = _crash_message(answer, log_tail)
                verdict.check = last.get("title") or last.get("nodeid", "").split("::")[-1]
                verdict.diagnosis = verdict.diagnosis_text = None
                verdicts[culprit] = verdict
                remaining = remaining[position + 1 :]
    finally:
        if own_worker:
            worker.close()
    return {i: verdicts[i] for i in exercise_ids}
