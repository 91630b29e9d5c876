"""The review deck's file, ``.bertprep/review.json``: read soundly, card by card, field by field.

Valid JSON with one card per line (see ``grader.interview.review``), so that when the file is
damaged (a bad disk, a hand edit gone wrong, a sync conflict) every card whose line is still
intact is recovered. Each card is checked field by field before fsrs sees it: a bad
``card_id`` (``Infinity``, text) is repaired, since the id is derived from the question id
anyway; a card with any other unsound field is dropped and named. The file rules (locked
read-modify-write, damaged copies kept under unique names) are ``grader.progress``'s.
"""

from __future__ import annotations

import json
import math
import re
import zlib
from dataclasses import dataclass

from fsrs import Card, Rating, State

CARD_LINE_RE = re.compile(r'^\s*("(?:[^"\\]|\\.)*")\s*:')
BAD_ENTRY = (ValueError, KeyError, TypeError, OverflowError, RecursionError)


def card_id_for(question_id: str) -> int:
    """A stable card id derived from the question id: fsrs would otherwise use the clock."""
    return zlib.crc32(question_id.encode())


def _sound_card(data: object, question_id: str | None) -> tuple[dict, bool]:
    """The card's fields checked one by one: (fields, whether one had to be repaired)."""
    if not isinstance(data, dict):
        raise TypeError("a card is not an object")
    card, repaired = dict(data), False
    if type(card.get("card_id")) is not int:
        if question_id is None:
            raise ValueError("card_id is not an integer")
        card["card_id"], repaired = card_id_for(question_id), True
    if type(card.get("state")) is not int or card["state"] not in {s.value for s in State}:
        raise ValueError("state is not an fsrs state")
    if card.get("step") is not None and (type(card["step"]) is not int or card["step"] < 0):
        raise ValueError("step is not a count")
    for key in ("stability", "difficulty"):
        value = card.get(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if value is not None and not (number and math.isfinite(value)):
            raise ValueError(f"{key} is not a finite number")
    if not isinstance(card.get("due"), str):
        raise ValueError("due is not a time")
    if card.get("last_review") is not None and not isinstance(card["last_review"], str):
        raise ValueError("last_review is not a time")
    return card, repaired


@dataclass
class DeckEntry:
    card: Card
    reviews: int = 0
    last_rating: str | None = None
    repaired: bool = False  # a field had to be repaired on reading: the file needs rewriting

    def to_json(self) -> dict:
        return {
            "card": self.card.to_dict(),
            "reviews": self.reviews,
            "last_rating": self.last_rating,
        }

    @classmethod
    def from_json(cls, data: object, question_id: str | None = None) -> DeckEntry:
        """Raises one of BAD_ENTRY when ``data`` is not a sound entry."""
        if not isinstance(data, dict):
            raise TypeError("a card entry is not an object")
        fields, repaired = _sound_card(data["card"], question_id)
        card = Card.from_dict(fields)
        if card.due.tzinfo is None or (card.last_review and card.last_review.tzinfo is None):
            raise ValueError("card times must carry a time zone")
        reviews = data.get("reviews", 0)
        if type(reviews) is not int or reviews < 0:
            raise ValueError("reviews is not a count")
        last_rating = data.get("last_rating")
        if last_rating is not None and last_rating not in Rating.__members__:
            raise ValueError(f"unknown rating {last_rating!r}")
        return cls(card, reviews, last_rating, repaired)


def parse_state(text: str) -> tuple[dict[str, DeckEntry], list[str], bool]:
    """(entries, ids that could not be read, whether the file was damaged at all)."""
    try:
        cards = json.loads(text)["cards"]
        if not isinstance(cards, dict):
            raise TypeError("cards is not an object")
    except (*BAD_ENTRY, IndexError):
        entries, lost = salvage_lines(text)
        return entries, lost, True
    entries: dict[str, DeckEntry] = {}
    lost: list[str] = []
    for question_id, value in cards.items():
        try:
            entries[question_id] = DeckEntry.from_json(value, question_id)
        except BAD_ENTRY:
            lost.append(question_id)
    return entries, lost, bool(lost) or any(e.repaired for e in entries.values())


def salvage_lines(text: str) -> tuple[dict[str, DeckEntry], list[str]]:
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
            entries[question_id] = DeckEntry.from_json(pair[question_id], question_id)
        except BAD_ENTRY:
            lost.append(question_id)
    return entries, lost
