"""What the learner reads: the overview with the next step, and one verdict per exercise."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from grader.catalogue import Catalogue, Exercise, part_name
from grader.i18n import N_, _, language
from grader.progress import Progress
from grader.sandbox.runner import Verdict
from grader.workspace import current_status

# (style, text) per status; the text is translated where it is shown.
STATUS_STYLE = {
    "passed": ("green", N_("passed")),
    "failed": ("red", N_("failed")),
    "error": ("red", N_("error")),
    "not_started": ("dim", N_("not started")),
    "in_progress": ("yellow", N_("in progress")),
    "syntax_error": ("red", N_("does not parse")),
    "missing": ("red", N_("file missing")),
    "not_a_file": ("red", N_("not a regular file")),
    "too_large": ("yellow", N_("too large to inspect; run check")),
    "skipped": ("yellow", N_("checks skipped")),
    "borrowed": ("red", N_("uses the answer")),
    "tampered": ("red", N_("not graded")),
}

VERDICT_LABEL = {
    "passed": ("green", N_("PASSED")),
    "failed": ("red", N_("FAILED")),
    "error": ("red", N_("ERROR")),
    "not_started": ("dim", N_("NOT STARTED")),
    "skipped": ("yellow", N_("SKIPPED")),
    "borrowed": ("red", N_("BORROWED")),
    "tampered": ("red", N_("NOT GRADED")),
}


def styled(table: dict[str, tuple[str, str]], status: str) -> str:
    """A status or verdict label in its colour and the current language."""
    if status not in table:
        return escape(status)
    style, text = table[status]
    return f"[{style}]{escape(_(text))}[/]"


def print_overview(
    console: Console, catalogue: Catalogue, progress: Progress, drills_due: int = 0
) -> None:
    table = Table(title=_("bertprep: BERT, implemented and graded"), title_justify="left")
    for column in ("#", "id", _("exercise"), _("blog"), _("status")):
        table.add_column(column)
    statuses: dict[str, str] = {}  # each file is read and parsed once
    number = 0
    for part, exercises in catalogue.parts():  # a section row per part; numbers run on
        if number:
            table.add_section()
        table.add_row("", "", f"[bold]{escape(part_name(part))}[/]", "", "")
        for exercise in exercises:
            number += 1
            status = statuses[exercise.id] = current_status(exercise, progress)
            table.add_row(str(number), exercise.id, escape(exercise.text("title")),
                          " ".join(exercise.blog), styled(STATUS_STYLE, status))  # fmt: skip
    console.print(table)
    done = sum(status == "passed" for status in statuses.values())
    console.print(_("{done}/{total} exercises passed.").format(
        done=done, total=len(catalogue.exercises)))  # fmt: skip
    if drills_due == 1:
        console.print(_("1 drill is due: run `bertprep drill` to write that exercise again."))
    elif drills_due > 1:
        console.print(_("{n} drills are due: run `bertprep drill` (or `bertprep drill "
                        "--list`).").format(n=drills_due))  # fmt: skip
    upcoming = next((e for e in catalogue.exercises if statuses[e.id] != "passed"), None)
    if upcoming is None:
        console.print(_("[green]Everything passes.[/] Try `bertprep verify` or the docs' "
                        "interview questions next."))  # fmt: skip
        return
    console.print(
        _("Next: [bold]{id}[/] — {summary}\n"
          "  1. edit exercises/{file}\n"
          "  2. run `bertprep check {id}` (or keep `bertprep watch` open)\n"
          "  3. stuck? `bertprep hint {id}`").format(
            id=upcoming.id, summary=escape(upcoming.text("summary")), file=upcoming.file)
    )  # fmt: skip


def exercise_rows(catalogue: Catalogue, progress: Progress) -> list[dict]:
    """``bertprep list --json``: one plain record per exercise, in learning order."""
    return [
        {
            "id": e.id,
            "title": e.text("title"),
            "file": f"exercises/{e.file}",
            "blog": list(e.blog),
            "prerequisites": list(e.prerequisites),
            "docs": e.docs,
            "part": e.part,
            "mistakes": list(e.mistakes),
            "status": current_status(e, progress),
        }
        for e in catalogue.exercises
    ]


# Shades that read without colour, and a light-to-dark ramp of the 256-colour palette.
SHADES = " ░░▒▒▒▓▓▓███"
RAMP = (253, 195, 153, 117, 111, 75, 69, 33, 27, 21, 19, 17)


def heatmap(rows: list[str], columns: list[str], values: list[list[float]], *,
            title: str = "", scale: float | None = None, legend: bool = True) -> Group:  # fmt: skip
    """A grid of two-character shaded cells, darker for larger values (``scale``: the value
    drawn darkest, default the largest); columns numbered, tens above units."""
    top = scale or max((max(r) for r in values if r), default=0.0) or 1.0
    table = Table(show_header=True, box=None, padding=(0, 0), pad_edge=False, show_edge=False)
    table.add_column("", justify="right", no_wrap=True)
    for index in range(len(columns)):  # past 10 columns: tens above units
        tens = (str(index // 10 % 10) if index >= 10 else " ") if len(columns) > 10 else ""
        header = f" {tens}\n {index % 10}" if tens else f" {index % 10}"
        table.add_column(header, no_wrap=True, min_width=2, max_width=2)
    for label, row in zip(rows, values, strict=True):
        cells = []
        for value in row:
            level = min(len(RAMP) - 1, max(0, int(value / top * len(RAMP))))
            cells.append(Text(SHADES[level] * 2, style=f"color({RAMP[level]})"))
        table.add_row(Text(f"{label[:14]} │"), *cells)
    parts: list = [Text(title, style="bold")] if title else []
    parts.append(table)
    if legend:
        parts.append(Text("  ".join(f"{i}:{c[:12]}" for i, c in enumerate(columns)), style="dim"))
    return Group(*parts)


def error_heatmap(grid: dict) -> Group:
    """Where |got - expected| is large, from a failure's error grid (grader/checks/kit.py)."""
    values = grid["values"]
    row_step, column_step = (grid.get("steps") or [1, 1])[:2]
    rows = [f"{grid.get('rows', '')} {i * row_step}" for i in range(len(values))]
    columns = [str(i * column_step) for i in range(len(values[0]))]
    largest = max(max(row) for row in values)
    title = _("where the error lives: |got - expected| of {what}, darkest = {largest:.3g}; "
              "rows: {rows}, columns: {columns}{pooled}").format(
        what=grid.get("title", ""), largest=largest, rows=grid.get("rows", ""),
        columns=grid.get("columns", ""),
        pooled=_(" (each cell the largest of {r} x {c})").format(r=row_step, c=column_step)
        if row_step * column_step > 1 else "")  # fmt: skip
    return heatmap(rows, columns, values, title=title, legend=False)


