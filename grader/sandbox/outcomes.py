"""How one check's exception reads to the learner: a record (status, message, location...).

``classify`` never raises and never shows a traceback: an exception whose ``str()`` itself
fails, or whose message is megabytes long, still becomes one short sentence.

Statuses: ``passed``, ``failed`` (with expected/got/diagnosis when a check says so),
``not_started`` (the stub raises NotImplementedError), ``error`` (time or memory limit, a file
that does not import), ``skipped`` (the learner's code skipped the check: never a pass) and
``not_run`` (the grader skipped it after an earlier failure said it all).
"""

from __future__ import annotations

import bdb
import errno
import os
import traceback
import unittest
from pathlib import Path

import pytest

from grader.i18n import _
from grader.sandbox.failure import CheckFailure, first_failure

MAX_TEXT = 400  # characters of a learner-controlled text shown in a verdict


class CheckTimeout(BaseException):
    """Raised by the timers when a check runs too long.

    A BaseException on purpose: hypothesis treats Exception (and pytest's own Failed) as a
    failing example and starts shrinking, i.e. calls the looping code again, with the timer
    already spent. This one goes straight through to pytest, which records it.
    """

    def __init__(self, kind: str, seconds: float):
        super().__init__(f"{seconds:g}")
        self.kind = kind  # "cpu" or "wall"
        self.seconds = seconds


class InputRequested(EOFError):
    """Raised by ``input()`` and ``breakpoint()`` in the grading child (stdin is /dev/null)."""


def safe_text(value: object, limit: int = MAX_TEXT) -> str:
    """``str(value)``, first line only, at most ``limit`` characters; never raises."""
    try:
        text = value if isinstance(value, str) else str(value)
    except BaseException as err:  # a broken __str__ is the learner's, not ours
        return _("(its message cannot be shown: str() raised {kind})").format(
            kind=type(err).__name__)  # fmt: skip
    if not isinstance(text, str):
        return ""
    head = text[: limit * 4].strip()
    first = head.splitlines()[0] if head else ""
    if len(first) > limit or len(text) > len(head) or "\n" in head:
        cut = first[:limit].rstrip()
        return cut + ("…" if len(cut) < len(text.strip()) else "")
    return first


def learner_frame(tb, target_dir: str) -> tuple[str, int] | None:
    """The innermost traceback frame inside the learner's folder: (file name, line)."""
    found = None
    prefix = target_dir.rstrip(os.sep) + os.sep
    for frame, line in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if filename.startswith(prefix):
            found = (os.path.relpath(filename, target_dir), line)
    return found


def _from_failure(exc: CheckFailure, location: str | None) -> dict:
    return dict(
        status="failed",
        message=safe_text(exc.message, 2000),
        inputs=safe_text(exc.inputs, 2000) if exc.inputs else None,
        expected=safe_text(exc.expected, 2000) if exc.expected else None,
        got=safe_text(exc.got, 2000) if exc.got else None,
        diagnosis=exc.diagnosis,
        location=location,
        grid=_grid(getattr(exc, "grid", None)),
    )


GRID_LIMIT = (16, 32)  # rows, columns of an error grid a record may carry


def _grid(grid: object) -> dict | None:
    """An error grid as plain, bounded data (numbers and short labels), or None."""
    try:
        rows, columns = GRID_LIMIT
        values = [[float(v) for v in row[:columns]] for row in grid["values"][:rows]]
        labels = {k: safe_text(grid.get(k, ""), 80) for k in ("title", "rows", "columns")}
        steps = [int(n) for n in grid.get("steps", (1, 1))][:2]
    except (TypeError, KeyError, ValueError, AttributeError, OverflowError):
        return None
    if not values or not all(len(row) == len(values[0]) for row in values):
        return None
    return {"values": values, **labels, "steps": steps}


def _at(message_with: str, message_without: str, location: str | None, **fields) -> str:
    """The (already translated) message that names the location, or the one without."""
    return (message_with if location else message_without).format(location=location, **fields)


