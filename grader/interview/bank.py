"""The interview question bank: load the TOML files in ``questions/`` beside this module and
validate them.

The schema is the one documented in ``grader/interview/questions/README.md``. The bank is data
written by hand in two languages, so the loader checks everything a reader or the interview
mode relies on and reports *every* problem at once, each naming its file and question id,
instead of failing on the first one: a bank author fixes a whole file in one pass.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from grader.catalogue import PROJECT_ROOT, load_catalogue

QUESTIONS_DIR = Path(__file__).with_name("questions")
LANGUAGES = ("en", "zh")
KINDS = ("concept", "spot-the-bug", "coding")
RUBRIC_POINTS = (3, 5)  # inclusive bounds
FOLLOW_UPS = (1, 3)

QUESTION_KEYS = {"id", "topic", "kind", "difficulty", "tags", "exercise", "sources", *LANGUAGES}
TEXT_KEYS = {"question", "answer", "short", "rubric", "follow_ups"}
# The 30-second answer: at most this many English words / Chinese characters.
SHORT_LIMIT = {"en": 70, "zh": 160}

ID_RE = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")
# arXiv identifiers: new style yymm.nnnn (before 2015) / yymm.nnnnn (since), or old style
# archive/yymmnnn; an optional version suffix either way.
ARXIV_NEW_RE = re.compile(r"(?P<yy>\d{2})(?P<mm>\d{2})\.(?P<number>\d{4,5})(?:v\d+)?")
ARXIV_OLD_RE = re.compile(r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{2}(?P<mm>\d{2})\d{3}(?:v\d+)?")
SECTION_RE = re.compile(r"(?:\d+|[A-Z])(?:\.\d+)*")  # 3, 3.2.1, A, A.2
SYMBOL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
OWNER_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
REPO_RE = re.compile(r"[A-Za-z0-9._-]+")
PATH_SEGMENT_RE = re.compile(r"[A-Za-z0-9_.+-]+")
CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
OWN_REPO = "bertprep"  # code:bertprep/<path>#<symbol> points into this repository


@dataclass(frozen=True)
class QuestionText:
    """One language's version of a question."""

    question: str
    answer: str
    rubric: tuple[str, ...]
    follow_ups: tuple[str, ...]
    short: str = ""  # what you would say in 30 seconds; shown before the full answer


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    kind: str
    difficulty: int
    tags: tuple[str, ...]
    exercise: str | None
    sources: tuple[str, ...]
    texts: dict[str, QuestionText]
    file: Path

    def text(self, lang: str) -> QuestionText:
        return self.texts[lang]


