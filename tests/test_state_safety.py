"""Nothing a learner made is ever lost (issue 9, part A; the state items of part C).

The state file under concurrent writers, damaged and hand-edited state, a state folder that
cannot be written: driven through the real ``bertprep`` command in a scratch copy of the
project where the current CLI tests do, and through two real processes for the lost update.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grader.catalogue import PROJECT_ROOT
from grader.progress import Progress, keep_damaged_copy, parse_progress

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


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "state"


def environment(project: Path, home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(project), "BERTPREP_HOME": str(home),
            "COLUMNS": "200", "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}  # fmt: skip


def bertprep(project: Path, *args: str, home: Path, stdin: str | None = None, timeout=300,
             file_size_limit: int | None = None):  # fmt: skip
    def limit_file_size() -> None:  # a full disk, as the learner's shell would set it
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, hard))

    return subprocess.run(
        [sys.executable, "-m", "grader.cli", *args],
        cwd=project,
        env=environment(project, home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_file_size if file_size_limit is not None else None,
    )


def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr


def progress_of(home: Path) -> dict:
    return json.loads((home / "progress.json").read_text(encoding="utf-8"))["exercises"]


# A1: read-modify-write under a lock, merging per exercise.

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from grader.progress import Progress

    path, role, rounds = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    if role == "watch":  # loads once and keeps saving its (stale) copy, as watch does
        progress = Progress.load(path)
        for _ in range(rounds):
            progress.record_verdict("attention", "failed", "aaaa")
            assert progress.save()
    else:  # a fresh command each time, as `bertprep check` / `hint` are
        for number in range(rounds):
            progress = Progress.load(path)
            progress.record_verdict("gelu", "passed", "bbbb")
            progress.see_hint("gelu", 1 + number % 3)
            assert progress.save()
    """
)


def test_two_processes_saving_at_once_lose_no_update(tmp_path):
    path = tmp_path / "progress.json"
    rounds = 40
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), role, str(rounds)], env=env)
        for role in ("watch", "check")
    ]
    assert [w.wait(timeout=300) for w in writers] == [0, 0]
    records = progress_of(tmp_path)
    assert records["attention"]["checks_run"] == rounds
    assert records["gelu"]["checks_run"] == rounds
    assert records["gelu"]["hint_level"] == 3 and "first_passed_at" in records["gelu"]


def test_a_stale_copy_updates_the_fresh_record_instead_of_replacing_it(tmp_path):
    path = tmp_path / "progress.json"
    stale = Progress.load(path)  # watch, started before anything else happened
    other = Progress.load(path)
    other.record_verdict("gelu", "passed", "1111")
    other.see_hint("attention", 2)
    assert other.save()
    stale.record_verdict("attention", "failed", "2222")
    stale.entry("attention")["note"] = "direct edits are merged field by field"
    assert stale.save()
    records = Progress.load(path).exercises
    assert records["gelu"]["status"] == "passed"
    assert records["attention"]["hint_level"] == 2  # kept: the stale copy never saw it
    assert records["attention"]["status"] == "failed"
    assert records["attention"]["note"].startswith("direct edits")
    assert stale.exercises == records  # and the saver now holds the merged state


# A3: every damaged copy kept, whatever parses salvaged, and said on stderr.


def test_two_corruptions_keep_both_damaged_copies_and_salvage_the_records(project, home):
    home.mkdir(parents=True)
    good = {"status": "passed", "first_passed_at": "2026-01-01T00:00:00", "digest": None}
    first = ('{"version": 1, "exercises": {\n"gelu": ' + json.dumps(good)
             + ',\n"attention": {"status": "fai\n')  # fmt: skip
    (home / "progress.json").write_text(first, encoding="utf-8")
    result = bertprep(project, "list", "--json", home=home)
    assert result.returncode == 0
    no_traceback(result)
    assert (home / "progress.json.corrupt").read_text(encoding="utf-8") == first
    assert "progress.json was damaged" in result.stderr
    assert str(home / "progress.json.corrupt") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert progress_of(home) == {"gelu": good}  # salvaged and repaired on disk
    second = b"\x00\xff not json at all"
    (home / "progress.json").write_bytes(second)
    result = bertprep(project, "list", "--json", home=home)
    assert result.returncode == 0 and str(home / "progress.json.corrupt-2") in result.stderr
    assert (home / "progress.json.corrupt").read_text(encoding="utf-8") == first
    assert (home / "progress.json.corrupt-2").read_bytes() == second
    assert progress_of(home) == {}


