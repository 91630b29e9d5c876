"""The debug round's grading run, as the sandbox runs it: one check in the forked child.

The parent (``grader/debug/grading.py``) hands the sandbox a target folder holding a copy of
the learner's file (``broken_bert.py``) and ``debug_request.py`` (the seeded bugs and where
to write the result). This check grades the file with ``compare.grade_file`` and writes the
result after every stage, so a loop or a crash in the learner's code still leaves the stage
it happened in; the sandbox's own verdict says what went wrong.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from grader.debug.compare import grade_file
from grader.sandbox.target import target_from_env

MODULE = "broken_bert"  # the file under test, as the sandbox's plugin names it
REQUEST = "debug_request.py"
# No time-limit marker: the sandbox's per-check limit (or the caller's) applies; loading and
# running the three models takes about a second.


def read_request(folder: Path) -> dict:
    """``NAME = literal`` lines, read without running anything."""
    tree = ast.parse((folder / REQUEST).read_text(encoding="utf-8"))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)}  # fmt: skip


def test_debug_round():
    """the broken BERT, compared with the reference on the real weights"""
    folder = target_from_env()
    request = read_request(folder)
    out = Path(request["RESULT"])

    def write(data: dict) -> None:
        out.write_text(json.dumps(data), encoding="utf-8")

    result = grade_file(folder / f"{MODULE}.py", request["BUGS"],
                        stage=lambda name: write({"stage": name}))  # fmt: skip
    write({**result, "stage": "done"})
