"""Fixtures shared by the check modules: the target's exercise modules, torch's defaults at
the start of every check, and a fixed hypothesis profile (derandomized, no database) so the
same code always gets the same verdict.

The profile does not shrink: a failing example is reported as found. Checks put small,
telling inputs first (``@example``) and hypothesis starts from the simplest draws, so the
first failure is already small, and shrinking it was where wrong code spent its seconds.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, Phase, settings

from grader.sandbox.target import load_exercise_module, target_from_env

settings.register_profile(
    "grading",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=25,
    report_multiple_bugs=False,
    print_blob=False,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=list(HealthCheck),
)
settings.load_profile("grading")


@pytest.fixture(scope="session")
def target_dir():
    return target_from_env()


@pytest.fixture(scope="module")
def learner(request, target_dir):
    """The learner's module for the exercise this check module grades (its ``MODULE``)."""
    return load_exercise_module(target_dir, request.module.MODULE)


@pytest.fixture(autouse=True)
def torch_defaults():
    """Every check starts from the same torch state (float32, gradients on, one thread),
    whatever the learner's file set at import time: checks state the dtype and grad mode they
    test. One thread: checks run tiny tensors, where waking a thread pool costs more than the
    maths (far more on a busy machine)."""
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)
    torch.set_num_threads(1)
