"""The pytest plugin inside the grading child: one record per check, over a private channel.

It writes one JSON line when a check starts (so a crash can be pinned on the check that was
running) and one when it ends, classifying the outcome in the learner's terms
(``outcomes.classify``). After a stub, a time limit or a file that does not import, the rest
of that exercise's checks are not run: they would only say the same thing again, slowly.

The records travel over a pipe the worker opened before forking (``Channel``): no
environment variable or file path names it, and every line carries the run's nonce, which
the parent checks. The plugin is an object created in the child with its collaborators
bound at creation, so reassigning names in this module from learner code changes nothing.

Each check runs under two timers: CPU time (``ITIMER_PROF``: a busy machine never turns
correct code into "an infinite loop") and a generous wall-clock backstop (``ITIMER_REAL``,
for code that sleeps or waits); and the kernel ends the process a few CPU seconds past the
limit (``RLIMIT_CPU``), for a loop in native code that no Python signal handler interrupts.

After collection, each exercise's checks run in a fork of their own (``forks``).
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import resource
import select
import signal
import time
import types
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.i18n import _
from grader.sandbox.failure import forget_failures
from grader.sandbox.forks import run_exercises
from grader.sandbox.outcomes import CheckTimeout, classify, safe_text

WALL_FACTOR, WALL_EXTRA_S = 3.0, 30.0  # wall-clock backstop: 3 x the CPU limit + 30 s
CPU_GRACE_S = 5  # past a check's CPU limit, the kernel ends the process (a loop in C code)
MAX_FIELD = 2000  # characters of any one record field
MAX_LINE = min(getattr(select, "PIPE_BUF", 4096), 4096)  # bytes: one atomic write
_RECORD = pytest.StashKey[dict]()
FAILURES = frozenset({"failed", "error", "not_started", "skipped", "not_run"})


class GradedFailure(Exception):
    """What pytest sees in place of the learner's exception (already classified): pytest
    then never formats the learner's exception, whose str() may fail or be megabytes."""


