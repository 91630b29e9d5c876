"""One fork per exercise, inside the grading session, after pytest has collected the checks.

The session (a fork of the warm worker) starts pytest once and collects every requested check
module; no learner code has run yet. Then each exercise's checks run in a fork of that
session: a clean process (torch's dtype, grad mode, seeds, threads as the session left them),
in a process group of its own, ended with everything it started before its exercise is
reported done. Exercises may run side by side (``parallel``); a verdict never depends on it.

Each finished exercise is reported as ``{"event": "exercise_done", "exercise", "exit_code",
"signal", "stopped"}``; a fork that died inside a check leaves that check's "start" record
without a "result", which the parent reads as a crash of that check.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from grader.sandbox import procs

POLL_S = 0.005


def _exit_status(status: int) -> tuple[int | None, int | None]:
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status), None
    if os.WIFSIGNALED(status):
        return None, os.WTERMSIG(status)
    return None, None


def _sweep(active: set[int]) -> None:
    """End every process below the session that is not a running exercise: the orphans of
    finished exercises (the session is their subreaper) and anything they started. (Their
    statuses are collected by the loop below, which tells exercises from strays.)"""
    me = os.getpid()
    for pid, parent in procs.parents().items():
        if parent == me and pid not in active:
            procs.kill_tree(pid, include_root=True, reap=False)


def _collect(active: dict[int, tuple[str, float]]) -> dict[int, int]:
    """Statuses of the exercises that ended; strays that ended are collected and dropped."""
    ended = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        if pid in active:
            ended[pid] = status
    return ended


def run_exercises(
    groups: list[tuple[str, Callable[[], int]]],
    write: Callable[[dict], None],
    *,
    parallel: int = 1,
    wall_s: float = 600.0,
) -> None:
    """Run each (exercise, body) in a fork of its own, ``parallel`` at a time; ``body`` runs
    in the fork and returns its exit code."""
    pending = list(groups)
    active: dict[int, tuple[str, float]] = {}  # pid -> (exercise, started)
    while pending or active:
        while pending and len(active) < max(1, parallel):
            exercise, body = pending.pop(0)
            pid = os.fork()
            if pid == 0:  # the exercise's own process
                code = 70
                try:
                    os.setpgid(0, 0)
                    code = body()
                except BaseException:
                    code = 71
                finally:
                    os._exit(code)
            active[pid] = (exercise, time.monotonic())
        ended = _collect(active)
        finished = [(pid, status, None) for pid, status in ended.items()]
        for pid, (_exercise, started) in list(active.items()):
            if pid not in ended and time.monotonic() - started > wall_s:
                procs.kill_group(pid)
                _, status = os.waitpid(pid, 0)
                finished.append((pid, status, "wall"))
        for pid, status, stopped in finished:
            exercise, _ = active.pop(pid)
            procs.kill_group(pid)  # whatever it started in its own process group
            _sweep(set(active))
            exit_code, signal_number = _exit_status(status)
            write({"event": "exercise_done", "exercise": exercise, "exit_code": exit_code,
                   "signal": signal_number, "stopped": stopped})  # fmt: skip
        if not finished:
            time.sleep(POLL_S)
