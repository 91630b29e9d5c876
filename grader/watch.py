"""``bertprep watch``: a verdict on every save, from a worker that stays warm.

Saving a file in the watched folder grades that exercise again in a fresh fork of the warm
worker (torch and pytest already imported), so most verdicts arrive well under a second
after the save. Some editors write through swap files or network mounts that file-system
events miss: pressing Enter re-runs by hand.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.catalogue import PROJECT_ROOT, Catalogue, Exercise, load_catalogue
from grader.drill.workspace import running_drill
from grader.feedback import render_verdict
from grader.i18n import N_, _
from grader.progress import Progress, file_digest
from grader.sandbox.runner import Verdict, Worker, run_checks
from grader.workspace import current_status, exercise_path, next_exercise, ungradable_verdicts

KEYS_HELP = N_("Enter: re-run · h: hint · n: next exercise · q: quit")


class Watcher:
    """Grades the exercise whose file changed; moves on to the next one after a pass."""

    def __init__(
        self,
        folder: Path,
        catalogue: Catalogue,
        worker: Worker,
        on_verdict: Callable[[Exercise, Verdict, float], None],
        current: Exercise | None = None,
    ):
        self.folder = folder
        self.catalogue = catalogue
        self.worker = worker
        self.on_verdict = on_verdict
        self.current = current or catalogue.exercises[0]

    def exercise_for(self, path: Path) -> Exercise | None:
        return next((e for e in self.catalogue.exercises if e.file == path.name), None)

    def grade(self, exercise: Exercise, saved_at: float | None = None) -> Verdict:
        started = saved_at if saved_at is not None else time.time()
        verdict = ungradable_verdicts([exercise], self.folder).get(exercise.id)
        if verdict is None:  # a regular file: grade it (a FIFO would make the grader wait)
            verdict = run_checks([exercise.id], self.folder, worker=self.worker,
                                 catalogue=self.catalogue)[exercise.id]  # fmt: skip
        self.on_verdict(exercise, verdict, time.time() - started)
        return verdict

    def advance(self) -> Exercise | None:
        ids = self.catalogue.ids()
        position = ids.index(self.current.id)
        if position + 1 < len(ids):
            self.current = self.catalogue.exercises[position + 1]
            return self.current
        return None


def watch_events(folder: Path, events: queue.Queue, stop: threading.Event) -> None:
    """Put ("file", path, saved_at) on ``events`` for every saved .py file under ``folder``,
    ("gone", path, time) for one that was deleted (and not saved again in the same batch)."""
    from watchfiles import watch

    for changes in watch(folder, debounce=50, step=20, stop_event=stop, rust_timeout=200):
        for path in sorted({Path(name) for _change, name in changes if name.endswith(".py")}):
            try:
                events.put(("file", path, path.stat().st_mtime))
            except FileNotFoundError:
                events.put(("gone", path, time.time()))
            except OSError:
                events.put(("file", path, time.time()))


def _read_keys(events: queue.Queue) -> None:
    for line in sys.stdin:
        events.put(("key", line.strip().lower(), None))
    events.put(("key", "eof", None))


def run_watch(console: Console, start_id: str | None = None) -> None:
    catalogue, progress = load_catalogue(), Progress.load()
    folder = (PROJECT_ROOT / "exercises").resolve()
    current = catalogue.get(start_id) if start_id else next_exercise(catalogue, progress)
    if current is None:
        console.print(_("[green]Every exercise passes.[/] Nothing to watch."))
        return

    def on_verdict(exercise: Exercise, verdict: Verdict, seconds: float) -> None:
        console.rule(_("{id} · {time} · verdict in {seconds:.2f}s").format(
            id=exercise.id, time=time.strftime("%H:%M:%S"), seconds=seconds))  # fmt: skip
        render_verdict(console, verdict, exercise, progress.hint_level_seen(exercise.id))
        # Against the bytes that were graded (the runner's snapshot) when the runner says.
        digest = getattr(verdict, "digest", None) or file_digest(exercise_path(exercise))
        progress.record_verdict(exercise.id, verdict.status, digest)
        progress.save()  # merged into the file as it is now; one line if it cannot be saved

    def grade(exercise: Exercise, saved_at: float | None = None) -> Verdict | None:
        """The verdict, or None (and a line saying so) when the file is gone."""
        if not (folder / exercise.file).exists():
            console.rule(_("{id} · {time} · file deleted").format(
                id=exercise.id, time=time.strftime("%H:%M:%S")))  # fmt: skip
            gone = _("exercises/{file} is gone, so there is no verdict until it is back; "
                     "`bertprep reset {id}` restores the stub.").format(
                file=exercise.file, id=exercise.id)  # fmt: skip
            console.print(f"[yellow]{escape(gone)}[/]")
            return None
        return watcher.grade(exercise, saved_at)

    starting = _("starting the grading worker...")
    console.print(f"[dim]{escape(starting)}[/]")
    with Worker() as worker:
        watcher = Watcher(folder, catalogue, worker, on_verdict, current)
        events: queue.Queue = queue.Queue()
        stop = threading.Event()
        threading.Thread(target=watch_events, args=(folder, events, stop), daemon=True).start()
        threading.Thread(target=_read_keys, args=(events,), daemon=True).start()
        console.print(_("watching exercises/ · {keys}").format(keys=_(KEYS_HELP)))
        grade(watcher.current)
        try:
            while True:
                kind, value, saved_at = events.get()
                if kind in ("file", "gone"):
                    exercise = watcher.exercise_for(value)
                    if exercise is None:
                        continue
                    watcher.current = exercise
                    verdict = grade(exercise, saved_at)
                    if verdict is not None and verdict.status == "passed":
                        upcoming = watcher.advance()
                        if upcoming is None:
                            console.print(_("[green]All exercises pass. Well done.[/]"))
                        elif current_status(upcoming, progress) != "passed":
                            console.print(_("Next: [bold]{id}[/] — edit exercises/{file}")
                                          .format(id=upcoming.id, file=upcoming.file))  # fmt: skip
                elif value == "eof":
                    if sys.stdin.isatty():
                        break  # Ctrl-D; without a terminal, keep watching files
                elif value in ("q", "quit"):
                    break
                elif value == "h" and running_drill(watcher.current.id):
                    console.print(_("Hints are locked while a drill of {id} is running.").format(
                        id=watcher.current.id))  # fmt: skip
                elif value == "h":
                    level = min(3, progress.hint_level_seen(watcher.current.id) + 1)
                    console.print(_("hint {level}/3: {hint}").format(
                        level=level, hint=escape(watcher.current.hint(level))))  # fmt: skip
                    progress.see_hint(watcher.current.id, level)
                    progress.save()
                elif value == "n":
                    if watcher.advance() is None:
                        console.print(_("This was the last exercise."))
                    else:
                        console.print(_("Now on [bold]{id}[/]").format(id=watcher.current.id))
                        grade(watcher.current)
                else:
                    grade(watcher.current)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
