"""Buggy learner code gets a clear verdict; the grader survives; the learner's files don't change.

Each file in tests/broken/ replaces e02_gelu.py (and one run also grades layer_norm after it,
to show that one broken exercise never hides another's verdict).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from grader.catalogue import PROJECT_ROOT
from grader.sandbox.runner import Worker, run_checks

BROKEN = Path(__file__).with_name("broken")

# file -> (status, words the message must contain)
EXPECTED = {
    "infinite_loop": ("error", "took longer than"),
    "segfault": ("error", "segmentation fault"),
    "abort": ("error", "SIGABRT"),
    "memory_blowup": ("error", "ran out of memory"),
    "huge_tensor": ("error", "ran out of memory"),
    "syntax_error": ("error", "SyntaxError at e02_gelu.py:4"),
    "import_error": ("error", "ModuleNotFoundError"),
    "module_level_crash": ("error", "KeyError"),
    "wrong_type": ("failed", "should be a torch.Tensor, got list"),
    "wrong_shape": ("failed", "wrong shape"),
    "returns_nan": ("failed", "NaN"),
    "print_flood": ("error", "printed far too much"),
    "exits": ("failed", "SystemExit"),
    "hard_exit": ("error", "exited in the middle of a check"),
    "raises_value_error": ("failed", "raised ValueError at e02_gelu.py:2"),
    "chatty_but_right": ("passed", "all"),
}


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def worker():
    with Worker() as warm:
        yield warm


@pytest.fixture
def target_with(tmp_path):
    def build(broken_name: str) -> Path:
        target = tmp_path / "target"
        shutil.copytree(PROJECT_ROOT / "solutions", target,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        shutil.copy(BROKEN / f"{broken_name}.py", target / "e02_gelu.py")
        return target

    return build


def test_every_broken_file_has_an_expectation():
    assert {p.stem for p in BROKEN.glob("*.py")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_code_gets_a_clear_verdict(worker, target_with, name):
    status, words = EXPECTED[name]
    target = target_with(name)
    before = tree_digest(target)
    # Short per-check timeout so the loop case is quick; filling memory page by page needs more.
    timeout = 20 if name == "memory_blowup" else 3
    verdicts = run_checks(["gelu", "layer_norm"], target, worker=worker, test_timeout=timeout)
    gelu = verdicts["gelu"]
    assert gelu.status == status, gelu
    assert words in gelu.message, gelu.message
    assert "Traceback" not in gelu.message
    # The next exercise is still graded, correctly, after gelu broke.
    assert verdicts["layer_norm"].status == "passed", verdicts["layer_norm"]
    # Nothing in the learner's folder changed or appeared (no __pycache__ either).
    assert tree_digest(target) == before


def test_the_worker_survives_a_crash_and_grades_again(worker, target_with):
    crashed = run_checks(["gelu"], target_with("segfault"), worker=worker)["gelu"]
    assert crashed.status == "error"
    fine = run_checks(["gelu"], PROJECT_ROOT / "solutions", worker=worker)["gelu"]
    assert fine.status == "passed"
