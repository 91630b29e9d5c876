"""The failure a check raises: the contract between the check modules and the pytest plugin.

It lives in the sandbox (not in the check kit) because the plugin that turns it into a
verdict record must not depend on the checks it runs.
"""

from __future__ import annotations


class CheckFailure(AssertionError):
    def __init__(
        self,
        message: str,
        *,
        inputs: str | None = None,
        expected: str | None = None,
        got: str | None = None,
        diagnosis: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.inputs = inputs
        self.expected = expected
        self.got = got
        self.diagnosis = diagnosis