def _timeout(exc: CheckTimeout, location: str | None) -> dict:
    earlier = first_failure()
    if earlier is not None:  # the check had already failed: say so, with its diagnosis
        record = _from_failure(earlier, location)
        record["note"] = _("the search for a smaller failing input was cut short by the time "
                           "limit")  # fmt: skip
        return record
    if exc.kind == "wall":
        message = _at(
            _("waited more than {seconds:g}s without finishing (last seen at {location}): "
            "a sleep, a lock, or a process that never answers?"),
            _("waited more than {seconds:g}s without finishing: a sleep, a lock, or a process "
            "that never answers?"), location, seconds=exc.seconds)  # fmt: skip
    else:
        message = _at(
            _("took longer than {seconds:g}s of CPU time: an infinite loop or a very slow path "
            "(last seen at {location})"),
            _("took longer than {seconds:g}s of CPU time: an infinite loop or a very slow path"),
            location, seconds=exc.seconds)  # fmt: skip
    return dict(status="error", kind="timeout", message=message, location=location)


def _skip(exc: BaseException, location: str | None, module: str | None) -> dict:
    if location is None:  # the grader's own skip, after an earlier failure said it all
        return dict(status="not_run", message=safe_text(getattr(exc, "msg", None) or exc))
    return dict(
        status="skipped",
        kind="skip",
        message=_at(
            _("your code skipped this check (pytest.skip() or unittest.SkipTest at {location}): "
            "a skipped check is not a passed one; remove the skip"),
            _("your code skipped this check (pytest.skip() or unittest.SkipTest): a skipped "
            "check is not a passed one; remove the skip"), location),
        location=location,
    )


def classify(exc: BaseException, tb, *, phase: str, target_dir: str, module: str | None) -> dict:
    """The record for a check that ended with ``exc`` (raised in ``phase``)."""
    try:
        return _classify(exc, tb, phase=phase, target_dir=target_dir, module=module)
    except BaseException as err:  # never let the learner's exception break the grader
        return dict(
            status="failed",
            message=_("your code raised {kind}, which could not be described ({error})").format(
                kind=type(exc).__name__, error=type(err).__name__),
        )


def _classify(exc: BaseException, tb, *, phase: str, target_dir: str, module: str | None) -> dict:
    frame = learner_frame(tb, target_dir)
    location = f"{frame[0]}:{frame[1]}" if frame else None
    kind = type(exc).__name__

    if isinstance(exc, CheckTimeout):
        return _timeout(exc, location)
    if isinstance(exc, pytest.skip.Exception | unittest.SkipTest):
        return _skip(exc, location, module)
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
        return _from_failure(exc, location)
    if isinstance(exc, InputRequested | bdb.BdbQuit) or (
        isinstance(exc, EOFError) and location is not None
    ):
        what = safe_text(exc, 60) if isinstance(exc, InputRequested) else _("the debugger")
        return dict(
            status="failed",
            kind="input",
            message=_at(
                _("your code waited for input ({what} at {location}), but checks run without a "
                "keyboard: remove input(), breakpoint() and pdb calls before checking"),
                _("your code waited for input ({what}), but checks run without a keyboard: "
                "remove input(), breakpoint() and pdb calls before checking"),
                location, what=what),
            location=location,
        )
    if isinstance(exc, KeyboardInterrupt):
        return dict(
            status="failed",
            kind="interrupt",
            message=_at(
                _("your code raised KeyboardInterrupt at {location}, which stops the whole "
                "program: raise an ordinary exception (ValueError, ...) instead"),
                _("your code raised KeyboardInterrupt, which stops the whole program: raise an "
                "ordinary exception (ValueError, ...) instead"), location),
            location=location,
        )
    if isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and "can't allocate memory" in safe_text(exc, 2000)
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
    detail = safe_text(exc)
    if phase == "setup":
        if isinstance(exc, SyntaxError):
            where = f"{Path(exc.filename or '?').name}:{exc.lineno}"
            return dict(
                status="error",
                kind="import",
                message=_("your file does not parse: SyntaxError at {where}: {error}").format(
                    where=where, error=safe_text(exc.msg)),
                location=where,
            )
        return dict(
            status="error",
            kind="import",
            message=_("your file could not be imported: {kind}: {detail}").format(
                kind=kind, detail=detail),
            location=location,
        )
    if isinstance(exc, AssertionError) and location is None:
        return dict(status="failed", message=detail, location=location)
    message = _at(_("your code raised {kind} at {location}: {detail}"),
                  _("your code raised {kind}: {detail}"), location, kind=kind, detail=detail)
    return dict(status="failed", message=message, location=location)
