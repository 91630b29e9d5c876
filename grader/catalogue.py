"""The exercise catalogue: one TOML file is the single source of exercise metadata.

``catalogue.toml`` holds, per exercise: id, title, file, blog questions, prerequisites, three
hint levels, docs page, the ids of the known mistakes its checks diagnose, its part (1:
BERT itself; 2: what came after it) and, optionally, ``forbidden``: the functions its stub
tells the learner not to call (dotted names; using one gives the verdict "borrowed"); and,
per mistake: a one-line summary (what the learner did) and a fix (what to do instead).

Chinese text sits beside the English in optional sub-tables: ``[exercise.zh]`` (title,
summary, hints — three) and ``[mistakes.<id>.zh]`` (summary, fix). Parsed into
``Exercise.zh`` / ``Mistake.zh`` (empty dicts when absent); ``catalogue_problems`` checks the
ones that are present.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from grader import i18n

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
PARTS = {
    1: "Part I: BERT",
    2: "Part II: after BERT",
}
PARTS_ZH = {
    1: "第一部分：BERT",
    2: "第二部分：BERT 之后",
}
BLOG_QUESTIONS_ZH = {
    "Q1": "BERT模型的主要特点是什么？",
    "Q2": "BERT模型中的掩码语言模型（MLM）是什么？",
    "Q3": "如何实现BERT模型的微调？",
    "Q4": "实现一个简单的BERT模型。",
    "Q5": "实现BERT模型的预训练任务：掩码语言模型。",
    "beyond": "博客之外：面试官接下来会问什么。",
}
ZH_EXERCISE_KEYS = ("title", "summary", "hints")
ZH_MISTAKE_KEYS = ("summary", "fix")


@dataclass(frozen=True)
class Mistake:
    id: str
    summary: str  # what the code does wrong, in the learner's terms
    fix: str  # what to do instead
    zh: dict = field(default_factory=dict, compare=False)  # {"summary", "fix"} in Chinese

    def text(self, key: str, lang: str | None = None) -> str:
        """``summary`` or ``fix`` in the current language (English when not translated)."""
        return _in_language(self, key, lang)

    def sentence(self, lang: str | None = None) -> str:
        """The diagnosis line: what the code does wrong, then what to do instead."""
        summary, fix = self.text("summary", lang), self.text("fix", lang)
        return f"{summary}——{fix}" if _is_zh(lang) and self.zh else f"{summary} — {fix}"


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
    part: int = 1  # 1: BERT itself; 2: what came after it (PARTS)
    # What the stub rules out in words ("do not call torch.nn.functional.gelu"), as dotted
    # names; the sandbox enforces it (verdict "borrowed")
    forbidden: tuple[str, ...] = ()
    # {"title", "summary", "hints": (3)} in Chinese, from [exercise.zh]; {} when absent
    zh: dict = field(default_factory=dict, compare=False)

    def text(self, key: str, lang: str | None = None):
        """``title``, ``summary`` or ``hints`` (three) in the current language (English when
        not translated)."""
        return _in_language(self, key, lang)

    def hint(self, level: int, lang: str | None = None) -> str:
        return self.text("hints", lang)[level - 1]

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

    def parts(self) -> list[tuple[int, tuple[Exercise, ...]]]:
        """(part, its exercises in learning order) for every part that has exercises."""
        return [
            (part, group)
            for part in sorted({e.part for e in self.exercises})
            if (group := tuple(e for e in self.exercises if e.part == part))
        ]


def _is_zh(lang: str | None) -> bool:
    return (lang or i18n.language()) == "zh"


def _in_language(record: Exercise | Mistake, key: str, lang: str | None):
    """A catalogue field in the current language: the ``zh`` sub-table's when the language
    is Chinese and it has the field, else the English one."""
    if _is_zh(lang) and record.zh.get(key):
        return record.zh[key]
    return getattr(record, key)


def part_name(part: int, lang: str | None = None) -> str:
    return (PARTS_ZH if _is_zh(lang) else PARTS)[part]


def blog_question(question: str, lang: str | None = None) -> str:
    return (BLOG_QUESTIONS_ZH if _is_zh(lang) else BLOG_QUESTIONS)[question]


def _zh(entry: dict) -> dict:
    """An entry's ``zh`` sub-table as a plain dict (hints as a tuple), or {}."""
    zh = dict(entry.get("zh", {}))
    if "hints" in zh:
        zh["hints"] = tuple(zh["hints"])
    return zh


def parse_catalogue(data: dict) -> Catalogue:
    mistakes = {
        mistake_id: Mistake(
            id=mistake_id, summary=entry["summary"], fix=entry["fix"], zh=_zh(entry)
        )
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
            part=entry.get("part", 1),
            forbidden=tuple(entry.get("forbidden", ())),
            zh=_zh(entry),
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
        for name in exercise.forbidden:
            if not isinstance(name, str) or "." not in name or " " in name:
                problems.append(f"{where}: forbidden {name!r} is not a dotted name")
        if exercise.part not in PARTS:
            problems.append(f"{where}: part {exercise.part!r} is not one of {list(PARTS)}")
        for prerequisite in exercise.prerequisites:
            if prerequisite in ids and catalogue.get(prerequisite).part > exercise.part:
                problems.append(f"{where}: prerequisite {prerequisite} is in a later part")
        problems += _zh_problems(where, exercise.zh, ZH_EXERCISE_KEYS)
        if exercise.zh.get("hints") is not None and (
            len(exercise.zh["hints"]) != 3 or not all(h.strip() for h in exercise.zh["hints"])
        ):
            problems.append(f"{where}: zh needs exactly three non-empty hints")
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
    # Part order: a later part never comes before an earlier one in learning (file) order.
    parts = [e.part for e in catalogue.exercises]
    if parts != sorted(parts):
        problems.append("exercises of a later part come before an earlier part in file order")
    for mistake in catalogue.mistakes.values():
        problems += _zh_problems(f"mistake {mistake.id}", mistake.zh, ZH_MISTAKE_KEYS)
    return problems


def _zh_problems(where: str, zh: dict, keys: tuple[str, ...]) -> list[str]:
    """A ``zh`` sub-table, when present, has every key (non-empty) and no unknown ones."""
    if not zh:
        return []
    problems = [f"{where}: zh lacks {key}" for key in keys if not zh.get(key)]
    problems += [f"{where}: zh has unknown key {key}" for key in zh if key not in keys]
    return problems
