"""The generated pages: the exercise index (from the catalogue) and the interview questions
(from the question bank), one per language."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from grader.catalogue import PARTS, PARTS_ZH, Catalogue, load_catalogue
from grader.interview.bank import load_bank
from grader.site.assets import DOCS_DIR, INDEX_MARKER, LANGUAGES

INDEX_TEXT = {
    "en": {
        "title": "Exercises",
        "intro": (
            "Work through them in this order. `bertprep check ID` grades one, "
            "`bertprep hint ID` gives the next hint, `bertprep watch` re-grades on every save."
        ),
        "blog": "blog question",
        "after": "after",
        "missing": "(page not written yet)",
        "parts": PARTS,
    },
    "zh": {
        "title": "练习",
        "intro": (
            "请按下面的顺序完成。`bertprep check ID` 为一道练习评分，`bertprep hint ID` "
            "给出下一级提示，`bertprep watch` 在每次保存后重新评分。"
        ),
        "blog": "博客问题",
        "after": "先完成",
        "missing": "（页面尚未写好）",
        "parts": PARTS_ZH,
    },
}


def _escape(text: str) -> str:
    """Catalogue prose as literal Markdown text: `*` would start emphasis, `<` a tag."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("<", "&lt;")


def render_exercise_index(language: str, catalogue: Catalogue | None = None) -> str:
    """The exercise list page for one language, in learning order, from the catalogue.

    An entry links to its page only when that page exists, so the strict build passes while
    pages are still being written; regenerate (``index``) when one is added.
    """
    catalogue = catalogue or load_catalogue()
    text = INDEX_TEXT[language]
    docs = DOCS_DIR / language
    order = {exercise.id: number for number, exercise in enumerate(catalogue.exercises, 1)}

    def link(exercise_id: str, label: str) -> str:
        page = catalogue.get(exercise_id).docs
        if (docs / page).is_file():
            return f"[{label}]({Path(page).name})"
        return label

    # The heading comes first: mkdocs takes the page title from a leading "# " line only.
    lines = [
        f"# {text['title']}",
        "",
        f"{INDEX_MARKER} from grader/catalogue.toml; edit the catalogue, not this page -->",
        "",
        text["intro"],
        "",
    ]
    # A numbered list rather than a table: titles and summaries are sentences, and five
    # columns squeeze them into a narrow, tall column. One section per part; the numbers run
    # on across parts (a list that starts at 21 keeps its number in HTML).
    parts = catalogue.parts()
    for part, exercises in parts:
        if len(parts) > 1:
            lines += [f"## {text['parts'][part]}", ""]
        for exercise in exercises:
            # Chinese titles and summaries where the catalogue has them ([exercise.zh]).
            local = exercise.zh if language == "zh" else {}
            title = local.get("title", exercise.title)
            summary = local.get("summary", exercise.summary)
            heading = f"**{link(exercise.id, title)}** `{exercise.id}`"
            if not (docs / exercise.docs).is_file():
                heading += f" {text['missing']}"
            facts = [f"{text['blog']} {', '.join(exercise.blog)}"]
            if exercise.prerequisites:
                after = ", ".join(link(p, str(order[p])) for p in exercise.prerequisites)
                facts.append(f"{text['after']} {after}")
            lines += [
                f"{order[exercise.id]}. {heading}",
                "",
                f"    {_escape(summary)} — *{'; '.join(facts)}*",
                "",
            ]
    return "\n".join(lines)


def index_path(language: str) -> Path:
    return DOCS_DIR / language / "exercises" / "index.md"


def write_exercise_index() -> list[Path]:
    """(Re)write docs/{en,zh}/exercises/index.md; a hand-written index (no marker) is kept."""
    written = []
    for language in LANGUAGES:
        path = index_path(language)
        if path.is_file() and INDEX_MARKER not in path.read_text(encoding="utf-8"):
            print(f"docs: {path} is hand-written; left as it is", file=sys.stderr)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_exercise_index(language), encoding="utf-8")
        written.append(path)
    return written


QUESTIONS_TEXT = {
    "en": {
        "title": "Interview questions",
        "intro": (
            "The question bank `bertprep interview` and `bertprep review` draw from, grouped by "
            "topic. Try to answer out loud before opening a question; `bertprep interview` "
            "adds a timer and rubric scoring, `bertprep review` spaced repetition."
        ),
        "count": "{n} questions in {t} topics.",
        "answer": "Model answer",
        "rubric": "Must mention",
        "follow_ups": "Follow-ups",
        "sources": "Sources",
        "exercise": "Practise it",
        "short": "In 30 seconds",
        "kinds": {"concept": "concept", "spot-the-bug": "spot the bug", "coding": "coding"},
        "difficulty": {1: "warm-up", 2: "standard", 3: "senior"},
    },
    "zh": {
        "title": "面试题",
        "intro": (
            "`bertprep interview` 与 `bertprep review` 使用的题库，按主题分组。"
            "展开答案之前，先试着说出你的回答；`bertprep interview` 带计时和评分要点，"
            "`bertprep review` 做间隔重复。"
        ),
        "count": "共 {n} 道题，{t} 个主题。",
        "answer": "参考答案",
        "rubric": "必须提到",
        "follow_ups": "追问",
        "sources": "出处",
        "exercise": "动手练习",
        "short": "30 秒版",
        "kinds": {"concept": "概念", "spot-the-bug": "找错", "coding": "编程"},
        "difficulty": {1: "热身", 2: "标准", 3: "资深"},
    },
}