class BankError(Exception):
    """The bank does not follow the schema; ``problems`` lists every violation found."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def source_problem(source: object, root: Path = PROJECT_ROOT) -> str | None:
    """Why ``source`` is not one of the documented reference forms (None when it is)."""
    if not isinstance(source, str):
        return f"source {source!r} is not a string"
    kind, colon, rest = source.partition(":")
    if not colon or kind not in ("paper", "code", "docs"):
        return f"source {source!r} does not start with paper:, code: or docs:"
    if kind == "docs":
        return _docs_problem(source, rest)
    target, hash_mark, anchor = rest.partition("#")
    if not hash_mark or not target or not anchor:
        return f"source {source!r} needs the form {kind}:<...>#<...>"
    if kind == "paper":
        return _paper_problem(source, target, anchor)
    return _code_problem(source, target, anchor, root)


def _docs_problem(source: str, url: str) -> str | None:
    parsed = urlparse(url)
    if parsed.scheme != "https" or "." not in parsed.netloc or re.search(r"\s", url):
        return f"source {source!r} is not docs:<https URL>"
    return None


def _paper_problem(source: str, arxiv_id: str, section: str) -> str | None:
    new_style = ARXIV_NEW_RE.fullmatch(arxiv_id)
    old_style = ARXIV_OLD_RE.fullmatch(arxiv_id)
    match = new_style or old_style
    if not match or not 1 <= int(match["mm"]) <= 12:
        return f"source {source!r}: {arxiv_id!r} is not an arXiv id (like 1810.04805)"
    # arXiv moved from 4- to 5-digit numbers in January 2015: the length is part of the id.
    if new_style and len(new_style["number"]) != (5 if new_style["yy"] >= "15" else 4):
        return f"source {source!r}: {arxiv_id!r} has the wrong number of digits for its year"
    if not SECTION_RE.fullmatch(section):
        return f"source {source!r}: section {section!r} is not like 3.2.1 or A.2"
    return None


def _code_problem(source: str, location: str, symbol: str, root: Path) -> str | None:
    if not SYMBOL_RE.fullmatch(symbol):
        return f"source {source!r}: {symbol!r} is not a symbol name (like BertSelfAttention)"
    segments = location.split("/")
    if segments[0] == OWN_REPO:
        path_segments = segments[1:]
    else:
        if len(segments) < 3 or not OWNER_RE.fullmatch(segments[0]):
            return f"source {source!r} is not code:<owner>/<repo>/<path>#<symbol>"
        if not REPO_RE.fullmatch(segments[1]):
            return f"source {source!r}: {segments[1]!r} is not a repository name"
        path_segments = segments[2:]
    if not path_segments or any(
        s in (".", "..") or not PATH_SEGMENT_RE.fullmatch(s) for s in path_segments
    ):
        return f"source {source!r}: the file path is not a plain relative path"
    if segments[0] != OWN_REPO:
        return None
    # Our own code can be checked for real: the file exists and still defines the symbol.
    path = root.joinpath(*path_segments)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return f"source {source!r}: no file {'/'.join(path_segments)} in this repository"
    for part in symbol.split("."):
        if not re.search(rf"(?<![A-Za-z0-9_]){re.escape(part)}(?![A-Za-z0-9_])", text):
            return f"source {source!r}: {part!r} does not appear in {'/'.join(path_segments)}"
    return None


def _string_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)


def _length(text: str, lang: str) -> int:
    """Words for English; for Chinese, CJK characters plus Latin words."""
    if lang == "en":
        return len(text.split())
    return len(CJK_RE.findall(text)) + len(re.findall(r"[A-Za-z0-9_]+", text))


def _text_problems(entry: dict, lang: str) -> list[str]:
    text = entry.get(lang)
    if not isinstance(text, dict):
        return [f"missing [question.{lang}] table"]
    problems = [f"[question.{lang}] has unknown key {k!r}" for k in sorted(set(text) - TEXT_KEYS)]
    for key in ("question", "answer"):
        if not isinstance(text.get(key), str) or not text[key].strip():
            problems.append(f"[question.{lang}] {key} is missing or empty")
    for key, (low, high) in (("rubric", RUBRIC_POINTS), ("follow_ups", FOLLOW_UPS)):
        items = text.get(key)
        if not _string_list(items):
            problems.append(f"[question.{lang}] {key} must be a list of non-empty strings")
        elif not low <= len(items) <= high:
            problems.append(f"[question.{lang}] has {len(items)} {key}; needs {low} to {high}")
    short = text.get("short")
    if short is not None:
        if not isinstance(short, str) or not short.strip():
            problems.append(f"[question.{lang}] short must be a non-empty string")
        elif _length(short, lang) > SHORT_LIMIT[lang]:
            problems.append(f"[question.{lang}] short has {_length(short, lang)} "
                            f"{'words' if lang == 'en' else 'characters'}; at most "
                            f"{SHORT_LIMIT[lang]} (30 seconds)")  # fmt: skip
    if (
        lang == "zh"
        and isinstance(text.get("question"), str)
        and not CJK_RE.search(text["question"])
    ):
        problems.append("[question.zh] question has no Chinese text")
    return problems


def question_problems(
    entry: object, topic: str, exercise_ids: Iterable[str], root: Path = PROJECT_ROOT
) -> list[str]:
    """Schema violations of one ``[[question]]`` table (its file's topic is ``topic``)."""
    if not isinstance(entry, dict):
        return ["[[question]] is not a table"]
    problems = [f"unknown key {k!r}" for k in sorted(set(entry) - QUESTION_KEYS)]
    question_id = entry.get("id")
    if not isinstance(question_id, str) or not ID_RE.fullmatch(question_id):
        problems.append(f"id {question_id!r} is not a lower-case slug")
    if entry.get("topic") != topic:
        problems.append(f"topic {entry.get('topic')!r} does not match the file name ({topic!r})")
    if entry.get("kind") not in KINDS:
        problems.append(f"kind {entry.get('kind')!r} is not one of {', '.join(KINDS)}")
    difficulty = entry.get("difficulty")
    if type(difficulty) is not int or not 1 <= difficulty <= 3:  # bool is an int: exclude it
        problems.append(f"difficulty {difficulty!r} is not 1, 2 or 3")
    if not _string_list(entry.get("tags")):
        problems.append("tags must be a list of non-empty strings")
    exercise = entry.get("exercise")
    if exercise is not None and exercise not in set(exercise_ids):
        problems.append(f"exercise {exercise!r} is not a catalogue exercise id")
    sources = entry.get("sources")
    if not isinstance(sources, list) or not sources:
        problems.append("sources must be a non-empty list")
    else:
        problems.extend(p for p in (source_problem(s, root) for s in sources) if p)
    for lang in LANGUAGES:
        problems.extend(_text_problems(entry, lang))
    texts = [entry.get(lang) for lang in LANGUAGES]
    if all(isinstance(t, dict) for t in texts):
        for key in ("rubric", "follow_ups"):
            counts = {lang: len(t.get(key) or []) for lang, t in zip(LANGUAGES, texts, strict=True)}
            if len(set(counts.values())) > 1:
                listed = ", ".join(f"{n} in {lang}" for lang, n in counts.items())
                problems.append(f"{key} counts differ between languages ({listed})")
    return problems


def _parse(entry: dict, path: Path) -> Question:
    return Question(
        id=entry["id"],
        topic=entry["topic"],
        kind=entry["kind"],
        difficulty=entry["difficulty"],
        tags=tuple(entry["tags"]),
        exercise=entry.get("exercise"),
        sources=tuple(entry["sources"]),
        texts={
            lang: QuestionText(
                question=entry[lang]["question"].strip(),
                answer=entry[lang]["answer"].strip(),
                rubric=tuple(entry[lang]["rubric"]),
                follow_ups=tuple(entry[lang]["follow_ups"]),
                short=entry[lang].get("short", "").strip(),
            )
            for lang in LANGUAGES
        },
        file=path,
    )


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def read_bank(
    folder: Path = QUESTIONS_DIR, root: Path = PROJECT_ROOT
) -> tuple[list[Question], list[str]]:
    """Every valid question in ``folder`` and every problem found (file and id named)."""
    exercise_ids = load_catalogue().ids()
    questions: list[Question] = []
    problems: list[str] = []
    seen: dict[str, str] = {}  # question id -> the file that defined it first
    for path in sorted(Path(folder).glob("*.toml")):
        name = _display(path, root)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            problems.append(f"{name}: not valid TOML: {err}")
            continue
        extra = sorted(set(data) - {"question"})
        if extra:
            problems.append(f"{name}: unknown top-level keys {extra} (only [[question]] tables)")
        entries = data.get("question")
        if not isinstance(entries, list) or not entries:
            problems.append(f"{name}: holds no [[question]] tables")
            continue
        for position, entry in enumerate(entries, start=1):
            question_id = entry.get("id") if isinstance(entry, dict) else None
            where = f"{name}: question {question_id or f'#{position}'}"
            found = question_problems(entry, path.stem, exercise_ids, root)
            if isinstance(question_id, str):
                if question_id in seen:
                    found.append(f"duplicate id (first defined in {seen[question_id]})")
                seen.setdefault(question_id, name)
            problems.extend(f"{where}: {problem}" for problem in found)
            if not found:
                questions.append(_parse(entry, path))
    return questions, problems


def load_bank(folder: Path = QUESTIONS_DIR, root: Path = PROJECT_ROOT) -> list[Question]:
    """The questions in ``folder``, in file-name then file order; BankError if any is invalid."""
    questions, problems = read_bank(folder, root)
    if problems:
        raise BankError(problems)
    return questions


def topics(questions: Iterable[Question]) -> list[str]:
    return sorted({q.topic for q in questions})


def select_questions(
    folder: Path | None, topic_list: str | None, lang: str
) -> tuple[list[Question], tuple[str, ...]]:
    """The bank's questions on the chosen comma-separated topics (all when empty), and those
    topics. Raises BankError naming every problem when the bank, a topic or the language is
    not usable."""
    if lang not in LANGUAGES:
        raise BankError([f"--lang takes {' or '.join(LANGUAGES)}, not {lang!r}"])
    folder = folder or QUESTIONS_DIR
    questions = load_bank(folder)
    if not questions:
        raise BankError([f"no questions in {folder} (one <topic>.toml per topic)"])
    known = topics(questions)
    chosen = tuple(t.strip() for t in (topic_list or "").split(",") if t.strip())
    unknown = [t for t in chosen if t not in known]
    if unknown:
        raise BankError([f"unknown topics {', '.join(unknown)}; known: {', '.join(known)}"])
    return [q for q in questions if not chosen or q.topic in chosen], chosen
