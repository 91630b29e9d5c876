"""What drills and debug rounds share: a countdown, grading on every save (watch's file
events), keys on stdin (Enter grades now, h asks for a hint, q stops), and the editor.

The loop only reacts to events; where they come from is an argument, so tests drive a whole
round with scripted events and a fake clock, without a terminal.
"""

from __future__ import annotations

import os
import queue
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.markup import escape

from grader.i18n import _
from grader.progress import file_digest
from grader.watch import watch_events

# Editors that take over the terminal: started from here they would fight the loop for it.
TERMINAL_EDITORS = {"vi", "vim", "nvim", "nano", "pico", "emacs", "micro", "hx", "helix",
                    "kak", "joe", "ne", "mg", "ed", "jed"}  # fmt: skip
POLL_S = 1.0


class Events(Protocol):
    def get(self, timeout: float) -> tuple[str, object] | None:
        """("file", path) after a save, ("key", text) for a line typed (text "eof" when the
        input ended); None when ``timeout`` seconds passed without either."""


class SaveEvents:
    """File saves under ``folder`` and lines on stdin, as Events; a context manager."""

    def __init__(self, folder: Path, read_keys: bool = True):
        self.folder = folder
        self.read_keys = read_keys
        self.queue: queue.Queue = queue.Queue()
        self.stop = threading.Event()

    def __enter__(self) -> SaveEvents:
        threading.Thread(target=watch_events, args=(self.folder, self.queue, self.stop),
                         daemon=True).start()  # fmt: skip
        if self.read_keys:
            threading.Thread(target=self._keys, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()

    def _keys(self) -> None:
        for line in sys.stdin:
            self.queue.put(("key", line.strip().lower(), None))
        self.queue.put(("key", "eof", None))

    def get(self, timeout: float) -> tuple[str, object] | None:
        try:
            kind, value, _detail = self.queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        return ("file", value) if kind in ("file", "gone") else (kind, value)


def folder_digest(paths: list[Path]) -> tuple:
    """What the learner's files hold now: a save that changes nothing is not graded twice."""
    return tuple(file_digest(path) for path in sorted(paths))


class TimedLoop:
    """Grades on every save that changed something, and on Enter; stops on q, when ``grade``
    says the round is over, or when the time is up and ``time_up`` says to stop (it is asked
    once, at ``deadline``); in any case at ``hard_stop``."""

    def __init__(self, clock: Callable[[], float], deadline: float, hard_stop: float):
        self.clock = clock
        self.deadline = deadline
        self.hard_stop = hard_stop

    def run(
        self,
        events: Events,
        *,
        files: Callable[[], list[Path]],
        grade: Callable[[], bool],
        hint: Callable[[], None],
        time_up: Callable[[], bool],
        stdin_is_terminal: bool = False,
    ) -> str:
        """"done" (``grade`` returned True), "quit" (q, or Ctrl-D in a terminal) or "time"."""
        graded = folder_digest(files())
        announced = False
        while True:
            now = self.clock()
            if now >= self.hard_stop:
                return "time"
            if now >= self.deadline and not announced:
                announced = True
                if time_up():
                    return "time"
            wake = self.hard_stop if announced else self.deadline
            event = events.get(min(POLL_S, max(0.0, wake - now)))
            if event is None:
                continue
            kind, value = event
            if kind == "file":
                current = folder_digest(files())
                if current == graded:
                    continue
                graded = current
                if grade():
                    return "done"
            elif value in ("q", "quit") or (value == "eof" and stdin_is_terminal):
                return "quit"
            elif value == "h":
                hint()
            elif value == "":
                graded = folder_digest(files())
                if grade():
                    return "done"


def open_in_editor(console: Console, path: Path) -> None:
    """Start ``$VISUAL`` / ``$EDITOR`` on ``path`` when it is a windowed editor; a terminal
    editor is left to the learner (in another terminal), the path is always printed."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        return
    try:
        command = shlex.split(editor)
    except ValueError:
        command = []
    if not command:
        return
    if Path(command[0]).name in TERMINAL_EDITORS:
        console.print(_("Open it in another terminal ({editor} {path}): this one shows the "
                        "verdicts.").format(editor=escape(editor), path=escape(str(path))))
        return
    try:
        subprocess.Popen([*command, str(path)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)  # fmt: skip
    except OSError as err:
        console.print(_("[yellow]Could not start your editor {editor}: {error}.[/]").format(
            editor=escape(editor), error=escape(err.strerror or str(err))))  # fmt: skip


def grade_one(exercise_id: str, folder: Path, worker, catalogue, time_limit: float | None = None):
    """``run_checks`` for one exercise in ``folder``, in ``worker``. ``time_limit`` (the
    tests' short loops) caps each check, where the runner takes a cap."""
    import inspect

    from grader.sandbox.runner import run_checks

    extra = {}
    if time_limit is not None and "test_timeout" in inspect.signature(run_checks).parameters:
        extra["test_timeout"] = time_limit
    return run_checks([exercise_id], folder, worker=worker, catalogue=catalogue,
                      **extra)[exercise_id]  # fmt: skip
