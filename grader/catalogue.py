"""The exercise catalogue: one TOML file is the single source of exercise metadata.

``catalogue.toml`` holds, per exercise: id, title, file, blog questions, prerequisites, three
hint levels, docs page, and the ids of the known mistakes its checks diagnose; and, per
mistake: a one-line summary (what the learner did) and a fix (what to do instead).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")
CHECKS_DIR = Path(__file__).with_name("checks")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BLOG_QUESTIONS = {
    "Q1": "BERT模型的主要特点是什么？ (What makes BERT BERT?)",
    "Q2": "BERT模型中的掩码语言模型（MLM）是什么？ (What is the masked language model?)",
    "Q3": "如何实现BERT模型的微调？ (How is BERT fine-tuned?)",
    "Q4": "实现一个简单的BERT模型。 (Implement a simple BERT.)",
    "Q5": "实现BERT模型的预训练任务：掩码语言模型。 (Implement MLM pre-training.)",
    "beyond": "Beyond the blog: what interviewers ask next.",
}


@dataclass(frozen=True)
class Mistake:
    id: str
    summary: str  # what the code does wrong, in the learner's terms
    fix: str  # what to do instead

    def sentence(self) -> str:
        return f"{self.summary} — {self.fix}"


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    file: str  # module file name in exercises/ and solutions/, sorted in learning order
    blog: tuple[str, ...]
    prerequisites: tuple[str, ...]
    hints: tuple[str, str, str]  # idea -> approach -> near-code
    docs: str  # page under docs/
    mistakes: tuple[str, ...]
    summary: str

    @property
    def module(self) -> str:
        return self.file.removesuffix(".py")

    @property
    def check_file(self) -> Path:
        return CHECKS_DIR / f"check_{self.id}.py"


@dataclass(frozen=True)
class Catalogue:
    exercises: tuple[Exercise, ...]
    mistakes: dict[str, Mistake]

    def get(self, exercise_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.id == exercise_id:
                return exercise
        known = ", ".join(e.id for e in self.exercises)
        raise KeyError(f"no exercise {exercise_id!r}; known: {known}")

    def ids(self) -> list[str]:
        return [e.id for e in self.exercises]

    def by_module(self, module: str) -> Exercise | None:
        return next((e for e in self.exercises if e.module == module), None)


def parse_catalogue(data: dict) -> Catalogue:
    mistakes = {
        mistake_id: Mistake(id=mistake_id, summary=entry["summary"], fix=entry["fix"])
        for mistake_id, entry in data.get("mistakes", {}).items()
    }
    exercises = tuple(
        Exercise(
            id=entry["id"],
            title=entry["title"],
            file=entry["file"],
            blog=tuple(entry["blog"]),
            prerequisites=tuple(entry.get("prerequisites", ())),
            hints=tuple(entry["hints"]),
            docs=entry["docs"],
            mistakes=tuple(entry.get("mistakes", ())),
            summary=entry["summary"],
        )
        for entry in data["exercise"]
    )
    # Learning order is file-name order, so the list and the folder always agree.
    exercises = tuple(sorted(exercises, key=lambda e: e.file))
    return Catalogue(exercises=exercises, mistakes=mistakes)


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    with path.open("rb") as handle:
        return parse_catalogue(tomllib.load(handle))


def catalogue_problems(catalogue: Catalogue, root: Path = PROJECT_ROOT) -> list[str]:
    """Everything incomplete or inconsistent in the catalogue (empty when it is sound)."""
    problems = []
    ids = catalogue.ids()
    if len(set(ids)) != len(ids):
        problems.append("duplicate exercise ids")
    for exercise in catalogue.exercises:
        where = f"exercise {exercise.id}"
        if len(exercise.hints) != 3 or not all(h.strip() for h in exercise.hints):
            problems.append(f"{where}: needs exactly three non-empty hints")
        if not exercise.blog or any(q not in BLOG_QUESTIONS for q in exercise.blog):
            problems.append(
                f"{where}: blog questions {exercise.blog} not among {list(BLOG_QUESTIONS)}"
            )
        for prerequisite in exercise.prerequisites:
            if prerequisite not in ids:
                problems.append(f"{where}: unknown prerequisite {prerequisite}")
            elif catalogue.get(prerequisite).file >= exercise.file:
                problems.append(f"{where}: prerequisite {prerequisite} comes later in order")
        for mistake in exercise.mistakes:
            if mistake not in catalogue.mistakes:
                problems.append(f"{where}: mistake {mistake} is not described under [mistakes]")
        if not exercise.mistakes:
            problems.append(f"{where}: lists no known mistakes to diagnose")
        if not exercise.docs.endswith(".md"):
            problems.append(f"{where}: docs page {exercise.docs!r} is not a Markdown path")
        for language in ("en", "zh"):
            if not (root / "docs" / language / exercise.docs).is_file():
                problems.append(f"{where}: missing docs/{language}/{exercise.docs}")
        for folder in ("exercises", "solutions"):
            if not (root / folder / exercise.file).is_file():
                problems.append(f"{where}: missing {folder}/{exercise.file}")
        if not exercise.check_file.is_file():
            problems.append(f"{where}: missing check module {exercise.check_file.name}")
    return problems
