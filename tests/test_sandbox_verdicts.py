"""From check records to one verdict, without running anything (issue 9 B7, C, D): only
"every check ran and passed" is a pass; a time limit after a failure keeps the failure;
a learner's exception is always described in one short sentence."""

from __future__ import annotations

import pytest

from grader.catalogue import load_catalogue
from grader.sandbox.outcomes import CheckTimeout, classify, safe_text
from grader.sandbox.verdicts import aggregate


def result(status: str, **fields) -> dict:
    return {"event": "result", "status": status, "title": f"check {status}", **fields}


CATALOGUE = load_catalogue()


def test_a_pass_needs_every_collected_check_to_pass():
    assert aggregate("gelu", [result("passed")] * 5, CATALOGUE, collected=5).status == "passed"
    stopped = aggregate("gelu", [result("passed")] * 3, CATALOGUE, collected=5)
    assert stopped.status == "error" and "3 of 5" in stopped.message


def test_skipped_checks_are_never_a_pass():
    records = [result("passed"), result("skipped", message="your code skipped this check")]
    verdict = aggregate("gelu", records, CATALOGUE, collected=2)
    assert verdict.status == "skipped" and verdict.passed == 1


def test_the_graders_own_skips_alone_are_not_a_pass():
    records = [result("passed"), result("not_run", message="skipped after ...")]
    assert aggregate("gelu", records, CATALOGUE, collected=2).status == "error"


def test_a_time_limit_after_a_failure_keeps_the_failure_and_its_diagnosis():
    records = [
        result("failed", message="gelu(x) does not match", diagnosis="gelu_is_relu"),
        result("error", kind="timeout", message="took longer than 3s of CPU time"),
    ]
    verdict = aggregate("gelu", records, CATALOGUE, collected=2)
    assert verdict.status == "failed" and verdict.diagnosis == "gelu_is_relu"
    assert verdict.diagnosis_text


def test_a_file_that_does_not_import_still_comes_first():
    records = [result("failed", message="wrong"), result("error", kind="import", message="no")]
    assert aggregate("gelu", records, CATALOGUE, collected=2).status == "error"


class BrokenMessage(Exception):
    def __str__(self):
        raise RuntimeError("no")


@pytest.mark.parametrize("exc, words", [
    (BrokenMessage(), "cannot be shown"),
    (ValueError("x" * 5_000_000), "raised ValueError"),
    (KeyboardInterrupt(), "KeyboardInterrupt"),
    (EOFError(), "raised EOFError"),
    (CheckTimeout("cpu", 3), "3s of CPU time"),
    (CheckTimeout("wall", 39), "waited more than 39s"),
])  # fmt: skip
def test_any_exception_becomes_one_short_sentence(exc, words):
    record = classify(exc, None, phase="call", target_dir="/nowhere", module="e02_gelu")
    assert words in record["message"] and len(record["message"]) < 600


def test_safe_text_cuts_long_and_multiline_messages():
    assert safe_text("line one\nline two") == "line one…"
    assert len(safe_text("y" * 10_000)) <= 401
    assert safe_text(BrokenMessage()).startswith("(")


def test_a_record_is_one_line_short_enough_for_one_atomic_write():
    """Exercises graded side by side share the channel: a line longer than PIPE_BUF could
    interleave with another's and read as forged."""
    import json
    import os

    from grader.sandbox.plugin import MAX_LINE, Channel

    read, write = os.pipe()
    channel = Channel(write, "n" * 32)
    channel.exercise = "gelu"
    channel.write({"event": "result", "message": "é" * 3000, "got": "x" * 2000,
                   "expected": "y" * 2000, "inputs": "z" * 2000})  # fmt: skip
    data = os.read(read, 1 << 16)
    os.close(read)
    os.close(write)
    assert len(data) <= MAX_LINE and data.count(b"\n") == 1
    record = json.loads(data)
    assert record["exercise"] == "gelu" and record["message"].startswith("éé")


@pytest.mark.parametrize("record", [
    {"message": "m" * 3000, "grid": {"values": [[0.123456] * 32] * 16}},
    {f"field{i}": i for i in range(2000)},
    {f"field{i}": "x" * 50 for i in range(200)},
])  # fmt: skip
def test_an_oversized_record_still_ends_as_one_line(record):
    import json
    import os

    from grader.sandbox.plugin import MAX_LINE, Channel

    read, write = os.pipe()
    Channel(write, "n" * 32).write({"event": "result", "status": "failed", **record})
    data = os.read(read, 1 << 16)
    os.close(read)
    os.close(write)
    assert len(data) <= MAX_LINE and data.count(b"\n") == 1
    assert json.loads(data)["status"] == "failed"