def test_salvage_reads_what_is_sound_field_by_field():
    raw = b'{"exercises": {"a": {"status": "passed", "checks_run": -1}, "b": 3, "c": {}}}'
    records, problems = parse_progress(raw)
    assert records == {"a": {"status": "passed"}, "c": {}}
    assert any("a.checks_run" in p for p in problems) and any("of b" in p for p in problems)
    assert parse_progress(b'{"version": 1, "exercises": {}}') == ({}, [])


def test_the_same_damage_is_kept_once(tmp_path):
    path = tmp_path / "progress.json"
    assert keep_damaged_copy(path, b"x") == keep_damaged_copy(path, b"x")
    assert keep_damaged_copy(path, b"y").name == "progress.json.corrupt-2"


def test_hand_edited_wrong_types_are_dropped_with_a_warning(project, home):
    home.mkdir(parents=True)
    edited = {"exercises": {"attention": {"hint_level": "two", "status": "failed"}}}
    (home / "progress.json").write_text(json.dumps(edited), encoding="utf-8")
    result = bertprep(project, "hint", "attention", home=home)
    assert result.returncode == 0 and "attention hint 1/3" in result.stdout
    no_traceback(result)
    assert 'attention.hint_level = "two" is not a hint level' in result.stderr
    assert json.loads((home / "progress.json.corrupt").read_text()) == edited
    assert progress_of(home)["attention"] == {"hint_level": 1, "status": "failed"}


# C: a state folder that cannot be written, a full disk.


@pytest.fixture
def blocked_home(tmp_path) -> Path:
    """A regular file where the state folder should be (file modes do not stop root)."""
    path = tmp_path / "state"
    path.write_text("not a folder\n")
    return path


def test_check_with_an_unusable_state_folder_prints_the_verdict_then_one_line(
    project, blocked_home
):
    exercise = project / "exercises" / "e02_gelu.py"
    original = exercise.read_bytes()
    try:
        shutil.copy(project / "solutions" / "e02_gelu.py", exercise)
        result = bertprep(project, "check", "gelu", home=blocked_home)
    finally:
        exercise.write_bytes(original)
    no_traceback(result)
    assert result.returncode == 0 and "gelu  PASSED" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "could not save your progress" in lines[0]
    assert str(blocked_home) in lines[0]


def test_hint_on_a_full_disk_shows_the_hint_then_one_line(project, home):
    home.mkdir(parents=True)
    result = bertprep(project, "hint", "gelu", home=home, file_size_limit=16)
    no_traceback(result)
    assert result.returncode == 0 and "gelu hint 1/3" in result.stdout
    assert "could not save your progress" in result.stderr and "File too large" in result.stderr
    assert not (home / "progress.json").exists()  # nothing half-written either
    assert not [p for p in home.iterdir() if p.name.startswith(".progress.json.")]


def test_check_on_a_full_disk_prints_the_verdict_then_one_line(project, home):
    home.mkdir(parents=True)
    result = bertprep(project, "check", "gelu", home=home, file_size_limit=16)
    no_traceback(result)
    assert "gelu  NOT STARTED" in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("bertprep: could not save")


def test_reset_with_an_unusable_state_folder_leaves_the_code_alone(project, blocked_home):
    exercise = project / "exercises" / "e02_gelu.py"
    original = exercise.read_bytes()
    try:
        exercise.write_text("def gelu(x):\n    return x  # mine\n")
        result = bertprep(project, "reset", "gelu", home=blocked_home)
        assert exercise.read_text() == "def gelu(x):\n    return x  # mine\n"
    finally:
        exercise.write_bytes(original)
    no_traceback(result)
    assert result.returncode == 1 and "could not back up exercises/e02_gelu.py" in result.stderr
    assert "left as it is" in result.stderr
