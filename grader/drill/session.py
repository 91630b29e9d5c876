"""``bertprep drill``: write a passed exercise again, from its blank stub, against the clock.

A drill prepares its folder (``workspace.prepare``), locks hints and solutions for that
exercise, opens the learner's editor (or prints the path), and grades the folder in the warm
sandbox worker on every save that changes a file, as ``bertprep watch`` does. It ends at the
first pass, on q, or at twice its time (a pass after the time still counts, as Hard). The
result (time to pass, failing saves, passed or not) is the card's FSRS rating
(``schedule.drill_rating``), and the drill is logged with its final code in
``.bertprep/drills/log.md``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fsrs import Rating
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.catalogue import Catalogue, Exercise
from grader.drill.loop import (
    Events,
    SaveEvents,
    TimedLoop,
    folder_digest,
    grade_one,
    open_in_editor,
)
from grader.drill.schedule import default_minutes, drill_cards, drill_deck, drill_rating
from grader.drill.workspace import SOURCES, drills_dir, lock, prepare, running_drill, unlock
from grader.feedback import VERDICT_LABEL, styled
from grader.i18n import N_, _, language
from grader.interview.review import interval_text
from grader.interview.terminal import clock_text, utc_now
from grader.progress import Progress, atomic_write_text, locked
from grader.sandbox.runner import Verdict, Worker
from grader.workspace import ungradable_verdicts

LOG_FILE = "log.md"
# A rating's name in the current language (the interview's review speaks the same words).
RATING_NAMES = {Rating.Again: N_("Again"), Rating.Hard: N_("Hard"), Rating.Good: N_("Good"),
                Rating.Easy: N_("Easy")}  # fmt: skip


def rating_name(rating: Rating) -> str:
    return _(RATING_NAMES.get(rating, rating.name))


@dataclass
class DrillResult:
    exercise: Exercise
    folder: Path
    minutes: float
    started_at: datetime
    passed: bool = False
    seconds: float | None = None  # from the start to the passing save
    elapsed: float = 0.0
    failing_saves: int = 0
    ended: str = "quit"  # done | quit | time
    rating: Rating = Rating.Again
    next_due: datetime | None = None
    final_code: str = ""
    verdicts: list[str] = field(default_factory=list)  # status of every graded save


def render(console: Console, verdict: Verdict, exercise: Exercise, left: float) -> None:
    """A verdict, as ``bertprep check`` shows it, without pointing at hints (locked)."""
    counts = (_("{passed}/{total} checks").format(passed=verdict.passed, total=verdict.total)
              if verdict.total else "")  # fmt: skip
    left_text = _("{left} left").format(left=clock_text(max(0.0, left)))
    console.print(f"[bold]{exercise.id}[/]  {styled(VERDICT_LABEL, verdict.status)}  {counts} · "
                  f"{left_text}")  # fmt: skip
    if verdict.status == "passed":
        return
    # The labelled lines of `bertprep check` (same messages, so the same words in each language)
    for line, value in ((_("check: {text}"), verdict.check),
                        (_("problem: {text}"), verdict.message),
                        (_("input: {text}"), verdict.inputs),
                        (_("expected {text}"), verdict.expected),
                        (_("got      {text}"), verdict.got),
                        (_("where: {text}"), verdict.location),
                        (_("[yellow]diagnosis:[/] {text}"), verdict.diagnosis_text)):  # fmt: skip
        if value:
            console.print("  " + line.format(text=escape(str(value))))


class Drill:
    def __init__(self, console: Console, exercise: Exercise, folder: Path, minutes: float,
                 worker: Worker, catalogue: Catalogue, *, clock: Callable[[], float],
                 time_limit: float | None = None):  # fmt: skip
        self.console, self.exercise, self.folder = console, exercise, folder
        self.minutes, self.worker, self.catalogue = minutes, worker, catalogue
        self.clock, self.time_limit = clock, time_limit
        self.started = clock()
        self.deadline = self.started + minutes * 60

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.py"))

    def run(self, result: DrillResult, events: Events, stdin_is_terminal: bool = False) -> None:
        counted = folder_digest(self.files())  # Enter on code already graded is not a save

        def grade() -> bool:
            nonlocal counted
            verdict = ungradable_verdicts([self.exercise], self.folder).get(self.exercise.id)
            if verdict is None:
                verdict = grade_one(self.exercise.id, self.folder, self.worker, self.catalogue,
                                    self.time_limit)  # fmt: skip
            self.console.rule(f"{self.exercise.id} · {time.strftime('%H:%M:%S')}")
            render(self.console, verdict, self.exercise, self.deadline - self.clock())
            result.verdicts.append(verdict.status)
            if verdict.status == "passed":
                result.passed, result.seconds = True, self.clock() - self.started
                return True
            current = folder_digest(self.files())
            if current != counted:
                counted = current
                result.failing_saves += 1
            return False

        def hint() -> None:
            self.console.print(_("[yellow]Hints are locked until the drill ends.[/]"))

        def time_up() -> bool:
            self.console.print(_("[yellow]Time is up. Keep going if you like: a pass from now "
                                 "on rates {hard}. q stops the drill.[/]").format(
                                     hard=rating_name(Rating.Hard)))  # fmt: skip
            return False

        loop = TimedLoop(self.clock, self.deadline, self.started + 2 * self.minutes * 60)
        result.ended = loop.run(events, files=self.files, grade=grade, hint=hint, time_up=time_up,
                                stdin_is_terminal=stdin_is_terminal)  # fmt: skip
        result.elapsed = self.clock() - self.started


def log_entry(result: DrillResult) -> str:
    local = result.started_at.astimezone()
    limit = clock_text(result.minutes * 60)
    due = f"{result.next_due.astimezone():%Y-%m-%d %H:%M}" if result.next_due else "-"
    if result.passed:
        outcome = _("- passed in {time} of {limit} · failing saves: {saves} · next drill: {due}")
        spent = clock_text(result.seconds or 0)
    else:
        outcome = _("- not passed ({time} spent of {limit}) · failing saves: {saves} · next "
                    "drill: {due}")  # fmt: skip
        spent = clock_text(result.elapsed)
    return "\n".join([
        f"## {local:%Y-%m-%d %H:%M} · {result.exercise.id} · {rating_name(result.rating)}", "",
        outcome.format(time=spent, limit=limit, saves=result.failing_saves, due=due),
        _("- folder: `{folder}`").format(folder=result.folder), "",
        "```python", result.final_code.rstrip(), "```", "", "",
    ])  # fmt: skip


def conclude(console: Console, result: DrillResult, now: datetime) -> None:
    """Rate the card, log the drill, say how it went."""
    result.rating = drill_rating(result.passed, result.seconds, result.minutes * 60,
                                 result.failing_saves)  # fmt: skip
    deck = drill_deck()
    entry = deck.rate(result.exercise.id, result.rating, now)
    deck.save()
    result.next_due = entry.card.due
    try:
        path = result.folder / result.exercise.file
        result.final_code = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        result.final_code = _("(the file could not be read)")
    log = drills_dir() / LOG_FILE
    with locked(log):
        before = log.read_text(encoding="utf-8") if log.exists() else _("# Drills") + "\n\n"
        atomic_write_text(log, before + log_entry(result))
    if result.passed:
        outcome = _("[bold]Passed in {time} of {limit}, {saves} failing saves: rated {rating}.[/] "
                    "The next drill of {id} is due {when}. Logged in {log}.")  # fmt: skip
    else:
        outcome = _("[bold]Not passed, {saves} failing saves: rated {rating}.[/] The next drill "
                    "of {id} is due {when}. Logged in {log}.")  # fmt: skip
    console.print(outcome.format(
        time=clock_text(result.seconds or 0), limit=clock_text(result.minutes * 60),
        saves=result.failing_saves, rating=rating_name(result.rating), id=result.exercise.id,
        when=f"{entry.card.due.astimezone():%Y-%m-%d %H:%M}", log=escape(str(log))))  # fmt: skip


def run_drill(console: Console, exercise: Exercise, catalogue: Catalogue, *,
              minutes: float | None = None, events: Events | None = None,
              worker: Worker | None = None, clock: Callable[[], float] = time.monotonic,
              now: Callable[[], datetime] = utc_now, time_limit: float | None = None,
              editor: bool = True, stdin_is_terminal: bool = False) -> DrillResult:  # fmt: skip
    """A whole drill of ``exercise``; ``events`` / ``worker`` default to the real ones."""
    minutes = minutes or default_minutes(exercise)
    folder, pieces = prepare(exercise, catalogue, Progress.load())
    result = DrillResult(exercise, folder, minutes, now())
    path = folder / exercise.file
    console.print(_("[bold]Drill: {title}[/] ({id}). Write {path} again from its blank stub in "
                    "{minutes:g} minutes.").format(title=escape(exercise.text("title")),
                                                   id=exercise.id, path=escape(str(path)),
                                                   minutes=minutes))  # fmt: skip
    for piece in pieces[1:]:
        console.print(f"  {piece.file}: {_(SOURCES[piece.kind])}")
    console.print(_("Each save is graded. Hints and solutions are locked until the drill ends. "
                    "Enter: grade now · q: stop."))  # fmt: skip
    if editor:
        open_in_editor(console, path)
    lock(exercise.id, folder)
    try:
        own_worker = worker is None
        if own_worker:
            console.print(_("[dim]starting the grading worker...[/]"))
            worker = Worker()
        try:
            drill = Drill(console, exercise, folder, minutes, worker, catalogue, clock=clock,
                          time_limit=time_limit)  # fmt: skip
            if events is None:
                with SaveEvents(folder) as live:
                    drill.run(result, live, stdin_is_terminal)
            else:
                drill.run(result, events, stdin_is_terminal)
        except KeyboardInterrupt:
            result.ended = "quit"
        finally:
            if own_worker:
                worker.close()
    finally:
        unlock(exercise.id)
    conclude(console, result, now())
    return result


def choose(catalogue: Catalogue, now: datetime) -> Exercise | None:
    """The most overdue drill, None when none is due."""
    cards = drill_cards(catalogue, Progress.load(), drill_deck(), now)
    due = [card for card in cards if card.due <= now]
    return due[0].exercise if due else None


def print_list(console: Console, catalogue: Catalogue, now: datetime) -> None:
    """``bertprep drill --list``: every passed exercise's drill, soonest first."""
    cards = drill_cards(catalogue, Progress.load(), drill_deck(), now)
    if not cards:
        console.print(_("No drills yet: every exercise you pass becomes one, due a day later."))
        return
    table = Table(title=_("Drills"), title_justify="left")
    for column in (_("exercise"), _("due"), _("drilled"), _("last rating"), _("time")):
        table.add_column(column)
    ratings = {rating.name: rating for rating in Rating}
    for card in cards:
        due = ("[bold]" + _("now") + "[/]" if card.due <= now
               else interval_text(card.due, now, language()))  # fmt: skip
        last = rating_name(ratings[card.last_rating]) if card.last_rating in ratings else "-"
        table.add_row(card.exercise.id, due, str(card.drills), last,
                      _("{minutes} min").format(minutes=default_minutes(card.exercise)))
    console.print(table)
    count = sum(card.due <= now for card in cards)
    console.print(_("{count} due now. `bertprep drill` starts the most overdue one; `bertprep "
                    "drill ID` drills any passed exercise now.").format(count=count))


