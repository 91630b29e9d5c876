"""``bertprep debug``: a round of finding the seeded bugs in a whole BertModel.

A round is a folder ``.bertprep/debug/<date>-<seed>/`` holding the learner's file
(``broken_bert.py``, written once and never again by bertprep) and ``round.json``: the seed,
the bugs, every check (when, how many bugs remained, the first divergence), every hint (which
bug it pointed at), and how the round ended. At the end, ``debrief.md`` joins them.

While a round runs, every save is graded in a fresh fork of the warm sandbox worker
(``grading.check_file``); Enter grades by hand, h gives a hint, q ends the round. It ends by
itself when every bug is fixed or the time is up.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.debug.bugs import BY_ID, DEFAULT_BUGS, broken_source, choose_bugs
from grader.debug.grading import check_file
from grader.debug.report import (
    bug_rows,
    debrief_markdown,
    hint_text,
    print_debrief,
    remaining,
    render_check,
)
from grader.drill.loop import Events, SaveEvents, TimedLoop, open_in_editor
from grader.i18n import _, ngettext
from grader.progress import atomic_write_text, file_digest, state_dir
from grader.sandbox.runner import Worker

FILE = "broken_bert.py"
STATE = "round.json"
MINUTES_PER_BUG = 5


def debug_dir() -> Path:
    return state_dir() / "debug"


def default_minutes(bugs: int) -> float:
    return float(max(10, MINUTES_PER_BUG * bugs))


@dataclass
class DebugRound:
    folder: Path
    seed: int
    bugs: list[str]
    minutes: float
    created_at: str
    original: str  # the file as it was handed out: where each bug was
    hints: list[dict] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    ended: dict | None = None

    @property
    def path(self) -> Path:
        return self.folder / FILE

    @classmethod
    def create(cls, bugs: int = DEFAULT_BUGS, seed: int | None = None,
               minutes: float | None = None) -> DebugRound:  # fmt: skip
        """A new round's folder and file; an existing round is never touched."""
        seed = seed if seed is not None else random.SystemRandom().randrange(1, 10_000)
        chosen = choose_bugs(bugs, seed)
        stamp = time.strftime("%Y-%m-%d")
        for number in range(1, 1000):
            folder = debug_dir() / (f"{stamp}-{seed}" + (f"-{number}" if number > 1 else ""))
            try:
                folder.mkdir(parents=True)
                break
            except FileExistsError:
                continue
        source = broken_source(chosen, seed)
        round_ = cls(folder, seed, [b.id for b in chosen], minutes or default_minutes(bugs),
                     time.strftime("%Y-%m-%dT%H:%M:%S"), source)  # fmt: skip
        atomic_write_text(round_.path, source, mode=0o644)
        round_.save()
        return round_

    @classmethod
    def load(cls, folder: Path) -> DebugRound:
        data = json.loads((folder / STATE).read_text(encoding="utf-8"))
        known = [b for b in data["bugs"] if b in BY_ID]
        return cls(folder, data["seed"], known, data["minutes"], data["created_at"],
                   data["original"], data.get("hints", []), data.get("checks", []),
                   data.get("ended"))  # fmt: skip

    @classmethod
    def latest(cls) -> DebugRound | None:
        folders = sorted(debug_dir().glob(f"*/{STATE}"), key=lambda p: p.stat().st_mtime)
        return cls.load(folders[-1].parent) if folders else None

    def save(self) -> None:
        data = asdict(self)
        data["folder"] = str(self.folder)
        atomic_write_text(self.folder / STATE, json.dumps(data, indent=1) + "\n")

    def record_check(self, result: dict) -> None:
        first = next((r["name"] for r in result.get("modules", []) if r.get("first")), None)
        bugs = {bug: entry["status"] for bug, entry in (result.get("bugs") or {}).items()}
        self.checks.append(dict(at=time.strftime("%Y-%m-%dT%H:%M:%S"), remaining=remaining(result),
                                passed=bool(result.get("passed")), first_divergence=first,
                                error=(result.get("error") or {}).get("message"),
                                bugs=bugs,
                                digest=file_digest(self.path)))  # fmt: skip
        self.save()

    def take_hint(self, result: dict | None) -> str:
        """Point at one remaining bug (one not hinted at yet, if any) and remember it."""
        status = (result or {}).get("bugs") or {}
        left = [b for b in self.bugs if status.get(b, {}).get("status") != "fixed"]
        if not left:
            return _("Every seeded bug is fixed: nothing to hint at.")
        hinted = {h["bug"] for h in self.hints}
        bug = BY_ID[next((b for b in left if b not in hinted), left[0])]
        try:
            source = self.path.read_text(encoding="utf-8")
            text = hint_text(bug, source)
        except (OSError, SyntaxError, ValueError):
            text = hint_text(bug, None)
        self.hints.append(dict(bug=bug.id, at=time.strftime("%Y-%m-%dT%H:%M:%S"), text=text))
        self.save()
        return text


def follow_up_questions() -> list:
    """Two questions from the bank: the KV cache, and turning the encoder into a classifier
    (by id or tags, whichever the bank has; none when the bank cannot be read)."""
    from grader.interview.bank import BankError, load_bank

    try:
        bank = load_bank()
    except (BankError, OSError, ValueError):
        return []
    wanted = (
        (lambda q: q.id.endswith("kv-cache"), lambda q: "kv-cache" in q.tags,
         lambda q: q.id == "architecture-bert-vs-gpt"),
        (lambda q: q.id == "fine-tuning-sequence-classification-head",
         lambda q: {"heads", "cls"} <= set(q.tags), lambda q: "classification" in q.tags),
    )  # fmt: skip
    chosen = []
    for tests in wanted:
        found = next((q for test in tests for q in bank if test(q)), None)
        if found is not None and found not in chosen:
            chosen.append(found)
    return chosen