def questions_page_path(language: str) -> Path:
    return DOCS_DIR / language / "interview-questions.md"


def _source_markdown(source: str) -> str:
    """A bank source reference as a link where it has a public address."""
    kind, _, rest = source.partition(":")
    if kind == "paper":
        arxiv, _, section = rest.partition("#")
        return f"[arXiv:{arxiv}](https://arxiv.org/abs/{arxiv}) §{section}"
    if kind == "docs":
        return f"<{rest}>"
    location, _, symbol = rest.partition("#")
    if location.startswith("bertprep/"):
        return f"`{location.removeprefix('bertprep/')}` `{symbol}`"
    owner, repo, path = [*location.split("/", 2), "", ""][:3]
    branch = "main" if owner == "huggingface" else "master"
    url = f"https://github.com/{owner}/{repo}/blob/{branch}/{path}"
    return f"[{owner}/{repo} `{path}`]({url}) `{symbol}`"


TITLE_CHARS = 110


def _title_line(question: str) -> str:
    """A one-line admonition title: the question's first line of prose, shortened."""
    lines = [line.strip() for line in question.strip().splitlines()]
    prose = [line for line in lines if line and not line.startswith(("```", ">"))]
    title = prose[0] if prose else lines[0].lstrip("> ")
    if len(title) > TITLE_CHARS:
        title = title[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return _escape(title).replace('"', "&quot;")


def _as_markdown(text: str) -> str:
    """Bank prose is written as Markdown (backticks, emphasis, fenced quotes): keep it, but
    never let a stray `<` open an HTML tag."""
    return text.replace("<", "&lt;")


def _indented(text: str) -> str:
    return "\n".join(f"    {line}" if line else "" for line in text.splitlines())


def exercises_linking_questions(language: str, catalogue: Catalogue) -> dict[str, list[str]]:
    """question id -> the exercises whose page links to it (``interview-questions.md#<id>``),
    so the question page links back: every link between the two goes both ways."""
    linked: dict[str, list[str]] = {}
    for exercise in catalogue.exercises:
        page = DOCS_DIR / language / exercise.docs
        if not page.is_file():
            continue
        for question_id in re.findall(r"interview-questions\.md#([a-z0-9_-]+)",
                                      page.read_text(encoding="utf-8")):  # fmt: skip
            if exercise.id not in linked.setdefault(question_id, []):
                linked[question_id].append(exercise.id)
    return linked


def render_questions_page(language: str) -> str:
    """The question bank as one page per language (grader/interview/questions/*.toml, the
    CLI's data)."""

    text = QUESTIONS_TEXT[language]
    questions = load_bank()
    catalogue = load_catalogue()
    linked_from = exercises_linking_questions(language, catalogue)

    def title_of(exercise_id: str) -> str:
        exercise = catalogue.get(exercise_id)
        return (exercise.zh if language == "zh" else {}).get("title", exercise.title)

    by_topic: dict[str, list] = {}
    for question in questions:
        by_topic.setdefault(question.topic, []).append(question)
    lines = [
        f"# {text['title']}",
        "",
        f"{INDEX_MARKER} from grader/interview/questions/*.toml; edit the bank, not this page -->",
        "",
        text["intro"],
        "",
        text["count"].format(n=len(questions), t=len(by_topic)),
        "",
    ]
    for topic, group in by_topic.items():
        lines += [f"## {topic}", ""]
        for question in sorted(group, key=lambda q: (q.difficulty, q.id)):
            body = question.text(language)
            label = (
                f"{text['kinds'][question.kind]} · {text['difficulty'][question.difficulty]}"
            )
            # An anchor per question (its id), outside the collapsed block, so exercise pages
            # can link to exercise-related questions: interview-questions.md#<id>.
            lines += [f'<a id="{question.id}"></a>', ""]
            lines += [f'??? question "{_title_line(body.question)}"', ""]
            lines += [f"    *{label}* · `{question.id}`", ""]
            if "\n" in body.question.strip() or len(body.question) > TITLE_CHARS:
                lines += [_indented(_as_markdown(body.question)), ""]  # quoted code stays whole
            if body.short:
                lines += [f"    **{text['short']}**", "", _indented(_as_markdown(body.short)), ""]
            lines += [f"    **{text['answer']}**", "", _indented(_as_markdown(body.answer)), ""]
            lines += [f"    **{text['rubric']}**", ""]
            lines += [f"    - [ ] {_escape(point)}" for point in body.rubric] + [""]
            lines += [f"    **{text['follow_ups']}**", ""]
            lines += [f"    - {_escape(follow)}" for follow in body.follow_ups] + [""]
            practised = [question.exercise] if question.exercise else []
            practised += [e for e in linked_from.get(question.id, []) if e not in practised]
            if practised:
                links = ", ".join(
                    f"[{_escape(title_of(exercise_id))}]"
                    f"(exercises/{Path(catalogue.get(exercise_id).docs).name})"
                    f" (`bertprep check {exercise_id}`)"
                    for exercise_id in practised
                )
                lines += [f"    **{text['exercise']}**: {links}", ""]
            sources = "; ".join(_source_markdown(source) for source in question.sources)
            lines += [f"    **{text['sources']}**: {sources}", ""]
    return "\n".join(lines).rstrip() + "\n"


def write_questions_pages() -> list[Path]:
    written = []
    for language in LANGUAGES:
        path = questions_page_path(language)
        path.write_text(render_questions_page(language), encoding="utf-8")
        written.append(path)
    return written