def drill_command(console: Console, catalogue: Catalogue, exercise: Exercise | None, *,
                  list_only: bool = False, minutes: float | None = None,
                  editor: bool = True) -> int:  # fmt: skip
    """``bertprep drill [ID] [--list]``; returns the exit status."""
    now = utc_now()
    if list_only:
        print_list(console, catalogue, now)
        return 0
    if exercise is None:
        exercise = choose(catalogue, now)
        if exercise is None:
            cards = drill_cards(catalogue, Progress.load(), drill_deck(), now)
            if not cards:
                console.print(_("No drills yet: every exercise you pass becomes one, due a day "
                                "later."))  # fmt: skip
            else:
                console.print(_("No drill is due. The next one, {id}, is due {when}.").format(
                    id=cards[0].exercise.id,
                    when=interval_text(cards[0].due, now, language())))  # fmt: skip
            return 0
    elif not Progress.load().has_passed(exercise.id):
        console.print(_("{id} has not passed yet, and a drill writes again an exercise you have "
                        "passed: pass it first (`bertprep check {id}`).").format(id=exercise.id))
        return 1
    if running_drill(exercise.id) is not None:
        console.print(_("A drill of {id} is already running in another terminal.").format(
            id=exercise.id))
        return 1
    try:
        result = run_drill(console, exercise, catalogue, minutes=minutes, editor=editor,
                           stdin_is_terminal=sys.stdin.isatty())  # fmt: skip
    except FileNotFoundError as err:
        console.print(f"[red]{escape(str(err))}[/]")
        return 1
    return 0 if result.passed else 1
