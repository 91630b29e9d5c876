"""What the learner reads: the overview with the next step, and one verdict per exercise."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.catalogue import PARTS, Catalogue, Exercise
from grader.progress import Progress
from grader.sandbox.runner import Verdict
from grader.workspace import current_status, next_exercise

STATUS_STYLE = {
    "passed": "[green]passed[/]",
    "failed": "[red]failed[/]",
    "error": "[red]error[/]",
    "not_started": "[dim]not started[/]",
    "in_progress": "[yellow]in progress[/]",
    "syntax_error": "[red]does not parse[/]",
    "missing": "[red]file missing[/]",
    "not_a_file": "[red]not a regular file[/]",
    "too_large": "[yellow]too large to inspect; run check[/]",
}

VERDICT_LABEL = {
    "passed": "[green]PASSED[/]",
    "failed": "[red]FAILED[/]",
    "error": "[red]ERROR[/]",
    "not_started": "[dim]NOT STARTED[/]",
}


def print_overview(console: Console, catalogue: Catalogue, progress: Progress) -> None:
    table = Table(title="bertprep: BERT, implemented and graded", title_justify="left")
    for column in ("#", "id", "exercise", "blog", "status"):
        table.add_column(column)
    done, number = 0, 0
    for part, exercises in catalogue.parts():  # a section row per part; numbers run on
        if number:
            table.add_section()
        table.add_row("", "", f"[bold]{escape(PARTS[part])}[/]", "", "")
        for exercise in exercises:
            number += 1
            status = current_status(exercise, progress)
            done += status == "passed"
            table.add_row(str(number), exercise.id, exercise.title, " ".join(exercise.blog),
                          STATUS_STYLE.get(status, status))  # fmt: skip
    console.print(table)
    console.print(f"{done}/{len(catalogue.exercises)} exercises passed.")
    upcoming = next_exercise(catalogue, progress)
    if upcoming is None:
        console.print("[green]Everything passes.[/] Try `bertprep verify` or the docs' interview "
                      "questions next.")  # fmt: skip
        return
    console.print(
        f"Next: [bold]{upcoming.id}[/] — {upcoming.summary}\n"
        f"  1. edit exercises/{upcoming.file}\n"
        f"  2. run `bertprep check {upcoming.id}` (or keep `bertprep watch` open)\n"
        f"  3. stuck? `bertprep hint {upcoming.id}`"
    )


def exercise_rows(catalogue: Catalogue, progress: Progress) -> list[dict]:
    """``bertprep list --json``: one plain record per exercise, in learning order."""
    return [
        {
            "id": e.id,
            "title": e.title,
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


def render_verdict(
    console: Console, verdict: Verdict, exercise: Exercise, hint_level: int,
    folder: str = "exercises",
) -> None:  # fmt: skip
    counts = f"{verdict.passed}/{verdict.total} checks" if verdict.total else ""
    console.print(f"[bold]{exercise.id}[/]  {VERDICT_LABEL[verdict.status]}  {counts}")
    if verdict.status == "passed":
        return
    if verdict.status == "not_started":
        console.print(f"  edit exercises/{exercise.file} — {escape(exercise.summary)}")
        console.print(f"  next: bertprep hint {exercise.id}")
        return
    if verdict.check:
        console.print(f"  check: {escape(verdict.check)}")
    console.print(f"  problem: {escape(verdict.message)}")
    if verdict.inputs:
        console.print(f"  input: {escape(verdict.inputs)}")
    if verdict.expected:
        console.print(f"  expected {escape(verdict.expected)}")
    if verdict.got:
        console.print(f"  got      {escape(verdict.got)}")
    if verdict.location:
        console.print(f"  where: {escape(folder)}/{escape(verdict.location)}")
    if verdict.diagnosis_text:
        console.print(f"  [yellow]diagnosis:[/] {escape(verdict.diagnosis_text)}")
    console.print(f"  next: bertprep hint {exercise.id} --level {min(3, hint_level + 1)}")


def print_hint(console: Console, exercise: Exercise, shown: int, chained: bool) -> None:
    console.print(f"[bold]{exercise.id}[/] hint {shown}/3: {escape(exercise.hints[shown - 1])}")
    if shown < 3 and chained:
        console.print(f"  (run `bertprep hint {exercise.id}` again for level {shown + 1})")
    console.print(f"  read more: docs/en/{exercise.docs} (or `bertprep docs` for the site)")
