"""A lab's run with the learner's pieces, as the sandbox runs it: one check in the forked child.

The bertprep process (``isolated.py``) hands the sandbox a private target folder: a copy of the
learner's Python files and ``lab_request.py`` (which job, its settings, whose pieces, where to
write). This check loads the learner's chosen modules, runs the job, reports every step on the
progress file as it goes, and writes the result at the end. A loop, a crash or an exception in
the learner's code ends the check, and the sandbox's verdict says what happened and where.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import torch

from grader.lab.finetune import LabError
from grader.lab.pieces import load_mine
from grader.sandbox.failure import CheckFailure
from grader.sandbox.target import target_from_env

MODULE = "lab_request"  # the file the sandbox sees as "the exercise"
REQUEST = "lab_request.py"
# No time-limit marker: the caller gives the run's CPU limit (isolated.py).


def read_request(folder: Path) -> dict:
    """``LAB = {...}``: a literal, read without running anything."""
    tree = ast.parse((folder / REQUEST).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "LAB":
            return ast.literal_eval(node.value)
    raise RuntimeError(f"{REQUEST} has no LAB request")


def run_job(request: dict, mine: dict, on_event) -> dict:
    job = request["job"]
    if job == "finetune":
        from grader.lab.finetune import FinetuneSettings, run_finetune

        return run_finetune(FinetuneSettings(**request["settings"]), mine, on_event)
    if job == "pretrain":
        from grader.lab.pretrain import PretrainSettings, run_pretrain

        return run_pretrain(PretrainSettings(**request["settings"]), mine, on_event)
    if job == "attention":
        from grader.lab.attention import attention_maps

        return attention_maps(request["settings"], mine)
    raise RuntimeError(f"unknown lab job {job!r}")


def test_lab():
    """the lab run with your pieces"""
    folder = target_from_env()
    request = read_request(folder)
    torch.set_num_threads(int(request.get("threads", 1)))
    torch.set_flush_denormal(True)  # tiny Adam moments otherwise run 10x slower on x86
    progress = open(request["progress"], "a", encoding="utf-8")  # noqa: SIM115

    def on_event(event: dict) -> None:
        progress.write(json.dumps(event) + "\n")
        progress.flush()

    try:
        mine = load_mine(folder, request["pieces"])
        result = run_job(request, mine, on_event)
    except LabError as err:
        raise CheckFailure(str(err)) from None
    finally:
        progress.close()
    Path(request["result"]).write_text(json.dumps(result), encoding="utf-8")
