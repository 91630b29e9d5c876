"""The bertprep command as a learner uses it, run in a scratch copy of the project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.catalogue import PROJECT_ROOT, load_catalogue

COPIED = ("exercises", "solutions", "grader", "reference", "tests/mutants", "pyproject.toml")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project with its own git history, so reset/watch can't touch ours."""
    root = tmp_path_factory.mktemp("project")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / name)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "stubs"], check=True)
    return root


def bertprep(project: Path, *args: str, home: Path, stdin: str | None = None, timeout=300):
    env = {**os.environ, "PYTHONPATH": str(project), "BERTPREP_HOME": str(home),
           "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        cwd=project,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "state"


def test_fresh_clone_overview_shows_everything_not_started(project, home):
    result = bertprep(project, home=home)
    assert result.returncode == 0, result.stderr
    catalogue = load_catalogue()
    assert result.stdout.count("not started") == len(catalogue.exercises)
    first = catalogue.exercises[0]
    assert f"Next: {first.id}" in result.stdout
    assert f"edit exercises/{first.file}" in result.stdout


def test_check_all_json_on_stubs_and_solutions(project, home):
    stubs = bertprep(project, "check", "--all", "--json", home=home)
    assert stubs.returncode == 1
    verdicts = json.loads(stubs.stdout)
    assert {v["status"] for v in verdicts} == {"not_started"}
    assert set(verdicts[0]) >= {"id", "status", "passed", "total", "message", "diagnosis"}
    solved = bertprep(project, "check", "--all", "--target", "solutions", "--json", home=home)
    assert solved.returncode == 0, solved.stdout
    assert {v["status"] for v in json.loads(solved.stdout)} == {"passed"}


def test_a_wrong_answer_is_diagnosed_in_plain_words(project, home, tmp_path):
    target = tmp_path / "target"
    shutil.copytree(project / "solutions", target)
    shutil.copy(project / "tests/mutants/attention/unscaled_scores.py", target / "e04_attention.py")
    result = bertprep(project, "check", "attention", "--target", str(target), home=home)
    assert result.returncode == 1
    out = result.stdout
    assert "attention  FAILED" in out
    assert "expected" in out and "got" in out and "input:" in out
    assert "diagnosis: scores are not scaled by 1/sqrt(d_head)" in out
    assert "next: bertprep hint attention --level 1" in out
    assert "Traceback" not in out + result.stderr


def test_unknown_exercise_and_missing_target_exit_2(project, home):
    unknown = bertprep(project, "check", "no_such_exercise", home=home)
    assert unknown.returncode == 2 and "no exercise 'no_such_exercise'" in unknown.stderr
    missing = bertprep(project, "check", "gelu", "--target", "/no/such/folder", home=home)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_hints_reveal_one_level_at_a_time(project, home):
    hints = load_catalogue().get("gelu").hints
    first = bertprep(project, "hint", "gelu", home=home)
    second = bertprep(project, "hint", "gelu", home=home)
    third = bertprep(project, "hint", "gelu", home=home)
    again = bertprep(project, "hint", "gelu", "--level", "1", home=home)
    squash = " ".join  # rich wraps long lines; compare words
    assert squash(hints[0].split()) in squash(first.stdout.split())
    assert "hint 2/3" in second.stdout and "hint 3/3" in third.stdout
    assert "hint 1/3" in again.stdout


def test_solution_is_shown_only_after_a_pass(project, home):
    locked = bertprep(project, "solution", "gelu", home=home)
    assert locked.returncode == 1 and "Pass `bertprep check gelu` first" in locked.stderr
    forced = bertprep(project, "solution", "gelu", "--force", home=home)
    assert forced.returncode == 0 and "torch.erf" in forced.stdout
    home.mkdir(parents=True, exist_ok=True)
    (home / "progress.json").write_text(
        json.dumps(
            {"version": 1, "exercises": {"gelu": {"first_passed_at": "2026-01-01T00:00:00"}}}
        )
    )
    unlocked = bertprep(project, "solution", "gelu", home=home)
    assert unlocked.returncode == 0 and "torch.erf" in unlocked.stdout


def test_passing_is_recorded_and_the_next_exercise_is_offered(project, home):
    exercise = project / "exercises" / "e01_layer_norm.py"
    original = exercise.read_text()
    try:
        shutil.copy(project / "solutions" / "e01_layer_norm.py", exercise)
        result = bertprep(project, "check", "layer_norm", home=home)
        assert result.returncode == 0 and "PASSED" in result.stdout
        progress = json.loads((home / "progress.json").read_text())
        assert progress["exercises"]["layer_norm"]["status"] == "passed"
        overview = bertprep(project, home=home)
        assert "1/" in overview.stdout and "Next: gelu" in overview.stdout
    finally:
        exercise.write_text(original)


def test_reset_backs_up_then_restores_the_stub(project, home):
    exercise = project / "exercises" / "e02_gelu.py"
    stub = exercise.read_text()
    exercise.write_text("def gelu(x):\n    return x  # my half-finished attempt\n")
    result = bertprep(project, "reset", "gelu", home=home)
    assert result.returncode == 0, result.stderr
    assert exercise.read_text() == stub
    backups = list((home / "backups").glob("e02_gelu-*.py"))
    assert len(backups) == 1 and "half-finished" in backups[0].read_text()


def test_a_corrupt_progress_file_is_set_aside_not_fatal(project, home):
    home.mkdir(parents=True, exist_ok=True)
    (home / "progress.json").write_text("{ this is not json")
    result = bertprep(project, home=home)
    assert result.returncode == 0 and "not started" in result.stdout
    assert (home / "progress.json.corrupt").exists()


def test_list_json_is_the_catalogue_in_learning_order(project, home):
    rows = json.loads(bertprep(project, "list", "--json", home=home).stdout)
    catalogue = load_catalogue()
    assert [r["id"] for r in rows] == catalogue.ids()
    assert all(r["file"].startswith("exercises/e") and r["docs"].endswith(".md") for r in rows)


@pytest.mark.timeout(180)
def test_watch_gives_a_verdict_soon_after_a_save(project, home):
    exercise = project / "exercises" / "e02_gelu.py"
    original = exercise.read_text()
    env = {**os.environ, "PYTHONPATH": str(project), "BERTPREP_HOME": str(home),
           "COLUMNS": "200", "HF_HUB_OFFLINE": "1"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "watch", "gelu"],
        cwd=project, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        lines = iter(process.stdout.readline, "")
        assert any("NOT STARTED" in line for line in lines)  # first verdict on start
        time.sleep(0.5)
        shutil.copy(project / "solutions" / "e02_gelu.py", exercise)
        assert any("gelu  PASSED" in line for line in lines)
        assert any("Next: padding_mask" in line for line in lines)
        process.stdin.write("q\n")
        process.stdin.flush()
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        exercise.write_text(original)
