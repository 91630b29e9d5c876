"""When each drill is due, and how a drill's result becomes its FSRS rating.

Every exercise the learner has passed (``first_passed_at`` in progress.json) is a drill card.
The cards live in their own deck, ``.bertprep/drills.json``, with the same file format and the
same FSRS scheduler as the question cards of ``bertprep review`` (``grader.interview.review``).
A passed exercise that was never drilled is due one day after its first pass; after a drill,
FSRS decides, from the rating the drill's result earns:

    passed in under half the time, with no failing save   Easy
    passed in time                                        Good
    passed after the time was up                          Hard
    not passed                                            Again
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fsrs import Rating, Scheduler

from grader.catalogue import PROJECT_ROOT, Catalogue, Exercise
from grader.interview.review import Deck
from grader.progress import Progress, state_dir

DECK_FILE = "drills.json"
FIRST_DRILL_AFTER = timedelta(days=1)
MIN_MINUTES, MAX_MINUTES = 5, 30


def drill_deck() -> Deck:
    """The drill cards. No learning steps of minutes, as a question card has: a drill comes
    back a day later at the soonest (Again, Hard), two days after Good, a week after Easy."""
    deck = Deck.load(state_dir() / DECK_FILE)
    deck.scheduler = Scheduler(learning_steps=(), relearning_steps=())
    return deck


def drill_rating(passed: bool, seconds: float | None, limit: float, failing_saves: int) -> Rating:
    """The rating a drill earns (see the module docstring)."""
    if not passed or seconds is None:
        return Rating.Again
    if seconds > limit:
        return Rating.Hard
    if 2 * seconds < limit and failing_saves == 0:
        return Rating.Easy
    return Rating.Good


def _statements(path: Path) -> int:
    """Statements outside definitions and docstrings: how much code a file holds."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return 0
    skipped = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
    return sum(
        isinstance(node, ast.stmt)
        and not isinstance(node, skipped)
        and not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in ast.walk(tree)
    )


def default_minutes(exercise: Exercise, root: Path = PROJECT_ROOT) -> int:
    """From the exercise's size: the statements its worked solution adds to the stub, at
    about 45 seconds each, plus three minutes to read the stub; between 5 and 30 minutes."""
    written = _statements(root / "solutions" / exercise.file)
    given = _statements(root / "exercises" / exercise.file)
    minutes = round(3 + 0.75 * max(1, written - given))
    return max(MIN_MINUTES, min(MAX_MINUTES, minutes))


def _first_pass(progress: Progress, exercise_id: str) -> datetime | None:
    stamp = progress.exercises.get(exercise_id, {}).get("first_passed_at")
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S").astimezone().astimezone(UTC)
    except (TypeError, ValueError):
        return None


@dataclass
class DrillCard:
    exercise: Exercise
    due: datetime
    drills: int  # how many times it was drilled
    last_rating: str | None


def drill_cards(catalogue: Catalogue, progress: Progress, deck: Deck, now: datetime) -> list:
    """A card per passed exercise, soonest due first."""
    cards = []
    for exercise in catalogue.exercises:
        if not progress.has_passed(exercise.id):
            continue
        entry = deck.entries.get(exercise.id)
        if entry is not None:
            cards.append(DrillCard(exercise, entry.card.due, entry.reviews, entry.last_rating))
        else:
            passed = _first_pass(progress, exercise.id) or now - FIRST_DRILL_AFTER
            cards.append(DrillCard(exercise, passed + FIRST_DRILL_AFTER, 0, None))
    return sorted(cards, key=lambda card: card.due)


def due_count(catalogue: Catalogue, progress: Progress, now: datetime | None = None) -> int:
    """How many drills are due now (for the overview); 0 when the deck cannot be read."""
    now = now or datetime.now(UTC)
    try:
        deck = drill_deck()
    except (OSError, ValueError):
        return 0
    return sum(card.due <= now for card in drill_cards(catalogue, progress, deck, now))
