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
``review.json.corrupt``. A missing file is a fresh start.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fsrs import Card, Rating, Scheduler
from rich.markdown import Markdown
from rich.markup import escape
from rich.panel import Panel

from grader.interview.bank import Question
from grader.interview.terminal import SessionIO
from grader.progress import atomic_write_text, state_dir

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
CARD_LINE_RE = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*:')


def review_path() -> Path:
    return state_dir() / STATE_FILE


@dataclass
class DeckEntry:
    card: Card
    reviews: int = 0
    last_rating: str | None = None

    def to_json(self) -> dict:
        return {
            "card": self.card.to_dict(),
            "reviews": self.reviews,
            "last_rating": self.last_rating,
        }

    @classmethod
    def from_json(cls, data: object) -> DeckEntry:
        """Raises ValueError / KeyError / TypeError when ``data`` is not a sound entry."""
        if not isinstance(data, dict):
            raise TypeError("a card entry is not an object")
        card = Card.from_dict(data["card"])
        if card.due.tzinfo is None or (card.last_review and card.last_review.tzinfo is None):
            raise ValueError("card times must carry a time zone")
        reviews = data.get("reviews", 0)
        if type(reviews) is not int or reviews < 0:
            raise ValueError("reviews is not a count")
        last_rating = data.get("last_rating")
        if last_rating is not None and last_rating not in Rating.__members__:
            raise ValueError(f"unknown rating {last_rating!r}")
        return cls(card, reviews, last_rating)


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

    @classmethod
    def load(cls, path: Path | None = None) -> Deck:
        path = path or review_path()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path)
        text = raw.decode("utf-8", errors="replace")
        entries, lost, damaged = _parse_state(text)
        deck = cls(path, entries, lost=lost)
        if damaged or lost:
            deck.corrupt_copy = path.with_name(path.name + ".corrupt")
            deck.corrupt_copy.write_bytes(raw)
            deck.save(merge=False)  # the repaired deck replaces the damaged file right away
        return deck

    def save(self, *, merge: bool = True) -> None:
        if merge:
            try:
                text = self.path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                text = '{"cards": {}}'
            on_disk, _, _ = _parse_state(text)
            self.entries.update((i, e) for i, e in on_disk.items() if i not in self.changed)
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
        card = entry.card if entry else Card(card_id=zlib.crc32(question_id.encode()), due=now)
        card, _log = self.scheduler.review_card(card, rating, review_datetime=now)
        updated = DeckEntry(card, (entry.reviews if entry else 0) + 1, rating.name)
        self.entries[question_id] = updated
        self.changed.add(question_id)
        return updated


def _parse_state(text: str) -> tuple[dict[str, DeckEntry], list[str], bool]:
    """(entries, ids that could not be read, whether the file was damaged at all)."""
    try:
        data = json.loads(text)
        cards = data["cards"]
        if not isinstance(cards, dict):
            raise TypeError("cards is not an object")
    except (ValueError, KeyError, TypeError):
        entries, lost = _salvage_lines(text)
        return entries, lost, True
    entries: dict[str, DeckEntry] = {}
    lost: list[str] = []
    for question_id, value in cards.items():
        try:
            entries[question_id] = DeckEntry.from_json(value)
        except (ValueError, KeyError, TypeError):
            lost.append(question_id)
    return entries, lost, bool(lost)


def _salvage_lines(text: str) -> tuple[dict[str, DeckEntry], list[str]]:
    """Recover from a file that is not JSON any more: each card has a line of its own."""
    entries: dict[str, DeckEntry] = {}
    lost: list[str] = []
    for line in text.splitlines():
        match = CARD_LINE_RE.match(line)
        if not match:
            continue
        try:
            question_id = json.loads(match.group(1))
        except ValueError:
            continue
        try:
            pair = json.loads("{" + line.strip().removesuffix(",") + "}")
            entries[question_id] = DeckEntry.from_json(pair[question_id])
        except (ValueError, KeyError, TypeError):
            lost.append(question_id)
    return entries, lost


