"""``bertprep verify``: the grader checks itself (rustlings' ``dev check``, stricter).

1. The catalogue is complete and consistent (hints, blog question, docs page, files, checks).
2. Every untouched stub in exercises/ grades ``not_started``.
3. Every solution in solutions/ grades ``passed``.
4. Every known mistake an exercise lists has a mutant in tests/mutants/<id>/<mistake>.py,
   and grading that mutant gives ``failed`` with exactly that diagnosis.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.catalogue import PROJECT_ROOT, Catalogue, catalogue_problems, load_catalogue
from grader.runner import Verdict, Worker, run_checks
from grader.target import resolve_target

MUTANTS_DIR = PROJECT_ROOT / "tests" / "mutants"


@dataclass
class VerifyReport:
    problems: list[str] = field(default_factory=list)
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def mutant_files(catalogue: Catalogue) -> list[tuple[str, str, Path]]:
    """(exercise id, mistake id, mutant file) for every mistake the catalogue lists."""
    return [
        (exercise.id, mistake, MUTANTS_DIR / exercise.id / f"{mistake}.py")
        for exercise in catalogue.exercises
        for mistake in exercise.mistakes
    ]


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
        shutil.copy(mutant, target / exercise.file)
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
    for path in sorted(MUTANTS_DIR.glob("*/*.py")):
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
            verdict = grade_mutant(exercise_id, path, catalogue, worker)
            report.checked += 1
            if verdict.status != "failed" or verdict.diagnosis != mistake:
                report.problems.append(
                    f"mutant {exercise_id}/{mistake}: expected failed with diagnosis {mistake}, "
                    f"got {_describe(verdict)}"
                )
    return report
