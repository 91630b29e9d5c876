"""One lab job with the learner's pieces, run in the sandbox (the same warm worker, forked
child and limits as grading), with its progress readable while it runs.

The job runs in a background thread of the bertprep process (``start``), so that the
reference's run can go on in the foreground at the same time; ``events`` returns what the
child reported since the last call; ``finish`` waits and returns the result, or a sentence
saying why there is none (a crash, a loop stopped by the time limit, an exception in the
learner's code: the sandbox's own verdict message).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.catalogue import Catalogue, Exercise
from grader.i18n import _
from grader.lab.check_lab import MODULE, REQUEST
from grader.sandbox.runner import Verdict, Worker, run_checks
from grader.sandbox.snapshot import take_snapshot

CHECK_FILE = Path(__file__).with_name("check_lab.py")
LAB_ID = "lab"
CPU_LIMIT_S = 280  # CPU seconds of the whole job (the default runs take well under half)
QUICK_CPU_LIMIT_S = 120


@dataclass(frozen=True)
class LabExercise(Exercise):
    """A lab job, seen by the sandbox as one more exercise with one check."""

    @property
    def check_file(self) -> Path:
        return CHECK_FILE


EXERCISE = LabExercise(
    id=LAB_ID, title="A lab run with your pieces", file=f"{MODULE}.py", blog=(),
    prerequisites=(), hints=("", "", ""), docs="", mistakes=(), summary="",
)  # fmt: skip
CATALOGUE = Catalogue(exercises=(EXERCISE,), mistakes={})


class IsolatedJob:
    """``with IsolatedJob(...) as job: job.start(); ... job.events() ...; job.finish()``."""

    def __init__(self, job: str, settings: dict, pieces: list[dict], folder: Path, *,
                 cpu_limit: float = CPU_LIMIT_S) -> None:  # fmt: skip
        self.job, self.settings, self.pieces = job, settings, pieces
        self.folder = Path(folder)
        self.cpu_limit = cpu_limit
        self.tmp = Path(tempfile.mkdtemp(prefix="bertprep-lab-"))
        self.progress_path = self.tmp / "progress.jsonl"
        self.result_path = self.tmp / "result.json"
        self.worker: Worker | None = None
        self.verdict: Verdict | None = None
        self.failure: str | None = None
        self._thread: threading.Thread | None = None
        self._offset = 0
        self._partial = b""
        self._closed = threading.Event()

    def _prepare(self) -> Path:
        target = self.tmp / "target"
        take_snapshot(self.folder, target)  # the learner's files, bounded; never run here
        request = {"job": self.job, "settings": self.settings, "pieces": self.pieces,
                   "progress": str(self.progress_path), "result": str(self.result_path),
                   "threads": 1}  # fmt: skip
        (target / REQUEST).write_text(f"LAB = {request!r}\n", encoding="utf-8")
        self.progress_path.touch()
        return target

    def _run(self) -> None:
        try:
            target = self._prepare()
            if self._closed.is_set():
                return
            self.worker = Worker()
            if self._closed.is_set():  # closed while the worker was starting
                return
            self.verdict = run_checks([LAB_ID], target, worker=self.worker, catalogue=CATALOGUE,
                                      test_timeout=self.cpu_limit)[LAB_ID]  # fmt: skip
        except Exception as err:  # the worker did not start, or was ended by close()
            self.failure = str(err) or type(err).__name__
        finally:
            if self.worker is not None:
                self.worker.close()

    def start(self) -> IsolatedJob:
        self._thread = threading.Thread(target=self._run, name="bertprep-lab", daemon=True)
        self._thread.start()
        return self

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def events(self) -> list[dict]:
        """The progress events written since the last call (complete lines only)."""
        try:
            with open(self.progress_path, "rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(1 << 20)
        except OSError:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        events = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def finish(self) -> tuple[dict | None, str | None]:
        """Wait for the job: (its result, None) or (None, why there is none)."""
        if self._thread is not None:
            self._thread.join()
        verdict = self.verdict
        if verdict is None:
            return None, _("the sandbox could not run your code: {reason}").format(
                reason=self.failure or _("it was stopped"))  # fmt: skip
        if verdict.status not in ("passed", "borrowed"):
            where = f" ({verdict.location})" if verdict.location and (
                verdict.location not in (verdict.message or "")) else ""  # fmt: skip
            return None, f"{verdict.message}{where}"
        try:
            result = json.loads(self.result_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None, _("your run ended without a result")
        if verdict.status == "borrowed":
            result["borrowed"] = verdict.message
        return (result, None) if isinstance(result, dict) else (None, _("no result"))

    def close(self) -> None:
        self._closed.set()
        if self.worker is not None:
            self.worker.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> IsolatedJob:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
