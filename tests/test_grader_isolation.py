"""Buggy learner code gets a clear verdict; the grader survives; the learner's files don't change.

Each file in tests/broken/ replaces e02_gelu.py (and one run also grades layer_norm after it,
to show that one broken exercise never hides another's verdict). The verdicts include the
ones no learner should be able to turn into a pass: skipped checks, a borrowed answer, a
forged result (issue 9, B and C). No test here asserts a wall-clock time.
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
    # B7: a skipped check is never a passed one
    "skips": ("skipped", "skipped this check"),
    "raises_skiptest": ("skipped", "skipped this check"),
    # B8: the answer, imported or called, is graded but never counts
    "borrows_reference": ("borrowed", "imports gelu from reference"),
    "borrows_solution": ("borrowed", "solutions.e02_gelu"),
    "borrows_by_importlib": ("borrowed", "solutions.e02_gelu"),
    "calls_f_gelu": ("borrowed", "torch.nn.functional.gelu"),
    "calls_gelu_by_getattr": ("borrowed", "torch.nn.functional.gelu"),
    # B9: tampering from inside the learner's code is not a pass
    "patches_the_plugin": ("failed", "does not match the reference"),
    "forges_records": ("tampered", "did not come from the grader"),
    "forges_worker_answer": ("tampered", "did not come from the grader"),
    # C: exceptions that used to become tracebacks or misleading verdicts
    "keyboard_interrupt": ("failed", "raised KeyboardInterrupt at e02_gelu.py:2"),
    "broken_str": ("failed", "raised BrokenMessage at e02_gelu.py:7"),
    "huge_message": ("failed", "raised ValueError at e02_gelu.py:2"),
    "long_message": ("failed", "raised ValueError at e02_gelu.py:2: shape mismatch"),
    "asks_for_input": ("failed", "waited for input (input() at e02_gelu.py:2)"),
    "calls_breakpoint": ("failed", "waited for input (breakpoint() at e02_gelu.py:7)"),
    # D: time limits count CPU time; a limit after a failure keeps the failure
    "sleeps_then_right": ("passed", "all"),
    "wrong_then_loops": ("failed", "does not match the reference"),
}
# CPU seconds per check (the default is the grader's own); filling memory page by page needs
# more than a loop does to be caught.
TIME_LIMIT = {"memory_blowup": 20, "sleeps_then_right": 1}


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
    timeout = TIME_LIMIT.get(name, 3)  # short, so the loop cases are quick
    verdicts = run_checks(["gelu", "layer_norm"], target, worker=worker, test_timeout=timeout)
    gelu = verdicts["gelu"]
    assert gelu.status == status, gelu
    assert words in gelu.message, gelu.message
    assert "Traceback" not in gelu.message
    assert len(gelu.message) < 1200, len(gelu.message)  # a 70 MB message is not printed whole
    # The next exercise is still graded, correctly, after gelu broke.
    assert verdicts["layer_norm"].status == "passed", verdicts["layer_norm"]
    # Nothing in the learner's folder changed or appeared (no __pycache__ either).
    assert tree_digest(target) == before


def test_a_limit_hit_after_a_failure_reports_the_failure_and_its_diagnosis(worker, target_with):
    verdict = run_checks(["gelu"], target_with("wrong_then_loops"), worker=worker,
                         test_timeout=3)["gelu"]  # fmt: skip
    assert verdict.status == "failed", verdict
    assert verdict.diagnosis == "gelu_is_relu", verdict
    assert "time limit" in verdict.message, verdict.message


def test_the_worker_survives_a_crash_and_grades_again(worker, target_with):
    crashed = run_checks(["gelu"], target_with("segfault"), worker=worker)["gelu"]
    assert crashed.status == "error"
    fine = run_checks(["gelu"], PROJECT_ROOT / "solutions", worker=worker)["gelu"]
    assert fine.status == "passed"
