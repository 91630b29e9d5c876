"""How a practice session talks to the learner: a real terminal, or lines from a pipe.

The interview and review engines never touch ``sys.stdin`` themselves: they are handed a
SessionIO, so tests drive a whole session with scripted input (and, in-process, a fake clock),
while a real terminal gets a live countdown as the learner types.

- ``ScriptedIO``: stdin is not a terminal (a script, a test, a pipe). Lines are read as they
  come; a deadline is checked before each line, so a fake clock can run a question out of time.
- ``TerminalIO``: stdin and stdout are a terminal. Answers are typed in cbreak mode into a small
  line editor drawn by rich's Live together with the time left; when the time is up the
  session moves on with whatever was typed.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import select
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

LIVE_LINES = 12  # the live editor shows the end of a long answer, not a screen overflow
POLL_S = 0.2  # how often the countdown is redrawn while nobody types


class TimeUp(Exception):
    """The deadline passed before the learner finished the line."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def clock_text(seconds: float) -> str:
    """Seconds as m:ss (h:mm:ss from an hour), for countdowns and debrief tables."""
    seconds = max(0, round(seconds))
    minutes, secs = divmod(seconds, 60)
    if minutes >= 60:
        return f"{minutes // 60}:{minutes % 60:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


@dataclass
class Answer:
    text: str
    timed_out: bool = False
    closed: bool = False  # the input ended (EOF): the session stops after this


@dataclass
class LineEditor:
    """The keys of a multi-line answer: Enter on an empty line (or Ctrl-D) finishes it."""

    lines: list[str] = field(default_factory=lambda: [""])
    _escape: str = ""  # an escape sequence being skipped (arrow keys and the like)

    def feed(self, char: str) -> bool:
        """Apply one typed character; True when the answer is finished."""
        if self._escape:
            self._escape += char
            # ESC [ params final  |  ESC O final  |  ESC <key> (Alt+key): all ignored.
            introducer_only = len(self._escape) == 2 and char not in "[O"
            sequence_ended = len(self._escape) > 2 and "@" <= char <= "~"
            if introducer_only or sequence_ended:
                self._escape = ""
            return False
        if char == "\x1b":
            self._escape = char
        elif char in "\r\n":
            if not self.lines[-1].strip():
                self.lines[-1] = ""
                return True
            self.lines.append("")
        elif char == "\x04":  # Ctrl-D
            return True
        elif char in "\x7f\x08":  # Backspace: past the start of a line, back onto the last one
            if self.lines[-1]:
                self.lines[-1] = self.lines[-1][:-1]
            elif len(self.lines) > 1:
                self.lines.pop()
        elif char == "\t":
            self.lines[-1] += "    "
        elif char >= " ":
            self.lines[-1] += char
        return False

    def text(self) -> str:
        return "\n".join(self.lines).strip()


class SessionIO:
    """Output through a rich console; input, a monotonic clock and a UTC wall clock."""

    def __init__(
        self,
        console: Console,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ):
        self.console = console
        self.clock = clock
        self.now = now

    def ask(self, prompt: str) -> str | None:
        """One line (without its newline), None when the input has ended. ``prompt`` is rich
        markup. Not timed: rubric ticks and ratings are bookkeeping, not interview time."""
        raise NotImplementedError

    def read_answer(self, deadline: float, instruction: str) -> Answer:
        """A multi-line answer, finished by an empty line, the end of input or the deadline."""
        raise NotImplementedError

    def show_answer(self, text: str, title: str, empty: str) -> None:
        body = Text(text) if text else Text(empty, style="dim italic")
        self.console.print(Panel(body, title=title, title_align="left", border_style="dim"))


