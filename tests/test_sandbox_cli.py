"""``bertprep check`` on code that must never count as passed, on code that changes the
grader's own files, and Ctrl-C (issue 9 B7, B8, B9, C), in a scratch copy of the project.

No test asserts a wall-clock time: the waits are generous bounds that only keep a broken
grader from hanging the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.catalogue import PROJECT_ROOT
from grader.sandbox import procs

COPIED = ("exercises", "solutions", "grader", "reference", "pyproject.toml")
BROKEN = Path(__file__).with_name("broken")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for name in COPIED:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    return root


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def gelu_file(project):
    path = project / "exercises" / "e02_gelu.py"
    original = path.read_bytes()
    yield path
    path.write_bytes(original)


def environment(project: Path, home: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(project), "BERTPREP_HOME": str(home),
            "COLUMNS": "200", "HF_HUB_OFFLINE": "1", "BERTPREP_LANG": "en"}  # fmt: skip


def bertprep(project: Path, *args: str, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=project,
                          env=environment(project, home), capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def recorded_status(home: Path, exercise_id: str) -> str | None:
    path = home / "progress.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["exercises"].get(exercise_id, {}).get("status")


@pytest.mark.parametrize("broken, label", [("borrows_reference", "borrowed"),
                                           ("calls_f_gelu", "borrowed"),
                                           ("skips", "skipped")])  # fmt: skip
def test_borrowed_and_skipped_code_is_shown_but_never_passed(project, home, gelu_file,
                                                             broken, label):  # fmt: skip
    shutil.copy(BROKEN / f"{broken}.py", gelu_file)
    result = bertprep(project, "check", "gelu", home=home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert label in result.stdout.lower()
    assert "Traceback" not in result.stdout + result.stderr
    assert recorded_status(home, "gelu") != "passed"
    locked = bertprep(project, "solution", "gelu", home=home)
    assert locked.returncode != 0 and "torch.erf" not in locked.stdout


def test_a_run_that_changes_the_grader_is_reported_with_how_to_restore(project, home,
                                                                       gelu_file):  # fmt: skip
    checks = project / "grader" / "checks" / "check_gelu.py"
    original = checks.read_bytes()
    gelu_file.write_text(textwrap.dedent(f"""\
        import torch


        def gelu(x):
            with open({str(checks)!r}, "a") as checks:  # make every later check pass
                checks.write("\\n# edited by the learner's code\\n")
            return torch.relu(x)
    """))
    try:
        result = bertprep(project, "check", "gelu", home=home)
    finally:
        changed = checks.read_bytes() != original
        checks.write_bytes(original)
    assert changed  # the edit happened, and was seen:
    assert result.returncode == 1
    assert "git checkout -- grader reference solutions" in result.stdout
    assert recorded_status(home, "gelu") != "passed"


def test_ctrl_c_ends_the_check_and_everything_it_started(project, home, gelu_file, tmp_path):
    """The learner's code blocks the grader's timer signals and loops: Ctrl-C still ends the
    command, the grading child and the worker."""
    pid_file = tmp_path / "learner.pid"
    gelu_file.write_text(textwrap.dedent(f"""\
        import os
        import signal


        def gelu(x):
            signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGALRM, signal.SIGPROF}})
            with open({str(pid_file)!r}, "w") as handle:
                handle.write(f"{{os.getpid()}} {{os.getppid()}}")
            while True:
                pass
    """))
    command = subprocess.Popen([sys.executable, "-m", "grader.cli", "check", "gelu"],
                               cwd=project, env=environment(project, home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not pid_file.exists() or len(pid_file.read_text().split()) < 2:
            assert command.poll() is None, command.communicate()
            assert time.monotonic() < deadline, "the learner's code never ran"
            time.sleep(0.05)
        learner, worker = map(int, pid_file.read_text().split())
        command.send_signal(signal.SIGINT)  # what the terminal sends on Ctrl-C
        command.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(procs.is_alive(pid) for pid in (learner, worker)):
            assert time.monotonic() < deadline, "the grading processes outlived Ctrl-C"
            time.sleep(0.05)
    finally:
        if command.poll() is None:
            command.kill()
        command.communicate()