def render_verdict(
    console: Console, verdict: Verdict, exercise: Exercise, hint_level: int,
    folder: str = "exercises",
) -> None:  # fmt: skip
    counts = (_("{passed}/{total} checks").format(passed=verdict.passed, total=verdict.total)
              if verdict.total else "")  # fmt: skip
    label = styled(VERDICT_LABEL, verdict.status)
    console.print(f"[bold]{exercise.id}[/]  {label}  {counts}")
    if verdict.status == "passed":
        return
    if verdict.status == "not_started":
        console.print("  " + _("edit exercises/{file} — {summary}").format(
            file=exercise.file, summary=escape(exercise.text("summary"))))  # fmt: skip
        console.print("  " + _("next: bertprep hint {id}").format(id=exercise.id))
        return
    # Labelled lines; "expected" and "got" are padded to the same width in each language.
    lines = [
        (_("check: {text}"), verdict.check),
        (_("problem: {text}"), verdict.message or "-"),
        (_("input: {text}"), verdict.inputs),
        (_("expected {text}"), verdict.expected),
        (_("got      {text}"), verdict.got),
        (_("where: {text}"), verdict.location and f"{folder}/{verdict.location}"),
    ]
    for line, value in lines:
        if value:
            console.print("  " + line.format(text=escape(value)))
    grid = getattr(verdict, "grid", None)
    if grid and len(grid.get("values", [])) > 1 and len(grid["values"][0]) > 1:
        console.print(Padding(error_heatmap(grid), (0, 0, 0, 2)))
    if verdict.diagnosis_text:
        console.print("  " + _("[yellow]diagnosis:[/] {text}").format(
            text=escape(verdict.diagnosis_text)))  # fmt: skip
    console.print("  " + _("next: bertprep hint {id} --level {level}").format(
        id=exercise.id, level=min(3, hint_level + 1)))  # fmt: skip


def print_hint(console: Console, exercise: Exercise, shown: int, chained: bool) -> None:
    console.print(_("[bold]{id}[/] hint {level}/3: {hint}").format(
        id=exercise.id, level=shown, hint=escape(exercise.hint(shown))))  # fmt: skip
    if shown < 3 and chained:
        console.print("  " + _("(run `bertprep hint {id}` again for level {level})").format(
            id=exercise.id, level=shown + 1))  # fmt: skip
    more = _("read more: docs/{lang}/{page} (or `bertprep docs` for the site)")
    console.print("  " + more.format(lang=language(), page=exercise.docs))