class ScriptedIO(SessionIO):
    """Reads lines from a stream that is not a terminal. Replies are echoed (dim) so that the
    output of a scripted session reads like the session itself."""

    def __init__(self, stream: TextIO, console: Console, **clocks):
        super().__init__(console, **clocks)
        self.stream = stream

    def _line(self, deadline: float | None) -> str | None:
        if deadline is not None and self.clock() >= deadline:
            raise TimeUp
        line = self.stream.readline()
        return None if line == "" else line.rstrip("\r\n")

    def ask(self, prompt: str) -> str | None:
        self.console.print(prompt, end="")
        line = self._line(None)
        # The reply finishes the prompt's line, as it would look in a terminal.
        self.console.print(f"[dim]{escape(line or '')}[/]")
        return line

    def read_answer(self, deadline: float, instruction: str) -> Answer:
        left = clock_text(deadline - self.clock())
        self.console.print(f"[dim]({escape(instruction)} · ⏱ {left})[/]")
        lines: list[str] = []
        while True:
            try:
                line = self._line(deadline)
            except TimeUp:
                return Answer("\n".join(lines).strip(), timed_out=True)
            if line is None or not line.strip():
                return Answer("\n".join(lines).strip(), closed=line is None)
            self.console.print(f"[dim]> {escape(line)}[/]")
            lines.append(line)


class TerminalIO(SessionIO):
    """A real terminal: a live countdown while the learner types."""

    def __init__(self, console: Console, stdin: TextIO | None = None, **clocks):
        super().__init__(console, **clocks)
        self.stdin = stdin or sys.stdin
        self.fd = self.stdin.fileno()

    def ask(self, prompt: str) -> str | None:
        try:
            return self.console.input(prompt)  # canonical mode: the terminal's line editing
        except EOFError:
            self.console.print()
            return None

    def _render(
        self, editor: LineEditor, started: float, deadline: float, instruction: str
    ) -> RenderableType:
        left = max(0.0, deadline - self.clock())
        total = max(1.0, deadline - started)
        colour = "red" if left < 10 else "yellow" if left < 30 else "green"
        body = Text()
        hidden = len(editor.lines) - LIVE_LINES
        if hidden > 0:
            body.append(f"… {hidden} more lines above\n", style="dim")
        shown = editor.lines[-LIVE_LINES:]
        for number, line in enumerate(shown):
            body.append(line)
            if number < len(shown) - 1:
                body.append("\n")
        body.append("▏", style="bold")
        timer = Table.grid(padding=(0, 1))
        timer.add_row(
            ProgressBar(total=total, completed=total - left, width=24, complete_style=colour),
            Text(f"⏱ {clock_text(left)}", style=f"bold {colour}"),
            Text(instruction, style="dim"),
        )
        return Group(Panel(body, border_style=colour), timer)

    def read_answer(self, deadline: float, instruction: str) -> Answer:
        import termios
        import tty

        saved = termios.tcgetattr(self.fd)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        editor = LineEditor()
        started = self.clock()
        timed_out = closed = False
        try:
            tty.setcbreak(self.fd, termios.TCSANOW)  # keys one by one; Ctrl-C still interrupts
            render = lambda: self._render(editor, started, deadline, instruction)  # noqa: E731
            with Live(render(), console=self.console, auto_refresh=False, transient=True) as live:
                finished = False
                while not finished:
                    left = deadline - self.clock()
                    if left <= 0:
                        timed_out = True
                        break
                    ready, _, _ = select.select([self.fd], [], [], min(left, POLL_S))
                    if ready:
                        data = os.read(self.fd, 4096)
                        if not data:
                            closed = True
                            break
                        for char in decoder.decode(data):
                            if editor.feed(char):
                                finished = True
                                break
                    live.update(render(), refresh=True)
        finally:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)
        return Answer(editor.text(), timed_out=timed_out, closed=closed)


def session_io(console: Console, stdin: TextIO | None = None) -> SessionIO:
    """A live terminal when both ends are one, scripted lines otherwise."""
    stdin = stdin or sys.stdin
    try:
        interactive = stdin.isatty() and console.is_terminal
    except (AttributeError, ValueError):
        interactive = False
    if interactive:
        return TerminalIO(console, stdin)
    return ScriptedIO(stdin, console)
