"""Grade exercises: snapshot the code, run each exercise's checks in its own fork of the warm
worker, and turn the records into verdicts (``verdicts``).

One ``run_checks`` call:

1. copies the target's Python files into a private folder (``snapshot``): the verdicts are
   about those bytes, and carry their digest;
2. reads them for borrowed answers (``borrowing``);
3. grades each exercise in a fresh fork (a clean torch state for every exercise), with a
   nonce the records must carry, over a channel only the worker and the child hold;
4. after each exercise, compares the grader's own files with their state before it: a run
   that changed them (it wrote there, or started processes that could) gets no verdict.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from grader.catalogue import PROJECT_ROOT, Catalogue, Exercise, load_catalogue
from grader.i18n import _
from grader.sandbox import procs
from grader.sandbox.borrowing import scan
from grader.sandbox.child import exercise_log
from grader.sandbox.snapshot import Manifest, Snapshot, take_snapshot
from grader.sandbox.verdicts import (
    STATUSES,
    Verdict,
    aggregate,
    borrowed_verdict,
    crash_message,
    tampered_verdict,
)

__all__ = ["STATUSES", "Verdict", "Worker", "aggregate", "run_checks"]

TEST_TIMEOUT_S = 10  # CPU seconds of one check (one hypothesis test); a check module may
#                      raise it for itself with @pytest.mark.timeout(seconds)
RUN_CPU_S = 300  # CPU seconds of one exercise's whole run (the kernel's backstop)
RUN_WALL_S = 600  # wall-clock backstop of one exercise's run (code that sleeps, signals off)
MEMORY_MB = 2048
OUTPUT_MB = 64
WORKER_START_TIMEOUT_S = 120
ANSWER_GRACE_S = 60


class ForgedAnswer(RuntimeError):
    """The worker's channel carried something that is not this run's answer."""


class Worker:
    """A ``python -m grader.sandbox.worker`` child that stays warm between grading runs.

    ``close`` (also on Ctrl-C: any exception inside ``run`` closes it) kills the grading child's
    process group and every process below the worker, then the worker."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.child_pid: int | None = None
        self._buffer = b""
        self._lock = threading.Lock()
        self._start()

    def _start(self) -> None:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
        self._buffer = b""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "grader.sandbox.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        try:
            ready = self._read_line(WORKER_START_TIMEOUT_S)
        except BaseException:
            self.close()
            raise
        if ready is None or json.loads(ready).get("status") != "ready":
            self.close()
            raise RuntimeError(_("the grading worker did not start (is the .venv complete?)"))

    def _read_line(self, timeout: float) -> str | None:
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return None
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace")

    def _expect(self, event: str, nonce: str, timeout: float) -> dict:
        line = self._read_line(timeout)
        if line is None:
            raise RuntimeError(_("the grading worker stopped answering"))
        try:
            message = json.loads(line)
        except ValueError:
            raise ForgedAnswer(_("a line that is not the worker's")) from None
        if not isinstance(message, dict) or message.get("event") != event or (
            not secrets.compare_digest(str(message.get("nonce", "")), nonce)
        ):
            raise ForgedAnswer(_("an answer without this run's nonce"))
        return message

    def run(self, request: dict) -> dict:
        """Send one request, return its answer (``{"event": "done", ...}``)."""
        if "results" in request:  # the older request form (a results file): still served
            return self._run_with_results_file(request)
        with self._lock:
            if self.process is None or self.process.poll() is not None:
                self._start()
            try:
                self.process.stdin.write((json.dumps(request) + "\n").encode())
                self.process.stdin.flush()
                started = self._expect("started", request["nonce"], ANSWER_GRACE_S)
                self.child_pid = int(started["pid"])
                runs = max(1, len(request["checks"]))  # the session's own backstop, and then some
                return self._expect("done", request["nonce"],
                                    request["run_wall_s"] * runs + 2 * ANSWER_GRACE_S)  # fmt: skip
            except BaseException:  # Ctrl-C, a forged or missing answer: end everything
                self.close()
                raise
            finally:
                self.child_pid = None

    def _run_with_results_file(self, old: dict) -> dict:
        """``{"checks", "target", "results", "log", "workdir", "test_timeout", "run_timeout",
        "memory_mb", "output_mb"}``: records go to the ``results`` file as JSON lines."""
        nonce = secrets.token_hex(16)
        answer = self.run({
            "checks": old["checks"], "target": old["target"], "log": old["log"],
            "workdir": old["workdir"], "nonce": nonce, "cpu_s": old["test_timeout"],
            "run_cpu_s": RUN_CPU_S, "run_wall_s": old.get("run_timeout", RUN_WALL_S),
            "memory_mb": old["memory_mb"], "output_mb": old["output_mb"],
            "forbidden": old.get("forbidden", []),
        })  # fmt: skip
        records, _ = parse_records(answer["lines"], nonce)
        with open(old["results"], "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        answer["timed_out"] = answer.get("stopped") is not None
        return answer

    def close(self) -> None:
        if self.child_pid:
            procs.kill_group(self.child_pid)
        if self.process is not None:
            if self.process.poll() is None:
                procs.kill_tree(self.process.pid, include_root=True)
                procs.kill_group(self.process.pid)
            with contextlib.suppress(Exception):
                self.process.wait(timeout=5)
            for stream in (self.process.stdin, self.process.stdout):
                with contextlib.suppress(Exception):
                    stream.close()
        self.child_pid = None

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_records(lines: list[str], nonce: str) -> tuple[list[dict], str | None]:
    """The run's records, and what was wrong if any line was not one of them."""
    records, forged = [], None
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            forged = forged or _("a line that is not a record")
            continue
        if not isinstance(record, dict) or not secrets.compare_digest(
            str(record.pop("nonce", "")), nonce
        ):
            forged = forged or _("a record without this run's nonce")
            continue
        records.append(record)
    return records, forged


def cache_folder() -> Path | None:
    """``.bertprep/cache`` (``BERTPREP_HOME`` moves it): expected values worth keeping, such
    as transformers' outputs for the capstone; None when it cannot be created."""
    folder = Path(os.environ.get("BERTPREP_HOME", PROJECT_ROOT / ".bertprep")) / "cache"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def _request(exercises: list[Exercise], folder: Path, tmp: Path, nonce: str, *,
             test_timeout: float, memory_mb: int, parallel: int) -> dict:  # fmt: skip
    cache_dir = cache_folder()
    return {
        "checks": [str(exercise.check_file) for exercise in exercises],
        "exercises": {str(path): exercise.id for exercise in exercises
                      for path in (exercise.check_file, Path(exercise.check_file).resolve())},
        "target": str(folder),
        "log": str(tmp / f"log-{nonce[:8]}.txt"),
        "workdir": str(tmp),
        "nonce": nonce,
        "cpu_s": test_timeout,
        "run_cpu_s": RUN_CPU_S,
        "run_wall_s": RUN_WALL_S,
        "memory_mb": memory_mb,
        "output_mb": OUTPUT_MB,
        "forbidden": {exercise.id: list(exercise.forbidden) for exercise in exercises},
        "cache_dir": str(cache_dir) if cache_dir else None,
        "parallel": parallel,
    }


def _exercise_verdict(exercise: Exercise, records: list[dict], catalogue: Catalogue,
                      crash: dict | None, log: Path, static: list[str]) -> Verdict:  # fmt: skip
    """The verdict from one exercise's records; ``crash``: how its process ended, when that
    was not normally (or None); ``static``: borrowed answers found in its files."""
    collected = next((r.get("count") for r in records if r.get("event") == "collected"), None)
    verdict = aggregate(exercise.id, records, catalogue, collected)
    checks = [r for r in records if r.get("event") in ("start", "result")]
    last = checks[-1] if checks and checks[-1].get("event") == "start" else None
    # A check that started and never reported means the process died inside it, even when
    # the exit code looks normal (os._exit(0) in learner code).
    if crash or last:
        tail = log.read_bytes()[-2000:].decode("utf-8", "replace") if log.exists() else ""
        verdict.status = "error"
        verdict.message = crash_message(crash or {"exit_code": 0}, tail)
        if last:
            verdict.check = last.get("title") or last.get("nodeid", "").split("::")[-1]
        verdict.diagnosis = verdict.diagnosis_text = None
    seen = []  # what the run-time watch saw (what the file says comes first)
    for r in records:
        if r.get("event") == "borrowed" and f"{r.get('where')} {r.get('what')}" not in seen:
            seen.append(f"{r.get('where')} {r.get('what')}")
    if (static or seen) and verdict.status != "not_started":
        verdict = borrowed_verdict(verdict, list(static) or seen)
        verdict.borrowed = tuple(static) + tuple(seen)
    return verdict


def grade_batch(exercises: list[Exercise], snapshot: Snapshot, worker: Worker,
                catalogue: Catalogue, tmp: Path, *, test_timeout: float, memory_mb: int,
                parallel: int, findings: dict[str, list[str]] | None = None,
                ) -> tuple[dict[str, Verdict], dict[str, list[str]], list[Exercise]]:  # fmt: skip
    """Grade ``exercises`` in one session of ``worker`` (each in its own fork): their verdicts,
    what each did that could change the grader's files (writes there, processes started),
    and the exercises that never started because the session itself died. ``findings``:
    borrowed answers already found in the files, per exercise."""
    nonce = secrets.token_hex(16)
    request = _request(exercises, snapshot.folder, tmp, nonce, test_timeout=test_timeout,
                       memory_mb=memory_mb, parallel=parallel)  # fmt: skip
    try:
        answer = worker.run(request)
        records, forged = parse_records(answer["lines"], nonce)
    except ForgedAnswer as err:
        forged = str(err)
    except RuntimeError as err:  # the worker did not start, or stopped answering
        return {e.id: Verdict(e.id, "error", message=str(err)) for e in exercises}, {}, []
    if forged and len(exercises) > 1:  # which one was it? each on its own, then
        verdicts, touched, never_started = {}, {}, []
        for exercise in exercises:
            one = grade_batch([exercise], snapshot, worker, catalogue, tmp,
                              test_timeout=test_timeout, memory_mb=memory_mb, parallel=1,
                              findings=findings)  # fmt: skip
            verdicts.update(one[0])
            touched.update(one[1])
            never_started += one[2]
        return verdicts, touched, never_started
    if forged:
        return {e.id: tampered_verdict(e.id, forged=forged) for e in exercises}, {}, []
    by_exercise: dict[str, list[dict]] = {}
    for record in records:
        by_exercise.setdefault(str(record.get("exercise")), []).append(record)
    session_crash = None if answer["exit_code"] in (0, 1, 2, 5) and not answer["stopped"] else {
        key: answer.get(key) for key in ("exit_code", "signal", "stopped")}  # fmt: skip
    verdicts, touched, never_started = {}, {}, []
    for exercise in exercises:
        own = by_exercise.get(exercise.id, [])
        touched[exercise.id] = [r.get("path") or r.get("what", "") for r in own
                                if r.get("event") in ("wrote", "spawned")]  # fmt: skip
        done = next((r for r in own if r.get("event") == "exercise_done"), None)
        started = any(r.get("event") == "start" for r in own)
        if done is None and session_crash and not started:
            never_started.append(exercise)
            continue
        crash = None
        if done is not None and (done.get("exit_code") != 0 or done.get("signal") is not None
                                 or done.get("stopped")):  # fmt: skip
            crash = {key: done.get(key) for key in ("exit_code", "signal", "stopped")}
        elif done is None and started:
            crash = session_crash or {"exit_code": answer.get("exit_code")}
        static = (findings or {}).get(exercise.id, [])
        log = Path(exercise_log(request["log"], exercise.id))
        verdicts[exercise.id] = _exercise_verdict(exercise, own, catalogue, crash, log, static)
        if answer.get("overflow") and done is None:
            verdicts[exercise.id].status = "error"
    return verdicts, touched, never_started


def run_checks(
    exercise_ids: list[str],
    target: Path,
    *,
    worker: Worker | None = None,
    catalogue: Catalogue | None = None,
    test_timeout: float = TEST_TIMEOUT_S,
    memory_mb: int = MEMORY_MB,
    parallel: int | None = None,
) -> dict[str, Verdict]:
    """Grade ``exercise_ids`` on the code in ``target``: one session, one fork per exercise,
    ``parallel`` of them at a time (default: as many as there are CPUs, at most 2)."""
    catalogue = catalogue or load_catalogue()
    parallel = parallel or max(1, min(2, os.cpu_count() or 1))
    own_worker = worker is None
    worker = worker or Worker()
    verdicts: dict[str, Verdict] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bertprep-") as tmp:
            try:
                snapshot = take_snapshot(Path(target), Path(tmp) / "target")
            except OSError as err:  # a full disk, a file-size limit: nothing can be graded
                message = _(
                    "Your files could not be copied for grading ({error}): is the disk full?"
                ).format(error=err.strerror or err)
                return {i: Verdict(i, "error", message=message) for i in exercise_ids}
            cache_dir = cache_folder()
            manifest = Manifest(extra=(cache_dir,) if cache_dir else ())
            manifest.remember_contents()
            pending = []
            for exercise_id in exercise_ids:
                exercise = catalogue.get(exercise_id)
                problem = snapshot.problems.get(exercise.file)
                if problem:  # a FIFO, a file too large: not graded at all (a whole sentence)
                    verdicts[exercise_id] = Verdict(exercise_id, "error", message=problem)
                else:
                    pending.append(exercise)
            touched: dict[str, list[str]] = {}
            static = {e.id: [f.sentence() for f in scan(snapshot.folder, e.module, e.forbidden)]
                      for e in pending}  # fmt: skip
            while pending:
                graded, did, pending_next = grade_batch(
                    pending, snapshot, worker, catalogue, Path(tmp), test_timeout=test_timeout,
                    memory_mb=memory_mb, parallel=parallel, findings=static,
                )  # fmt: skip
                verdicts.update(graded)
                touched.update(did)
                if len(pending_next) == len(pending):  # no progress: the session cannot start
                    for exercise in pending_next:
                        verdicts[exercise.id] = Verdict(exercise.id, "error", message=_(
                            "the grading session stopped before this exercise ran"))  # fmt: skip
                    break
                pending = pending_next
            for exercise_id, verdict in verdicts.items():
                verdict.digest = snapshot.digests.get(catalogue.get(exercise_id).file)
            _check_the_grader(manifest, touched, verdicts, cache_dir)
    finally:
        if own_worker:
            worker.close()
    return {i: verdicts[i] for i in exercise_ids}


def _check_the_grader(manifest: Manifest, touched: dict[str, list[str]],
                      verdicts: dict[str, Verdict], cache_dir: Path | None) -> None:  # fmt: skip
    """Files under grader/, reference/, solutions/ (or the cache) that changed while the run
    wrote there or started processes: the run did it, and none of its verdicts stand. (A
    change with neither is someone else's edit, e.g. a git pull.)"""
    changed = manifest.changes()
    culprits = [exercise_id for exercise_id, what in touched.items() if what]
    if not changed or not culprits:
        return
    for exercise_id in verdicts:
        verdicts[exercise_id] = (
            tampered_verdict(exercise_id, changed=changed) if exercise_id in culprits
            else tampered_verdict(exercise_id, graded_earlier=True)
        )
    for path in changed:  # a cached expectation it wrote is not kept
        if cache_dir and Path(path).is_relative_to(cache_dir):
            with contextlib.suppress(OSError):
                Path(path).unlink()
