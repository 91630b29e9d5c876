"""From the records of one grading run to one verdict per exercise.

A verdict is one of:

- ``passed``: every check of the exercise ran and passed (nothing skipped, nothing missing);
- ``failed``: the first failing check, expected vs got, a diagnosis when it is a known mistake;
- ``not_started``: the stub still raises NotImplementedError;
- ``error``: a time or memory limit, a crash, a file that does not import;
- ``skipped``: the learner's code skipped checks (pytest.skip, unittest.SkipTest);
- ``borrowed``: the code imports or calls the answer (graded, shown, never counted as passed);
- ``tampered``: the run changed the grader's own files or forged its results: no verdict.

Only ``passed`` is ever a pass.
"""

from __future__ import annotations

import signal
from dataclasses import asdict, dataclass

from grader.catalogue import Catalogue
from grader.i18n import _, ngettext
from grader.sandbox.snapshot import RESTORE_COMMAND

STATUSES = ("passed", "failed", "not_started", "error", "skipped", "borrowed", "tampered")


@dataclass
class Verdict:
    id: str
    status: str  # one of STATUSES
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
    digest: str | None = None  # of the exercise file's bytes that were graded
    borrowed: tuple[str, ...] = ()  # what the code used from the answer, where
    grid: dict | None = None  # where the error lives (see outcomes._grid), for the heat-map

    def to_json(self) -> dict:
        return asdict(self)


def aggregate(
    exercise_id: str, records: list[dict], catalogue: Catalogue, collected: int | None = None
) -> Verdict:
    """One verdict from the per-check records of one exercise (in the order they ran).

    ``collected``: how many checks the exercise has; a pass needs that many passed checks.
    """
    results = [r for r in records if r.get("event") == "result"]
    passed = sum(r.get("status") == "passed" for r in results)
    total = max(collected or 0, len(results))
    seconds = round(sum(float(r.get("duration") or 0.0) for r in results), 3)
    verdict = Verdict(exercise_id, "passed", passed, total, seconds=seconds)
    if not results:
        verdict.status, verdict.message = "error", _("no checks ran")
        return verdict
    bad = [r for r in results if r.get("status") not in ("passed", "not_run")]
    if not bad:
        if passed == total:
            verdict.message = _("all {total} checks pass").format(total=total)
            return verdict
        verdict.status = "error"
        verdict.message = _("only {ran} of {total} checks ran: the run stopped early (did "
                            "your code call pytest.exit() or end the process?)").format(
            ran=passed, total=total)  # fmt: skip
        return verdict
    first_bad = bad[0]
    if first_bad["status"] == "not_started" and passed == 0:
        verdict.status = "not_started"
        verdict.message = _("not started: the stub still raises NotImplementedError")
        return verdict
    failures = [r for r in bad if r["status"] in ("failed", "not_started")]
    # A time limit hit after a check had already failed does not hide that failure (and its
    # diagnosis); a file that does not import, a memory or output limit, does.
    errors = [r for r in bad if r["status"] == "error" and not (
        r.get("kind") == "timeout" and failures and bad.index(failures[0]) < bad.index(r))]
    failure = errors[0] if errors else failures[0] if failures else first_bad
    verdict.status = "error" if errors else "failed" if failures else "skipped"
    if failure["status"] == "not_started":
        failure = {
            **failure,
            "message": _("part of this exercise is still a stub (raises NotImplementedError)"),
        }
    verdict.message = str(failure.get("message", ""))
    if failure.get("note"):
        verdict.message += f" ({failure['note']})"
    verdict.check = failure.get("title")
    for key in ("inputs", "expected", "got", "location", "diagnosis", "grid"):
        setattr(verdict, key, failure.get(key))
    if verdict.diagnosis in catalogue.mistakes:
        verdict.diagnosis_text = catalogue.mistakes[verdict.diagnosis].sentence()
    return verdict


def crash_message(answer: dict, log_tail: str) -> str:
    if answer.get("stopped") == "cpu":
        return _("the check used far more CPU time than its limit and was stopped (an infinite "
                 "loop in native code, or a signal handler of yours?)")  # fmt: skip
    if answer.get("stopped") == "wall" or answer.get("timed_out"):
        return _("the whole run took too long and was stopped (an infinite loop in native "
                 "code?)")  # fmt: skip
    if answer.get("signal") is not None:
        name = signal.Signals(answer["signal"]).name
        meaning = {
            "SIGSEGV": _("a segmentation fault"),
            "SIGABRT": _("an abort"),
            "SIGKILL": _("killed (out of memory?)"),
            "SIGBUS": _("a bus error"),
            "SIGFPE": _("a floating-point exception"),
            "SIGXCPU": _("over the CPU time limit of the whole run"),
        }.get(name, name)
        return _("the check process crashed: {meaning} ({signal})").format(
            meaning=meaning, signal=name)  # fmt: skip
    if answer.get("exit_code") == 0:
        return _("the check process exited in the middle of a check (os._exit or similar?)")
    lines = log_tail.strip().splitlines()
    detail = lines[-1][:300] if lines else ""
    return _("the check process exited unexpectedly (code {code}) {detail}").format(
        code=answer.get("exit_code"), detail=detail).strip()  # fmt: skip


def borrowed_verdict(verdict: Verdict, findings: list[str]) -> Verdict:
    """The verdict of code that uses the answer: graded (the learner sees how it did), never
    a pass."""
    outcome = (
        _("its checks pass ({passed}/{total}), but they tested the answer, not your code")
        if verdict.status == "passed"
        else _("its checks say: {message}")
    ).format(passed=verdict.passed, total=verdict.total, message=verdict.message)
    verdict.status = "borrowed"
    verdict.borrowed = tuple(findings)
    shown = "; ".join(findings[:3]) + ("; …" if len(findings) > 3 else "")
    verdict.message = _("your code uses the answer instead of its own: {what}. Write this "
                        "part yourself; {outcome}").format(what=shown, outcome=outcome)
    return verdict


def tampered_verdict(
    exercise_id: str,
    changed: list[str] | None = None,
    forged: str | None = None,
    graded_earlier: bool = False,
) -> Verdict:
    """No verdict: the run changed the grader's files, or something forged its results."""
    if graded_earlier:
        message = _("not graded: another exercise in this run changed the grader's files. "
                    "Restore them with `{command}`, then check again").format(
            command=RESTORE_COMMAND)  # fmt: skip
    elif changed:
        shown = ", ".join(changed[:4]) + (
            " " + ngettext("and {n} more file", "and {n} more files", len(changed) - 4).format(
                n=len(changed) - 4) if len(changed) > 4 else "")  # fmt: skip
        message = _("not graded: while this exercise was checked, files the grader relies on "
                    "changed ({files}). Restore them with `{command}`, then check again").format(
            files=shown, command=RESTORE_COMMAND)  # fmt: skip
    else:
        message = _("not graded: the results of this run did not come from the grader's own "
                    "checks ({detail}); run the check again").format(detail=forged)  # fmt: skip
    return Verdict(exercise_id, "tampered", message=message)
