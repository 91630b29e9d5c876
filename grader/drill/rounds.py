"""The coding round of ``bertprep interview --coding-round drill|debug``.

Instead of a plain exercise, the interview ends with

- a drill: the most overdue drill (else the soonest) is prepared as ``bertprep drill`` does;
  the learner writes the stub, presses Enter, and it is graded once under the time left. The
  result rates the drill card and is logged, as a drill on its own is;
- a debug round: a fresh broken BertModel with a few bugs; Enter checks it once on the real
  weights, then the debug round's debrief (every bug, fixed or not, the docs, two follow-up
  questions) is printed and saved.

Both go through the interview's SessionIO (scripted input in tests) and return the interview's
CodingResult, so the transcript and the debrief record them like any coding round.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape
from rich.panel import Panel

from grader.debug.grading import EXERCISE as DEBUG_EXERCISE
from grader.debug.report import remaining, render_check
from grader.debug.round import DebugRound, finish
from grader.drill.schedule import drill_cards, drill_deck
from grader.drill.session import DrillResult, conclude
from grader.drill.workspace import lock, prepare, unlock
from grader.i18n import _, ngettext
from grader.interview.records import CodingResult, display_path
from grader.interview.terminal import clock_text
from grader.progress import Progress

MIN_ROUND_S = 60
GRADING_FLOOR_S = 30
INTERVIEW_BUGS = 3


def interview_round(session, turns, session_end: float, grade: Callable) -> CodingResult | None:
    """``session``: the InterviewSession; ``grade``: its grade_within(exercise, folder,
    budget, catalogue) -> CodingResult. With no passed exercise to drill, the round is a
    plain exercise, as without ``--coding-round``."""
    if session.plan.coding_round == "debug":
        return debug_round(session, session_end)
    result = drill_round(session, session_end, grade)
    if result is NOTHING_TO_DRILL:
        session.plan.coding_round = "exercise"
        return session.coding_round(turns, session_end)
    return result


def _wait(session, session_end: float, text: str) -> tuple[str, float, float, float]:
    """Show the task, wait for Enter (or the time): (reply, seconds it took, seconds it was
    given, seconds left for grading)."""
    io = session.io
    started = io.clock()
    session.console.print(Panel(text, border_style="blue"))
    deadline = max(session_end - GRADING_FLOOR_S, started + MIN_ROUND_S)
    reply = io.read_answer(deadline, session.ui["coding_instruction"])
    budget = max(session_end - io.clock(), GRADING_FLOOR_S)
    return reply.text.strip().lower(), io.clock() - started, deadline - started, budget


NOTHING_TO_DRILL = CodingResult(DEBUG_EXERCISE, Path(), "skipped")  # a marker, never shown


def drill_round(session, session_end: float, grade: Callable) -> CodingResult:
    console, io = session.console, session.io
    console.rule(_("[bold]{coding}[/]: drill").format(coding=session.ui["coding"]))
    now = io.now()
    cards = drill_cards(session.catalogue, Progress.load(), drill_deck(), now)
    if not cards:
        console.print(_("No exercise passes yet, so there is nothing to drill: this coding round "
                        "is a plain exercise instead."))  # fmt: skip
        return NOTHING_TO_DRILL
    exercise = cards[0].exercise  # soonest due, most overdue first
    folder, _pieces = prepare(exercise, session.catalogue, Progress.load())
    path = folder / exercise.file
    lock(exercise.id, folder)
    try:
        reply, seconds, limit, budget = _wait(session, session_end, _(
            "[bold]Drill: {title}[/] ({id})\nWrite {path} again from its blank stub (DRILL.md "
            "beside it says which other files are whose), then press Enter on an empty line to "
            "grade it. Hints and solutions are locked.").format(
                title=escape(exercise.text("title")), id=exercise.id,
                path=escape(display_path(path))))  # fmt: skip
        if reply == "skip":
            result = CodingResult(exercise, path, "skipped", coding_seconds=seconds)
        else:
            console.print(session.ui["grading"].format(id=exercise.id, left=clock_text(budget)))
            started = io.clock()
            result = grade(exercise, folder, budget, session.catalogue)
            result.coding_seconds, result.grading_seconds = seconds, io.clock() - started
    finally:
        unlock(exercise.id)
    drill = DrillResult(exercise, folder, limit / 60, now, passed=result.status == "passed",
                        seconds=seconds, elapsed=seconds, ended="done")  # fmt: skip
    conclude(console, drill, io.now())
    return result


def debug_round(session, session_end: float) -> CodingResult:
    from grader.debug.grading import check_file
    from grader.sandbox.runner import Worker

    console, io = session.console, session.io
    console.rule(_("[bold]{coding}[/]: debug").format(coding=session.ui["coding"]))
    minutes = max(1.0, (session_end - io.clock()) / 60)
    round_ = DebugRound.create(INTERVIEW_BUGS, session.plan.seed, minutes)
    reply, seconds, _limit, budget = _wait(session, session_end, ngettext(
        "[bold]Debug round {seed}[/]: {count} bug is hidden in {path}, a whole BertModel that "
        "loads the real weights and runs. Fix what you find, then press Enter on an empty line "
        "to have it checked on the real weights.",
        "[bold]Debug round {seed}[/]: {count} bugs are hidden in {path}, a whole BertModel that "
        "loads the real weights and runs. Fix what you find, then press Enter on an empty line "
        "to have it checked on the real weights.", len(round_.bugs)).format(
            seed=round_.seed, count=len(round_.bugs),
            path=escape(display_path(round_.path))))  # fmt: skip
    if reply == "skip":
        return CodingResult(DEBUG_EXERCISE, round_.path, "skipped", coding_seconds=seconds)
    started = time.monotonic()
    with Worker() as worker:
        result = check_file(round_.path, round_.bugs, worker, min(60.0, budget))
    render_check(console, result)
    round_.record_check(result)
    finish(console, round_, result, "done" if result.get("passed") else "time")
    left = remaining(result)
    status = "passed" if result.get("passed") else "error" if result.get("error") else "failed"
    message = (ngettext("{left} of {total} bug remains in {path}.",
                        "{left} of {total} bugs remain in {path}.", len(round_.bugs)).format(
                   left=left, total=len(round_.bugs), path=display_path(round_.path))
               if left is not None else (result.get("error") or {}).get("message", ""))
    return CodingResult(DEBUG_EXERCISE, Path(round_.path), status, message=message,
                        coding_seconds=seconds,
                        grading_seconds=time.monotonic() - started)  # fmt: skip
