"""Spaced repetition over the question bank (``bertprep review``) with FSRS.

One FSRS card per question id, shared by ``bertprep review`` and ``bertprep interview`` (an
interview rates the questions it asks, so its due cards come first next time).

The state is ``.bertprep/review.json`` (``BERTPREP_HOME`` moves the folder), written
atomically after every rating. It is valid JSON with one card per line::

    {"version": 1, "cards": {
    "attention-scaling": {"card": {...}, "reviews": 2, "last_rating": "Good"},
    "mlm-80-10-10": {"card": {...}, "reviews": 1, "last_rating": "Again"}
    }}

so that when the file is damaged (a bad disk, a hand edit gone wrong, a sync conflict) every
card whose line is still intact is recovered; the damaged file is kept as
``review.json.corrupt`` (then ``.corrupt-2``...: nothing is overwritten). Reading and checking
cards is ``deckfile.py``; every write is a locked read-modify-write. A missing file is a fresh
start; a state folder that cannot be written is one line on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fsrs import Card, Rating, Scheduler
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel

from grader.i18n import translator
from grader.interview.bank import Question
from grader.interview.deckfile import DeckEntry, card_id_for, parse_state
from grader.interview.terminal import SessionIO
from grader.progress import (
    atomic_write_text,
    describe,
    keep_damaged_copy,
    locked,
    read_regular,
    state_dir,
    warn,
)

VERSION = 1
STATE_FILE = "review.json"
RATING_KEYS = {
    "1": Rating.Again,
    "a": Rating.Again,
    "again": Rating.Again,
    "2": Rating.Hard,
    "h": Rating.Hard,
    "hard": Rating.Hard,
    "3": Rating.Good,
    "g": Rating.Good,
    "good": Rating.Good,
    "4": Rating.Easy,
    "e": Rating.Easy,
    "easy": Rating.Easy,
}
STATE_LIMIT = 16 * 2**20  # a deck is a few hundred KB at most: anything larger is damage


def review_path() -> Path:
    return state_dir() / STATE_FILE


def _read(path: Path) -> bytes | None:
    """The file's bytes; None when there is none yet."""
    try:
        return read_regular(path, limit=STATE_LIMIT)
    except (FileNotFoundError, NotADirectoryError):
        return None


@dataclass
class Counts:
    due: int  # seen before and due now
    new: int  # never rated
    later: int  # seen, due in the future
    next_due: datetime | None  # the soonest future due time


