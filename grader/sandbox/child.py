"""The grading session: what a fork of the worker does before any learner code runs, then
pytest, which collects the requested checks and runs each exercise's in a fork of its own.

Limits (memory, output, CPU, no core files), stdin from /dev/null, stdout/stderr to a private
log, the results channel moved to an fd no one names, ``input()`` and ``breakpoint()`` that
say the code waited for input instead of hanging, the grading plugin object; and, in each
exercise's fork, the run-time watch for borrowed answers with that exercise's rules. The
session is a process group of its own and the subreaper of its exercises' orphans.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import random
import resource
import signal
import sys

from grader.catalogue import CHECKS_DIR
from grader.i18n import set_language
from grader.sandbox import procs

CHANNEL_FD_RANGE = (200, 900)
# pytest's own plugins the checks never use (each costs a little in every fork).
UNUSED_PLUGINS = ("cacheprovider", "unraisableexception", "threadexception", "logging",
                  "doctest", "junitxml", "pastebin", "stepwise", "setuponly", "setupplan",
                  "recwarn", "tmpdir", "monkeypatch", "debugging", "python_path")  # fmt: skip


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limits(request: dict) -> None:
    memory = _vm_size_bytes() + request["memory_mb"] * 2**20
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    output = request["output_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails, it doesn't kill
    cpu = int(request["run_cpu_s"])  # the kernel's backstop for one exercise's process
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file


def _plumbing(request: dict, channel_fd: int) -> int:
    """stdin /dev/null, stdout/stderr to the log, the channel moved to a random high fd."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    hidden = random.SystemRandom().randrange(*CHANNEL_FD_RANGE)
    while True:
        try:
            os.fstat(hidden)
            hidden += 1  # taken: try the next one
        except OSError:
            break
    os.dup2(channel_fd, hidden, inheritable=False)
    os.close(channel_fd)
    return hidden


def _no_input() -> None:
    """input() and breakpoint() fail at once, naming themselves (stdin is /dev/null)."""
    from grader.sandbox.outcomes import InputRequested

    def no_input(prompt: object = "") -> str:
        raise InputRequested("input()")

    def no_breakpoint(*args, **kwargs) -> None:
        raise InputRequested("breakpoint()")

    builtins.input = no_input
    sys.breakpointhook = no_breakpoint


def exercise_log(log: str, exercise: str) -> str:
    """Where one exercise's output goes (beside the session's log)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in exercise)
    return f"{log}.{safe}"


def _rules(request: dict, exercise: str) -> list[str]:
    forbidden = request.get("forbidden") or {}
    return list(forbidden.get(exercise, ())) if isinstance(forbidden, dict) else list(forbidden)


def run(request: dict, channel_fd: int) -> int:
    """The grading session's whole life; returns pytest's exit code."""
    os.setpgid(0, 0)  # own process group: killing it ends whatever the learner started
    procs.become_subreaper()
    _limits(request)
    fd = _plumbing(request, channel_fd)
    sys.dont_write_bytecode = True  # never leave __pycache__ in the learner's folder
    for name in ("BERTPREP_RESULTS", "BERTPREP_NONCE"):
        os.environ.pop(name, None)
    os.environ["BERTPREP_TARGET"] = request["target"]
    if request.get("cache_dir"):
        os.environ["BERTPREP_CACHE"] = request["cache_dir"]
    os.environ["HF_HUB_OFFLINE"] = "1"
    # Only the plugins grading needs: auto-loading every installed pytest plugin (anyio's
    # probes event-loop backends) costs more than the checks of a small exercise.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.chdir(request["workdir"])
    # The language is read once: checks translate thousands of messages in a run, and
    # reading it from the environment each time cost a tenth of a second per check --all.
    set_language(None)
    import pytest
    import torch

    from grader.sandbox.guard import Guard
    from grader.sandbox.plugin import Channel, GradingPlugin

    # Checks run tiny tensors: one thread avoids waking a thread pool for microsecond ops
    # (several times faster on a busy 2-core machine) and keeps verdict timing steady.
    torch.set_num_threads(1)
    _no_input()
    channel = Channel(fd, request["nonce"])
    guards: list[Guard] = []

    def enter_exercise(exercise: str) -> None:
        """In the exercise's fork, before its checks (and the learner's code) run."""
        log = os.open(exercise_log(request["log"], exercise),
                      os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # fmt: skip
        os.dup2(log, 1)  # its own output file: exercises may run side by side
        os.dup2(log, 2)
        os.close(log)
        guard = Guard(request["target"], _rules(request, exercise), request.get("cache_dir"),
                      lambda what, where: channel.write(
                          {"event": "borrowed", "what": what, "where": where}),
                      channel.write)  # fmt: skip
        guard.install()
        guards.append(guard)

    def after_check() -> None:
        for guard in guards:
            with contextlib.suppress(Exception):
                guard.wrap_reference()  # reference modules a check imported since
                guard.scan_modules()

    plugin = GradingPlugin(channel, target_dir=request["target"], cpu_limit=request["cpu_s"],
                           enter_exercise=enter_exercise, after_check=after_check,
                           parallel=int(request.get("parallel", 1)),
                           names=request.get("exercises"),
                           exercise_wall_s=float(request["run_wall_s"]))  # fmt: skip
    del request["nonce"]
    args = [
        *request["checks"],
        "-p", "hypothesis.extra.pytestplugin",
        # Checks raise CheckFailure with their own messages; no assert rewriting needed.
        "--assert=plain",
        "-c", str(CHECKS_DIR / "pytest.ini"),
        "--rootdir", str(CHECKS_DIR),
        "-q", "--tb=no", "--no-header",
    ]  # fmt: skip
    for unused in UNUSED_PLUGINS:
        args += ["-p", f"no:{unused}"]
    return int(pytest.main(args, plugins=[plugin]))
