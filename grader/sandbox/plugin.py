"""pytest plugin loaded into the grading child process.

It writes one JSON line per check as soon as the check ends (and one when it starts, so a
crash can be pinned on the check that was running), classifying each outcome in the
learner's terms: passed, failed (with expected/got/diagnosis), not_started (the stub still
raises NotImplementedError), error (timeout, memory limit, a file that does not import).
After a stub or a timeout, the rest of that exercise's checks are skipped: they would only
say the same thing again, slowly.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import time
import traceback
from pathlib import Path

import pytest

from grader.i18n import _
from grader.sandbox.failure import CheckFailure

RESULTS_ENV = "BERTPREP_RESULTS"
TEST_TIMEOUT_ENV = "BERTPREP_TEST_TIMEOUT"
DEFAULT_TEST_TIMEOUT_S = 20.0


class CheckTimeout(BaseException):
    """Raised by the alarm when a check runs too long.

    A BaseException on purpose: hypothesis treats Exception (and pytest's own Failed) as a
    failing example and starts shrinking, i.e. calls the looping code again, with the alarm
    already spent. This one goes straight through to pytest, which records it.
    """

_stopped_modules: dict[str, str] = {}


def _write(record: dict) -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()


def _exercise_of(item: pytest.Item) -> str:
    return Path(str(item.fspath)).stem.removeprefix("check_")


def _title(item: pytest.Item) -> str:
    doc = getattr(item.function, "__doc__", None) or ""
    first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    # Titles are message ids of the gettext catalogue (grader/dev/translations.py extracts them).
    return _(first) if first else item.name.removeprefix("test_").replace("_", " ")


def _learner_frame(excinfo: pytest.ExceptionInfo, target_dir: str) -> tuple[str, int] | None:
    """The innermost traceback frame inside the learner's folder: (file name, line)."""
    found = None
    for frame in traceback.extract_tb(excinfo.tb):
        if frame.filename.startswith(target_dir):
            found = (os.path.relpath(frame.filename, target_dir), frame.lineno)
    return found


def _classify(item: pytest.Item, call: pytest.CallInfo) -> dict:
    exc = call.excinfo.value
    target_dir = os.environ.get("BERTPREP_TARGET", "\0")
    frame = _learner_frame(call.excinfo, target_dir)
    location = f"{frame[0]}:{frame[1]}" if frame else None
    module = item.module.MODULE if hasattr(item, "module") else None

    if isinstance(exc, NotImplementedError):
        if frame and Path(frame[0]).stem != module:
            other = Path(frame[0]).stem
            return dict(
                status="failed",
                message=_("this exercise uses your {module}.py, which still raises "
                          "NotImplementedError: finish that exercise first").format(module=other),
                location=location,
                blocked_by=other,
            )
        return dict(
            status="not_started", message=_("not started (the stub raises NotImplementedError)")
        )
    if isinstance(exc, CheckFailure):
        return dict(
            status="failed",
            message=exc.message,
            inputs=exc.inputs,
            expected=exc.expected,
            got=exc.got,
            diagnosis=exc.diagnosis,
            location=location,
        )
    text = str(exc)
    if isinstance(exc, CheckTimeout):
        message = (
            _("took longer than {seconds}s: an infinite loop or a very slow path (last seen at "
              "{location})") if location
            else _("took longer than {seconds}s: an infinite loop or a very slow path")
        ).format(seconds=text, location=location)
        return dict(
            status="error",
            kind="timeout",
            message=message,
            location=location,
        )
    if isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in text
    ):
        return dict(
            status="error",
            kind="memory",
            message=_("ran out of memory (over the grader's limit): look for a tensor that "
                      "grows with every step or a shape that is far too large"),
            location=location,
        )
    if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
        return dict(
            status="error",
            kind="output",
            message=_("printed far too much output (over the grader's limit): remove the "
                      "prints inside loops"),
            location=location,
        )
    if call.when == "setup":
        kind = type(exc).__name__
        detail = text.strip().splitlines()[0] if text.strip() else ""
        if isinstance(exc, SyntaxError):
            where = f"{Path(exc.filename or '?').name}:{exc.lineno}"
            return dict(
                status="error",
                kind="import",
                message=_("your file does not parse: SyntaxError at {where}: {error}").format(
                    where=where, error=exc.msg),
                location=where,
            )
        return dict(
            status="error",
            kind="import",
            message=_("your file could not be imported: {kind}: {detail}").format(
                kind=kind, detail=detail),
            location=location,
        )
    if isinstance(exc, AssertionError):
        return dict(status="failed", message=text.strip().splitlines()[0], location=location)
    first_line = text.strip().splitlines()[0] if text.strip() else ""
    message = (
        _("your code raised {kind} at {location}: {detail}") if location
        else _("your code raised {kind}: {detail}")
    ).format(kind=type(exc).__name__, location=location, detail=first_line)
    return dict(
        status="failed",
        message=message,
        location=location,
    )


def pytest_runtest_logstart(nodeid: str, location) -> None:
    _write({"event": "start", "nodeid": nodeid, "exercise": Path(location[0]).stem[6:]})


def _time_limit(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker and marker.args:
        return float(marker.args[0])
    return float(os.environ.get(TEST_TIMEOUT_ENV, DEFAULT_TEST_TIMEOUT_S))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Run one check under a SIGALRM time limit (the grading child's main thread)."""
    seconds = _time_limit(item)

    def on_alarm(signum, frame):
        raise CheckTimeout(f"{seconds:g}")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = _stopped_modules.get(_exercise_of(item))
    if reason:
        pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    exercise = _exercise_of(item)
    record = None
    if call.excinfo is not None and call.when in ("setup", "call"):
        if call.excinfo.errisinstance(pytest.skip.Exception):
            record = dict(status="skipped", message=str(call.excinfo.value))
        else:
            record = _classify(item, call)
    elif call.when == "call":
        record = dict(status="passed")
    if record is not None:
        record.update(
            event="result",
            exercise=exercise,
            nodeid=item.nodeid,
            test=item.name,
            title=_title(item),
            duration=round(call.duration, 4),
            time=time.time(),
        )
        _write(record)
        if record["status"] == "not_started" or record.get("kind") in ("timeout", "import"):
            _stopped_modules[exercise] = _("skipped after: {message}").format(
                message=record["message"])
    return report
