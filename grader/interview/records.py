"""A mock interview's plan and records: what was asked, answered, ticked and rated.

The rating rule lives here too, because the records carry the rating it gives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from fsrs import Rating

from grader.catalogue import PROJECT_ROOT, Exercise
from grader.interview.bank import Question


def rating_for(covered: int, points: int) -> Rating:
    """The FSRS rating of an answer that covered ``covered`` of ``points`` rubric points
    (integer arithmetic, so 2 of 3 is two thirds exactly)."""
    if 3 * covered < points:
        return Rating.Again
    if 3 * covered < 2 * points:
        return Rating.Hard
    if covered < points:
        return Rating.Good
    return Rating.Easy


def deserves_follow_up(covered: int, points: int) -> bool:
    return 3 * covered >= 2 * points


def parse_ticks(reply: str, points: int) -> list[int] | None:
    """0-based indices of the ticked points from "1,3", "1 3", "1-3", "all" or "none";
    None when the reply is not one of those (or names a point that does not exist)."""
    text = reply.strip().lower()
    if text in ("all", "全部"):
        return list(range(points))
    if text in ("none", "0", "无"):
        return []
    chosen: set[int] = set()
    for part in re.split(r"[,\s，、]+", text):
        if not part:
            continue
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            return None
        low, high = int(match[1]), int(match[2] or match[1])
        if not 1 <= low <= high <= points:
            return None
        chosen.update(range(low - 1, high))
    return sorted(chosen) if chosen else None


@dataclass
class InterviewPlan:
    minutes: float = 30.0
    max_questions: int | None = None
    topics: tuple[str, ...] = ()  # empty: every topic
    lang: str = "en"
    answer_seconds: float = 180.0
    coding: bool = False
    coding_minutes: float | None = None  # None: a third of the session
    exercise: str | None = None  # the coding round's exercise, when chosen by hand
    target: Path = PROJECT_ROOT / "exercises"
    seed: int | None = None
    # What the coding round is: a plain exercise, a drill (a passed exercise written again
    # from its blank stub) or a debug round (a whole BertModel with seeded bugs).
    coding_round: str = "exercise"

    @property
    def coding_seconds(self) -> float:
        if not self.coding:
            return 0.0
        minutes = self.coding_minutes if self.coding_minutes is not None else self.minutes / 3
        return min(minutes, self.minutes) * 60


@dataclass
class Turn:
    """One question as it was asked and answered."""

    question: Question
    answer: str
    answer_seconds: float
    timed_out: bool
    covered: list[int]  # 0-based indices of the rubric points the learner ticked
    rating: Rating
    total_seconds: float = 0.0
    follow_up: str | None = None
    follow_up_answer: str = ""
    follow_up_held: bool | None = None  # the learner's own verdict; None: not given
    next_due: datetime | None = None
    closed: bool = False  # the input ended during this turn
    assessed: bool = True  # False: the input ended before the rubric was ticked (not rated)

    @property
    def points(self) -> int:
        return len(self.question.text("en").rubric)


@dataclass
class CodingResult:
    exercise: Exercise
    path: Path
    status: str  # passed | failed | not_started | error | skipped | out_of_time
    passed: int = 0
    total: int = 0
    message: str = ""
    diagnosis: str | None = None
    coding_seconds: float = 0.0
    grading_seconds: float = 0.0


@dataclass
class InterviewResult:
    plan: InterviewPlan
    started_at: datetime
    turns: list[Turn] = field(default_factory=list)
    coding: CodingResult | None = None
    duration: float = 0.0
    stopped_early: bool = False
    input_ended: bool = False  # stdin closed mid-session: the command exits non-zero
    transcript: Path | None = None


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