@dataclass
class Deck:
    """The FSRS cards of the bank's questions, by question id."""

    path: Path
    entries: dict[str, DeckEntry] = field(default_factory=dict)
    # What loading had to repair: the copy kept aside and the ids that could not be read.
    corrupt_copy: Path | None = None
    lost: list[str] = field(default_factory=list)
    scheduler: Scheduler = field(default_factory=Scheduler)
    # Cards rated since loading: saving writes these over what is on disk *now*, so a review
    # and an interview open at the same time do not undo each other's ratings.
    changed: set[str] = field(default_factory=set)
    save_failed: bool = False  # said once on stderr; later saves try again quietly

    @classmethod
    def load(cls, path: Path | None = None) -> Deck:
        """The deck on disk; a damaged file is kept aside (unique name) and replaced by the
        cards that could be read right away. Never raises for the state folder."""
        deck = cls(path or review_path())
        try:
            raw = _read(deck.path)
        except OSError as err:
            warn(f"could not read your review cards from {deck.path} ({describe(err)}); "
                 "carrying on without them.")  # fmt: skip
            return deck
        if raw is None:
            return deck
        deck.entries, deck.lost, damaged = parse_state(raw.decode("utf-8", errors="replace"))
        if damaged:
            try:
                with locked(deck.path):
                    deck.entries = deck._read_locked(report=False)
                    deck._write()
            except OSError as err:
                warn(f"{deck.path} is damaged and could not be repaired ({describe(err)}); "
                     f"using the {len(deck.entries)} cards that could be read.")  # fmt: skip
        return deck

    def _read_locked(self, *, report: bool) -> dict[str, DeckEntry]:
        """Holding the lock: the cards on disk now. A damaged file is kept aside first."""
        raw = _read(self.path)
        if raw is None:
            return {}
        entries, lost, damaged = parse_state(raw.decode("utf-8", errors="replace"))
        if damaged:
            self.corrupt_copy, self.lost = keep_damaged_copy(self.path, raw), lost
            if report:
                warn(f"{self.path.name} was damaged; the damaged file is kept as "
                     f"{self.corrupt_copy}; cards recovered: {len(entries)}.")  # fmt: skip
        return entries

    def save(self, *, merge: bool = True) -> bool:
        """Under the lock, write this session's ratings over the cards on disk now. False
        (said once on stderr) when the state cannot be written."""
        try:
            with locked(self.path):
                if merge:
                    on_disk = self._read_locked(report=True)
                    self.entries.update((i, e) for i, e in on_disk.items() if i not in self.changed)
                self._write()
        except OSError as err:
            if not self.save_failed:
                warn(f"could not save your review cards to {self.path} ({describe(err)}); the "
                     "ratings of this session are not remembered.")  # fmt: skip
            self.save_failed = True
            return False
        return True

    def _write(self) -> None:
        lines = [
            f"{json.dumps(question_id, ensure_ascii=False)}: "
            f"{json.dumps(entry.to_json(), ensure_ascii=False, sort_keys=True)}"
            for question_id, entry in sorted(self.entries.items())
        ]
        body = ",\n".join(lines)
        text = f'{{"version": {VERSION}, "cards": {{\n{body}{chr(10) if body else ""}}}}}\n'
        atomic_write_text(self.path, text)

    def is_new(self, question_id: str) -> bool:
        return question_id not in self.entries

    def due_at(self, question_id: str) -> datetime | None:
        entry = self.entries.get(question_id)
        return entry.card.due if entry else None

    def counts(self, question_ids: Iterable[str], now: datetime) -> Counts:
        due = new = later = 0
        next_due = None
        for question_id in question_ids:
            entry = self.entries.get(question_id)
            if entry is None:
                new += 1
            elif entry.card.due <= now:
                due += 1
            else:
                later += 1
                next_due = min(next_due or entry.card.due, entry.card.due)
        return Counts(due, new, later, next_due)

    def queue(
        self, questions: Sequence[Question], now: datetime, *, include_later: bool = False
    ) -> list[Question]:
        """Due cards (most overdue first), then new questions in the order given, then (when
        ``include_later``) the rest by due time, soonest first."""
        seen = [q for q in questions if not self.is_new(q.id)]
        due = sorted(
            (q for q in seen if self.entries[q.id].card.due <= now),
            key=lambda q: self.entries[q.id].card.due,
        )
        new = [q for q in questions if self.is_new(q.id)]
        later = sorted(
            (q for q in seen if self.entries[q.id].card.due > now),
            key=lambda q: self.entries[q.id].card.due,
        )
        return due + new + (later if include_later else [])

    def rate(self, question_id: str, rating: Rating, now: datetime) -> DeckEntry:
        entry = self.entries.get(question_id)
        # A stable card id derived from the question id: fsrs would otherwise use the clock.
        card = entry.card if entry else Card(card_id=card_id_for(question_id), due=now)
        card, _log = self.scheduler.review_card(card, rating, review_datetime=now)
        updated = DeckEntry(card, (entry.reviews if entry else 0) + 1, rating.name)
        self.entries[question_id] = updated
        self.changed.add(question_id)
        return updated


def review_texts(lang: str) -> dict[str, str]:
    """The texts of this mode in ``lang`` (gettext catalogue: grader/locale)."""
    _ = translator(lang)
    return {
        "now": _("now"),
        "minutes": _("in {n} min"),
        "hours": _("in {n} h"),
        "days": _("in {n} days"),
        "counts": _("{due} due · {new} new · {later} later"),
        "next": _(" (next {when})"),
        "damaged": _(
            "{name} was damaged: recovered {count} cards{lost}. The damaged file is "
            "kept as {copy}."
        ),
        "lost": _("; could not read: {ids}"),
        "rate": _("[bold]Rate:[/] 1 Again · 2 Hard · 3 Good · 4 Easy (a/h/g/e; q stops) "),
        "rate_help": _("Type 1, 2, 3 or 4 (or a, h, g, e)."),
        "review": _("Review"),
        "nothing": _("Nothing is due. Come back later, or try `bertprep interview`."),
        "new": _("new"),
        "due": _("due"),
        "difficulty": _("difficulty"),
        "reveal": _(
            "[dim]Answer it aloud or in your head; Enter shows the model answer (q "
            "stops)[/] "
        ),
        "model_answer": _("model answer"),
        "next_review": _("next review {when}"),
        "done": _("Reviewed {n}."),
        "now_counts": _("Now: {counts}"),
    }


