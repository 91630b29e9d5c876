"""The check kit's diagnosis: a known mistake is named only when it explains the difference."""

from __future__ import annotations

import pytest
import torch

from grader.checks.kit import CheckFailure, diagnose, expect_close


def test_a_mistake_is_named_when_the_output_matches_it():
    want, wrong = torch.zeros(4), torch.ones(4)
    assert diagnose(wrong.clone(), {"off_by_one": lambda: wrong}, 1e-6, want=want) == "off_by_one"


def test_a_mistake_that_agrees_with_the_reference_explains_nothing():
    """On inputs where a mistake's model gives the reference's output, an unrelated error
    must not get that mistake's name."""
    want = torch.zeros(4)
    got = want + 0.5  # some other error
    same_as_reference = {"harmless_here": lambda: want.clone(), "other": lambda: want + 9}
    assert diagnose(got, same_as_reference, atol=1.0, want=want) is None
    assert diagnose(got, same_as_reference, atol=1.0) == "harmless_here"  # without want


def test_agreement_with_the_reference_is_judged_at_the_check_s_own_tolerance():
    want = torch.zeros(3, dtype=torch.float64)
    slightly_off = want + 1e-6  # equal at 1e-4, different at 1e-9
    mistakes = {"one_pass_variance": lambda: slightly_off}
    with pytest.raises(CheckFailure) as failure:
        expect_close(slightly_off.clone(), want, name="output", inputs="x", atol=1e-9, rtol=0.0,
                     mistakes=mistakes)  # fmt: skip
    assert failure.value.diagnosis == "one_pass_variance"
    assert diagnose(slightly_off, mistakes, 1e-4, want=want, want_tolerance=(1e-4, 0.0)) is None