class Channel:
    """Records to the worker: JSON lines on an inherited pipe, each tagged with the nonce
    (and with the exercise being graded, when a record does not name one)."""

    def __init__(self, fd: int, nonce: str):
        self._fd = fd
        self._nonce = nonce
        self._dumps, self._os_write = json.dumps, os.write  # bound before learner code runs
        self.exercise: str | None = None  # set in each exercise's fork

    def _line(self, record: dict) -> bytes:
        return (self._dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "replace")

    def write(self, record: dict) -> None:
        """One line, at most PIPE_BUF bytes: a single write, which the kernel never
        interleaves with another exercise's (exercises may run side by side)."""
        record = {
            k: (v[:MAX_FIELD] if isinstance(v, str) else v) for k, v in record.items()
        } | {"nonce": self._nonce}
        record.setdefault("exercise", self.exercise)
        data = self._line(record)
        for shortest in (300, 40):  # shorten the longest texts, drop what is not text...
            while len(data) > MAX_LINE:
                texts = [k for k, v in record.items()
                         if isinstance(v, str) and len(v) > shortest + 1]  # (each pass shrinks)
                if not texts:
                    break
                longest = max(texts, key=lambda k: len(record[k]))
                record[longest] = record[longest][: max(shortest, len(record[longest]) // 2)]
                record[longest] += "…"
                data = self._line(record)
            if len(data) > MAX_LINE:
                record = {k: v for k, v in record.items()
                          if isinstance(v, str | int | float | bool) or v is None}  # fmt: skip
                data = self._line(record)
        if len(data) > MAX_LINE:  # (a record of hundreds of fields: a bug, said plainly)
            data = self._line({k: record.get(k) for k in ESSENTIAL})
        try:
            while data:
                data = data[self._os_write(self._fd, data) :]
        except OSError as err:  # the learner closed it: the parent sees records missing
            if err.errno not in (errno.EBADF, errno.EPIPE):
                raise


ESSENTIAL = ("event", "status", "exercise", "nonce", "nodeid", "title", "kind", "message",
             "diagnosis", "location")  # fmt: skip


def exercise_of(item: pytest.Item, names: dict[str, str] | None = None) -> str:
    """The exercise a check belongs to: as the request names its check module, else the
    module's name without ``check_``."""
    path = str(item.path)
    return (names or {}).get(path) or Path(path).stem.removeprefix("check_")


def title_of(item: pytest.Item) -> str:
    doc = getattr(item.function, "__doc__", None) or ""
    first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    # Titles are message ids of the gettext catalogue (grader/dev/translations.py extracts them).
    return _(first) if first else item.name.removeprefix("test_").replace("_", " ")


def private_copy(function: Callable) -> Callable:
    """``function`` with its own copy of its module's namespace (functions in it re-bound to
    the copy): reassigning names in that module later does not change what it does."""
    namespace = dict(function.__globals__)
    for name, value in list(namespace.items()):
        if isinstance(value, types.FunctionType) and value.__globals__ is function.__globals__:
            namespace[name] = types.FunctionType(
                value.__code__, namespace, value.__name__, value.__defaults__, value.__closure__
            )
            namespace[name].__kwdefaults__ = value.__kwdefaults__
    return namespace[function.__name__]


class GradingPlugin:
    def __init__(
        self,
        channel: Channel,
        *,
        target_dir: str,
        cpu_limit: float,
        enter_exercise: Callable[[str], None] = lambda exercise: None,
        after_check: Callable[[], None] = lambda: None,
        parallel: int = 1,
        exercise_wall_s: float = 600.0,
        names: dict[str, str] | None = None,
    ):
        # Bound now, on purpose (see the module docstring).
        self._channel = channel
        self._write = channel.write
        self._classify = private_copy(classify)
        self._outcomes = FAILURES
        self._target_dir = target_dir
        self._cpu_limit = cpu_limit
        self._after_check = after_check
        self._enter_exercise = enter_exercise
        self._parallel = parallel
        self._exercise_wall_s = exercise_wall_s
        self._stopped: dict[str, str] = {}
        self._run_exercises = run_exercises
        self._names = dict(names or {})  # check module path -> exercise id

    def _limit(self, item: pytest.Item) -> float:
        marker = item.get_closest_marker("timeout")
        return float(marker.args[0]) if marker and marker.args else self._cpu_limit

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        counts: dict[str, int] = {}
        for item in session.items:
            exercise = exercise_of(item, self._names)
            counts[exercise] = counts.get(exercise, 0) + 1
        for exercise, count in counts.items():
            self._write({"event": "collected", "exercise": exercise, "count": count})

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        """Each exercise's checks in a fork of this session (see ``forks``)."""
        groups: dict[str, list[pytest.Item]] = {}
        for item in session.items:
            groups.setdefault(exercise_of(item, self._names), []).append(item)

        def body(exercise: str, items: list[pytest.Item]) -> Callable[[], int]:
            def run() -> int:
                self._channel.exercise = exercise
                self._enter_exercise(exercise)
                for index, item in enumerate(items):
                    following = items[index + 1] if index + 1 < len(items) else None
                    item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
                return 0

            return run

        # What collection built (check modules, pytest's nodes) lives as long as the forks:
        # their garbage collections skip it instead of touching (and copying) every page that
        # holds it. (No gc.collect() first: a full pass costs more than one exercise gains.)
        gc.freeze()
        self._run_exercises([(exercise, body(exercise, items)) for exercise, items in
                             groups.items()], self._write, parallel=self._parallel,
                            wall_s=self._exercise_wall_s)  # fmt: skip
        return True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self, nodeid: str, location) -> None:
        self._write({"event": "start", "nodeid": nodeid})  # (the channel names the exercise)

    def _guarded(self, item: pytest.Item, phase: str):
        """Run a phase of one check under the timers; classify what it raises."""
        cpu = self._limit(item)
        wall = WALL_FACTOR * cpu + WALL_EXTRA_S

        def on_cpu(signum, frame):
            raise CheckTimeout("cpu", cpu)

        def on_wall(signum, frame):
            raise CheckTimeout("wall", wall)

        forget_failures()
        used = resource.getrusage(resource.RUSAGE_SELF)
        with contextlib.suppress(ValueError, OSError):  # the kernel's backstop for this check
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            soft = int(used.ru_utime + used.ru_stime + cpu + CPU_GRACE_S) + 1
            resource.setrlimit(resource.RLIMIT_CPU, (min(soft, hard), hard))
        signal.signal(signal.SIGPROF, on_cpu)
        signal.signal(signal.SIGALRM, on_wall)
        signal.setitimer(signal.ITIMER_PROF, cpu)
        signal.setitimer(signal.ITIMER_REAL, wall)
        try:
            return (yield)
        except BaseException as exc:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)
            module = getattr(getattr(item, "module", None), "MODULE", None)
            record = self._classify(exc, exc.__traceback__, phase=phase,
                                    target_dir=self._target_dir, module=module)  # fmt: skip
            if not isinstance(record, dict) or record.get("status") not in self._outcomes:
                record = dict(status="error", message=_(  # something raised: never a pass
                    "the grader could not tell what your code raised ({kind})").format(
                    kind=type(exc).__name__))  # fmt: skip
            item.stash[_RECORD] = record
            if record["status"] == "not_run":
                raise  # the grader's own skip: pytest reports it as a skip
            raise GradedFailure(record.get("message", "")) from None
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.setitimer(signal.ITIMER_REAL, 0)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item):
        reason = self._stopped.get(exercise_of(item, self._names))
        if reason:
            item.stash[_RECORD] = dict(status="not_run", message=reason)
            pytest.skip(reason)
        return (yield from self._guarded(item, "setup"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        return (yield from self._guarded(item, "call"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        if call.when not in ("setup", "call"):
            return report
        record = item.stash.get(_RECORD, None)
        if record is not None:
            del item.stash[_RECORD]
        elif call.excinfo is not None:  # raised outside our phases (another plugin's hook)
            record = self._classify(call.excinfo.value, call.excinfo.tb, phase=call.when,
                                    target_dir=self._target_dir, module=None)  # fmt: skip
        elif call.when == "call":
            record = dict(status="passed")
        if record is None:
            return report
        exercise = exercise_of(item, self._names)
        record.update(
            event="result",
            exercise=exercise,
            nodeid=item.nodeid,
            test=item.name,
            title=title_of(item),
            duration=round(call.duration, 4),
            time=time.time(),
        )
        self._write(record)
        if record["status"] == "not_started" or record.get("kind") in ("timeout", "import"):
            self._stopped[exercise] = _("skipped after: {message}").format(
                message=safe_text(record.get("message", ""))
            )
        self._after_check()
        return report