REVIEW_UI = {
    "en": {
        "now": "now",
        "minutes": "in {n} min",
        "hours": "in {n} h",
        "days": "in {n} days",
        "counts": "{due} due · {new} new · {later} later",
        "next": " (next {when})",
        "damaged": "{name} was damaged: recovered {count} cards{lost}. "
        "The damaged file is kept as {copy}.",
        "lost": "; could not read: {ids}",
        "rate": "[bold]Rate:[/] 1 Again · 2 Hard · 3 Good · 4 Easy (a/h/g/e; q stops) ",
        "rate_help": "Type 1, 2, 3 or 4 (or a, h, g, e).",
        "review": "Review",
        "nothing": "Nothing is due. Come back later, or try `bertprep interview`.",
        "new": "new",
        "due": "due",
        "difficulty": "difficulty",
        "reveal": "[dim]Answer it aloud or in your head; Enter shows the model answer "
        "(q stops)[/] ",
        "model_answer": "model answer",
        "next_review": "next review {when}",
        "done": "Reviewed {n}.",
        "now_counts": "Now: {counts}",
    },
    "zh": {
        "now": "现在",
        "minutes": "{n} 分钟后",
        "hours": "{n} 小时后",
        "days": "{n} 天后",
        "counts": "到期 {due} · 新题 {new} · 未到期 {later}",
        "next": "（下一张 {when}）",
        "damaged": "{name} 已损坏：恢复了 {count} 张卡片{lost}。损坏的文件保存在 {copy}。",
        "lost": "；无法读取：{ids}",
        "rate": "[bold]评分：[/]1 Again · 2 Hard · 3 Good · 4 Easy（a/h/g/e；q 退出）",
        "rate_help": "请输入 1、2、3 或 4（或 a、h、g、e）。",
        "review": "复习",
        "nothing": "没有到期的卡片。稍后再来，或试试 `bertprep interview`。",
        "new": "新题",
        "due": "到期",
        "difficulty": "难度",
        "reveal": "[dim]先口头或在心里回答；回车显示参考答案（q 退出）[/] ",
        "model_answer": "参考答案",
        "next_review": "下次复习：{when}",
        "done": "本次复习 {n} 张。",
        "now_counts": "当前：{counts}",
    },
}


def interval_text(due: datetime, now: datetime, lang: str = "en") -> str:
    ui = REVIEW_UI[lang]
    seconds = (due - now).total_seconds()
    if seconds <= 60:
        return ui["now"]
    if seconds < 3600:
        return ui["minutes"].format(n=round(seconds / 60))
    if seconds < 86400:
        return ui["hours"].format(n=round(seconds / 3600))
    return ui["days"].format(n=round(seconds / 86400))


def counts_line(counts: Counts, now: datetime, lang: str = "en") -> str:
    ui = REVIEW_UI[lang]
    line = ui["counts"].format(due=counts.due, new=counts.new, later=counts.later)
    if counts.next_due is not None:
        line += ui["next"].format(when=interval_text(counts.next_due, now, lang))
    return line


def report_repair(io: SessionIO, deck: Deck, lang: str = "en") -> None:
    if deck.corrupt_copy is None:
        return
    ui = REVIEW_UI[lang]
    lost = ui["lost"].format(ids=", ".join(deck.lost)) if deck.lost else ""
    message = ui["damaged"].format(
        name=deck.path.name, count=len(deck.entries), lost=lost, copy=deck.corrupt_copy
    )
    io.console.print(f"[yellow]{escape(message)}[/]")


def ask_rating(io: SessionIO, lang: str = "en") -> Rating | None:
    """Again/Hard/Good/Easy as 1-4 or a/h/g/e; None when the learner stops (q or no input)."""
    while True:
        reply = io.ask(REVIEW_UI[lang]["rate"])
        if reply is None or reply.strip().lower() in ("q", "quit"):
            return None
        rating = RATING_KEYS.get(reply.strip().lower())
        if rating is not None:
            return rating
        io.console.print(f"[yellow]{REVIEW_UI[lang]['rate_help']}[/]")


def run_review(
    io: SessionIO, questions: Sequence[Question], deck: Deck, *, lang: str = "en", limit: int = 20
) -> int:
    """Review due cards, then new ones, up to ``limit``; returns how many were rated."""
    ui = REVIEW_UI[lang]
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
