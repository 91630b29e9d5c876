"""The grader's self-check: every stub not started, every solution passes, every mutant caught
with its own diagnosis — and verify itself can fail."""

from __future__ import annotations

import shutil

import pytest

import grader.dev.verify
from grader.catalogue import PROJECT_ROOT, catalogue_problems, load_catalogue, parse_catalogue
from grader.dev.verify import MutantError, apply_edits, mutant_files, verify


@pytest.mark.timeout(1200)
def test_verify_passes_on_the_whole_catalogue():
    report = verify()
    assert report.ok, "\n".join(report.problems)
    catalogue = load_catalogue()
    assert report.checked == 2 * len(catalogue.exercises) + len(mutant_files(catalogue))


def test_every_exercise_diagnoses_at_least_three_mistakes():
    for exercise in load_catalogue().exercises:
        assert len(exercise.mistakes) >= 3, exercise.id


def test_verify_rejects_a_mutant_that_is_not_caught(tmp_path, monkeypatch):
    """A 'mutant' identical to the solution must be reported: verify can fail."""
    mutants = tmp_path / "mutants"
    shutil.copytree(PROJECT_ROOT / "tests" / "mutants" / "gelu", mutants / "gelu")
    shutil.copy(PROJECT_ROOT / "solutions" / "e02_gelu.py", mutants / "gelu" / "gelu_is_relu.py")
    monkeypatch.setattr(grader.dev.verify, "MUTANTS_DIR", mutants)
    report = verify(only=["gelu"])
    assert not report.ok
    assert any("gelu/gelu_is_relu" in p and "got passed" in p for p in report.problems)


def test_catalogue_problems_are_found():
    data = {
        "exercise": [
            {
                "id": "broken",
                "title": "t",
                "file": "e99_missing.py",
                "summary": "s",
                "blog": ["Q9"],
                "prerequisites": ["nowhere"],
                "docs": "page.html",
                "mistakes": ["undescribed"],
                "hints": ["only one"],
            }
        ]
    }
    problems = "\n".join(catalogue_problems(parse_catalogue(data)))
    for words in ("three non-empty hints", "Q9", "unknown prerequisite nowhere",
                  "undescribed is not described", "not a Markdown path",
                  "missing exercises/e99_missing.py", "missing check module"):  # fmt: skip
        assert words in problems, words


def test_an_edit_that_no_longer_matches_its_solution_is_an_error():
    solution = "def f(x):\n    return x + 1\n"
    edit = "<<<<<<< solution\n    return x + 1\n=======\n    return x - 1\n>>>>>>> mutant\n"
    assert apply_edits(solution, edit, "m.edit") == "def f(x):\n    return x - 1\n"
    with pytest.raises(MutantError, match="occurs 0 times"):
        apply_edits(solution.replace("+ 1", "+ 2"), edit, "m.edit")
    with pytest.raises(MutantError, match="no <<<<<<< solution"):
        apply_edits(solution, "just text\n", "m.edit")
