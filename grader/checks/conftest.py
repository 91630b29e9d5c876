"""Fixtures shared by the check modules: the target's exercise modules and a fixed hypothesis
profile (derandomized, no database) so the same code always gets the same verdict."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from grader.sandbox.target import load_exercise_module, target_from_env

settings.register_profile(
    "grading",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=25,
    report_multiple_bugs=False,
    print_blob=False,
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