def interval_text(due: datetime, now: datetime, lang: str = "en") -> str:
    ui = review_texts(lang)
    seconds = (due - now).total_seconds()
    if seconds <= 60:
        return ui["now"]
    if seconds < 3600:
        return ui["minutes"].format(n=round(seconds / 60))
    if seconds < 86400:
        return ui["hours"].format(n=round(seconds / 3600))
    return ui["days"].format(n=round(seconds / 86400))


def counts_line(counts: Counts, now: datetime, lang: str = "en") -> str:
    ui = review_texts(lang)
    line = ui["counts"].format(due=counts.due, new=counts.new, later=counts.later)
    if counts.next_due is not None:
        line += ui["next"].format(when=interval_text(counts.next_due, now, lang))
    return line


def report_repair(io: SessionIO, deck: Deck, lang: str = "en") -> None:
    if deck.corrupt_copy is None:
        return
    ui = review_texts(lang)
    lost = ui["lost"].format(ids=", ".join(deck.lost)) if deck.lost else ""
    message = ui["damaged"].format(
        name=deck.path.name, count=len(deck.entries), lost=lost, copy=deck.corrupt_copy
    )
    io.console.print(f"[yellow]{escape(message)}[/]")


def ask_rating(io: SessionIO, lang: str = "en") -> Rating | None:
    """Again/Hard/Good/Easy as 1-4 or a/h/g/e; None when the learner stops (q or no input)."""
    while True:
        reply = io.ask(review_texts(lang)["rate"])
        if reply is None or reply.strip().lower() in ("q", "quit"):
            return None
        rating = RATING_KEYS.get(reply.strip().lower())
        if rating is not None:
            return rating
        io.console.print(f"[yellow]{review_texts(lang)['rate_help']}[/]")


def run_review(
    io: SessionIO, questions: Sequence[Question], deck: Deck, *, lang: str = "en", limit: int = 20
) -> int:
    """Review due cards, then new ones, up to ``limit``; returns how many were rated."""
    ui = review_texts(lang)
    report_repair(io, deck, lang)
    ids = [q.id for q in questions]
    counts = counts_line(deck.counts(ids, io.now()), io.now(), lang)
    io.console.print(f"[bold]{ui['review']}:[/] {escape(counts)}")
    queue = deck.queue(questions, io.now())[:limit]
    if not queue:
        io.console.print(ui["nothing"])
        return 0
    rated = 0
    try:
        for number, question in enumerate(queue, start=1):
            text = question.text(lang)
            state = ui["new"] if deck.is_new(question.id) else ui["due"]
            io.console.print(
                f"\n[bold]{number}/{len(queue)}[/] {escape(question.topic)} · {question.kind} · "
                f"{ui['difficulty']} {question.difficulty} · {state} · [dim]{question.id}[/]"
            )
            io.console.print(Panel(escape(text.question), border_style="cyan"))
            reply = io.ask(ui["reveal"])
            if reply is None or reply.strip().lower() == "q":
                break
            io.console.print(
                Panel(Markdown(text.answer), title=ui["model_answer"], title_align="left")
            )
            for point in text.rubric:
                io.console.print(f"  • {escape(point)}")
            rating = ask_rating(io, lang)
            if rating is None:
                break
            entry = deck.rate(question.id, rating, io.now())
            deck.save()  # after every card: stopping half-way loses nothing
            rated += 1
            when = interval_text(entry.card.due, io.now(), lang)
            io.console.print(f"[green]{rating.name}[/] — {ui['next_review'].format(when=when)}")
    except KeyboardInterrupt:  # Ctrl-C: every rating so far is already saved
        io.console.print()
    counts = counts_line(deck.counts(ids, io.now()), io.now(), lang)
    io.console.print(
        f"\n[bold]{ui['done'].format(n=rated)}[/] {escape(ui['now_counts'].format(counts=counts))}"
    )
    return rated
