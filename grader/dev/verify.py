"""``bertprep verify``: the grader checks itself (rustlings' ``dev check``, stricter).

1. The catalogue is complete and consistent (hints, blog question, docs page, files, checks).
2. Every untouched stub in exercises/ grades ``not_started``.
3. Every solution in solutions/ grades ``passed``.
4. Every known mistake an exercise lists has a mutant in tests/mutants/<id>/ — a whole file
   ``<mistake>.py``, or ``<mistake>.edit``, edits to the solution — and grading that mutant
   gives ``failed`` with exactly that diagnosis.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.catalogue import PROJECT_ROOT, Catalogue, catalogue_problems, load_catalogue
from grader.sandbox.runner import Verdict, Worker, run_checks
from grader.sandbox.target import resolve_target

MUTANTS_DIR = PROJECT_ROOT / "tests" / "mutants"


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


MUTANT_SUFFIXES = (".py", ".edit")
EDIT_BLOCK = re.compile(r"^<<<<<<< solution\n(.*?)^=======\n(.*?)^>>>>>>> mutant\n", re.S | re.M)


class MutantError(ValueError):
    """A mutant that cannot be built (an edit that no longer matches its solution)."""


def mutant_path(exercise_id: str, mistake: str) -> Path:
    """``<mistake>.py`` (a whole replacement file) or ``<mistake>.edit`` (edits to the
    solution); the .py form when both exist."""
    folder = MUTANTS_DIR / exercise_id
    for suffix in MUTANT_SUFFIXES:
        if (folder / f"{mistake}{suffix}").is_file():
            return folder / f"{mistake}{suffix}"
    return folder / f"{mistake}.py"


def mutant_files(catalogue: Catalogue) -> list[tuple[str, str, Path]]:
    """(exercise id, mistake id, mutant file) for every mistake the catalogue lists."""
    return [
        (exercise.id, mistake, mutant_path(exercise.id, mistake))
        for exercise in catalogue.exercises
        for mistake in exercise.mistakes
    ]


def apply_edits(solution: str, edits: str, name: str) -> str:
    """Apply the ``<<<<<<< solution / ======= / >>>>>>> mutant`` blocks of an .edit file.

    Each solution side must occur exactly once, so a mutant whose solution has since changed
    fails loudly instead of silently testing something else.
    """
    blocks = EDIT_BLOCK.findall(edits)
    if not blocks:
        raise MutantError(f"{name}: no <<<<<<< solution / ======= / >>>>>>> mutant block")
    text = solution
    for find, replace in blocks:
        count = text.count(find)
        if count != 1:
            raise MutantError(
                f"{name}: the solution text to replace occurs {count} times, not once:\n{find}"
            )
        text = text.replace(find, replace)
    return text


def mutant_source(exercise_file: str, mutant: Path) -> str:
    if mutant.suffix == ".py":
        return mutant.read_text(encoding="utf-8")
    solution = (resolve_target("solutions") / exercise_file).read_text(encoding="utf-8")
    return apply_edits(solution, mutant.read_text(encoding="utf-8"), mutant.name)


def _describe(verdict: Verdict) -> str:
    return f"{verdict.status} ({verdict.message}; diagnosis {verdict.diagnosis})"


def grade_mutant(exercise_id: str, mutant: Path, catalogue: Catalogue, worker: Worker) -> Verdict:
    """Grade one mutant: a copy of solutions/ with the exercise's file replaced by it."""
    exercise = catalogue.get(exercise_id)
    with tempfile.TemporaryDirectory(prefix="bertprep-mutant-") as tmp:
        target = Path(tmp) / "target"
        shutil.copytree(
            resolve_target("solutions"), target, ignore=shutil.ignore_patterns("__pycache__")
        )
        (target / exercise.file).write_text(mutant_source(exercise.file, mutant), "utf-8")
        return run_checks([exercise_id], target, worker=worker, catalogue=catalogue)[exercise_id]


def verify(
    catalogue: Catalogue | None = None,
    *,
    only: list[str] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> VerifyReport:
    catalogue = catalogue or load_catalogue()
    report = VerifyReport(problems=catalogue_problems(catalogue))
    ids = only or catalogue.ids()
    listed = {(e, m) for e, m, _ in mutant_files(catalogue)}
    for path in sorted(p for p in MUTANTS_DIR.glob("*/*") if p.suffix in MUTANT_SUFFIXES):
        if (path.parent.name, path.stem) not in listed:
            report.problems.append(
                f"mutant {path.relative_to(PROJECT_ROOT)} is not in the catalogue"
            )
    with Worker() as worker:
        progress("stubs should grade not_started")
        for exercise_id, verdict in run_checks(
            ids, resolve_target("exercises"), worker=worker, catalogue=catalogue
        ).items():
            report.checked += 1
            if verdict.status != "not_started":
                report.problems.append(f"stub {exercise_id}: {_describe(verdict)}")
        progress("solutions should pass")
        for exercise_id, verdict in run_checks(
            ids, resolve_target("solutions"), worker=worker, catalogue=catalogue
        ).items():
            report.checked += 1
            if verdict.status != "passed":
                report.problems.append(f"solution {exercise_id}: {_describe(verdict)}")
        for exercise_id, mistake, path in mutant_files(catalogue):
            if exercise_id not in ids:
                continue
            if not path.is_file():
                report.problems.append(f"{exercise_id}: no mutant for mistake {mistake} at {path}")
                continue
            progress(f"mutant {exercise_id}/{mistake} should be caught")
            try:
                verdict = grade_mutant(exercise_id, path, catalogue, worker)
            except MutantError as err:
                report.problems.append(str(err))
                continue
            report.checked += 1
            if verdict.status != "failed" or verdict.diagnosis != mistake:
                report.problems.append(
                    f"mutant {exercise_id}/{mistake}: expected failed with diagnosis {mistake}, "
                    f"got {_describe(verdict)}"
                )
    return report


def run_and_report(console: Console, only: list[str] | None = None) -> bool:
    """``bertprep verify``: grade every stub, solution and mutant, print each problem."""
    started = time.perf_counter()
    report = verify(only=only, progress=lambda message: console.print(f"[dim]{message}[/]"))
    elapsed = time.perf_counter() - started
    for problem in report.problems:
        console.print(f"[red]✗[/] {escape(problem)}")
    verdict = "[green]verify passed[/]" if report.ok else "[red]verify failed[/]"
    console.print(f"{verdict}: {report.checked} gradings, {len(report.problems)} problems, "
                  f"{elapsed:.1f}s")  # fmt: skip
    return report.ok
