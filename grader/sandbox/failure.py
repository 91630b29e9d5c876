"""The failure a check raises: the contract between the check modules and the pytest plugin.

It lives in the sandbox (not in the check kit) because the plugin that turns it into a
verdict record must not depend on the checks it runs.

The first failure raised during a check is remembered (``first_failure``): if the time limit
strikes later — while hypothesis is still searching — the learner is shown that failure and
its diagnosis instead of "took too long".
"""

from __future__ import annotations

_first: list[CheckFailure] = []


class CheckFailure(AssertionError):
    def __init__(
        self,
        message: str,
        *,
        inputs: str | None = None,
        expected: str | None = None,
        got: str | None = None,
        diagnosis: str | None = None,
        grid: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.inputs = inputs
        self.expected = expected
        self.got = got
        self.diagnosis = diagnosis
        self.grid = grid  # where the error lives: a small grid of |got - expected| (check kit)
        if not _first:
            _first.append(self)
        elif diagnosis and not _first[-1].diagnosis:
            _first.append(self)  # a later replay of the failure, with its diagnosis


def forget_failures() -> None:
    """Called as each check starts."""
    _first.clear()


def first_failure() -> CheckFailure | None:
    """The first CheckFailure raised since the current check started (or a later one that
    carries a diagnosis), if any."""
    return _first[-1] if _first else None