def finish(console: Console, round_: DebugRound, result: dict, reason: str) -> Path:
    """The debrief, on screen and in ``debrief.md``; the round is marked as ended."""
    round_.ended = dict(reason=reason, at=time.strftime("%Y-%m-%dT%H:%M:%S"),
                        remaining=remaining(result))  # fmt: skip
    round_.save()
    rows = bug_rows(round_.bugs, result, round_.original)
    questions = follow_up_questions()
    print_debrief(console, rows, reason, questions)
    try:
        final = round_.path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        final = _("(the file could not be read)")
    info = {**asdict(round_), "ended_at": round_.ended["at"]}
    path = round_.folder / "debrief.md"
    atomic_write_text(path, debrief_markdown(info, rows, reason, questions, final))
    console.print(_("Debrief saved to {path}.").format(path=escape(str(path))))
    return path


def check_once(console: Console, round_: DebugRound | None, path: Path, worker: Worker,
               time_limit: float | None = None) -> dict:  # fmt: skip
    """Grade ``path`` once, print the report, and record it in the round (when there is one)."""
    result = check_file(path, round_.bugs if round_ else [], worker, time_limit)
    console.rule(f"{escape(path.name)} · {time.strftime('%H:%M:%S')}")
    render_check(console, result)
    if round_ is not None:
        round_.record_check(result)
    return result


def play_round(console: Console, round_: DebugRound, worker: Worker, events: Events, *,
               clock: Callable[[], float] = time.monotonic, time_limit: float | None = None,
               stdin_is_terminal: bool = False) -> tuple[dict, str]:  # fmt: skip
    """Check on start and on every save until every bug is fixed, the time is up, or q. Returns
    the last check and how the round ended."""
    started = clock()
    deadline = started + round_.minutes * 60
    last = check_once(console, round_, round_.path, worker, time_limit)

    def grade() -> bool:
        nonlocal last
        last = check_once(console, round_, round_.path, worker, time_limit)
        left = max(0.0, deadline - clock())
        console.print(_("[dim]{left} left · Enter: check now · h: hint · q: end the round[/]")
                      .format(left=f"{int(left // 60)}:{int(left % 60):02d}"))  # fmt: skip
        return bool(last.get("passed"))

    def hint() -> None:
        console.print(f"[yellow]{escape(round_.take_hint(last))}[/]")

    def time_up() -> bool:
        console.print(_("[yellow]Time is up.[/]"))
        return True

    if last.get("passed"):
        return last, "done"
    loop = TimedLoop(clock, deadline, deadline)
    reason = loop.run(events, files=lambda: [round_.path], grade=grade, hint=hint,
                      time_up=time_up, stdin_is_terminal=stdin_is_terminal)  # fmt: skip
    if file_digest(round_.path) != round_.checks[-1].get("digest"):  # saved at the very end
        last = check_once(console, round_, round_.path, worker, time_limit)
    return last, reason


def run_debug(console: Console, *, bugs: int = DEFAULT_BUGS, seed: int | None = None,
              minutes: float | None = None, editor: bool = True) -> bool:  # fmt: skip
    """The whole round from the command line; True when every bug was fixed."""
    round_ = DebugRound.create(bugs, seed, minutes)
    console.print(ngettext(
        "[bold]Debug round {seed}[/]: {count} bug is hidden in {path}. You have {minutes:g} "
        "minutes.",
        "[bold]Debug round {seed}[/]: {count} bugs are hidden in {path}. You have {minutes:g} "
        "minutes.", len(round_.bugs)).format(seed=round_.seed, count=len(round_.bugs),
                                             path=escape(str(round_.path)),
                                             minutes=round_.minutes))  # fmt: skip
    console.print(_("Each save is checked on the real weights. Enter: check now · h: hint · q: "
                    "end the round."))  # fmt: skip
    if editor:
        open_in_editor(console, round_.path)
    console.print(_("[dim]starting the grading worker...[/]"))
    with Worker() as worker, SaveEvents(round_.folder) as events:
        try:
            result, reason = play_round(console, round_, worker, events,
                                        stdin_is_terminal=sys.stdin.isatty())  # fmt: skip
        except KeyboardInterrupt:
            result = check_once(console, round_, round_.path, worker)
            reason = "quit"
    finish(console, round_, result, reason)
    return bool(result.get("passed"))


def check_command(console: Console, path: Path | None) -> bool | None:
    """``bertprep debug --check [PATH]``: True/False for passed, None when there is no file."""
    round_ = None
    if path is None:
        round_ = DebugRound.latest()
        if round_ is None:
            console.print(_("There is no debug round yet: start one with `bertprep debug`."))
            return None
        path = round_.path
    elif (path.parent / STATE).is_file():
        round_ = DebugRound.load(path.parent)
    if not path.is_file():
        console.print(_("[red]{path} is not a file.[/]").format(path=escape(str(path))))
        return None
    with Worker() as worker:
        result = check_once(console, round_, path, worker)
    return bool(result.get("passed"))


def hint_command(console: Console) -> bool:
    """``bertprep debug --hint``: one hint for the latest round, from its latest check."""
    round_ = DebugRound.latest()
    if round_ is None:
        console.print(_("There is no debug round yet: start one with `bertprep debug`."))
        return False
    statuses = round_.checks[-1].get("bugs", {}) if round_.checks else {}
    last = {"bugs": {b: {"status": s} for b, s in statuses.items()}}
    console.print(f"[yellow]{escape(round_.take_hint(last))}[/]")
    return True


