"""A warm grading worker: imports torch and pytest once, then forks a grading session per
request, which forks again for each exercise (``child``, ``forks``).

Run as ``python -m grader.sandbox.worker``. It reads one JSON request per line on stdin and
answers on stdout: ``{"event": "started", "pid"}`` when the session is forked (so the parent
can end it on Ctrl-C), then ``{"event": "done", ...}`` with the session's records.

Each exercise is graded in a fresh fork: the learner's code is imported anew every time
(pytest run twice in one process would not see edited files), the import cost is paid once,
no exercise sees global state (default dtype, grad mode, seeds, threads) another exercise's
code changed, and whatever it does — loop, crash, exhaust memory, start processes — ends
with it. The worker is a child subreaper: after every request it stops and kills every
process still below it. The worker itself never runs a tensor operation: forking a process
whose thread pools have started is not safe.

A check module may define ``prepare(cache_dir)``: expected values that are slow to compute
(transformers' outputs for the capstone). The worker runs it once per check module, in a
fork where no learner code runs, before that module's first grading run; it writes under
``cache_dir`` and the checks read from there. A check module may also name modules the worker
should import once, before forking, in ``WORKER_IMPORTS = ("torch._dynamo",)`` (modules that
start no threads: ``optimizer.step()`` imports torch._dynamo, seconds in every fork).

Request: {"checks": [paths], "exercises": {path: exercise id}, "target": dir, "log": path,
          "workdir": dir, "nonce": str,
          "cpu_s": per-check CPU limit, "run_cpu_s": CPU limit of one exercise's process,
          "run_wall_s": wall-clock limit of one exercise, "memory_mb": n, "output_mb": n,
          "forbidden": {exercise: [names]}, "cache_dir": dir or None, "parallel": n}
Answer:  {"event": "done", "nonce", "exit_code", "signal", "stopped": None | "wall",
          "seconds", "cpu_seconds", "lines": [record lines], "leftovers": n}
"""

from __future__ import annotations

import ast
import contextlib
import gc
import importlib
import importlib.util
import json
import os
import select
import sys
import time
from pathlib import Path

from grader.catalogue import CHECKS_DIR, PROJECT_ROOT
from grader.sandbox import child, procs

READY = "ready"
MAX_RECORD_BYTES = 8 * 2**20  # what one run may send back
PREPARE_TIMEOUT_S = 600
_prepared: set[str] = set()


def _cache_bytecode() -> None:
    """Write the bytecode of the grader's and the reference's own modules where it is stale.
    The grading processes write none (``PYTHONDONTWRITEBYTECODE``: nothing may appear in the
    learner's folder), so without this every session compiled the check modules again. Only
    the project's folders are written; the learner's code is always compiled afresh."""
    import compileall

    for folder in ("grader", "reference"):
        with contextlib.suppress(Exception):  # a read-only checkout: compile in memory, then
            compileall.compile_dir(PROJECT_ROOT / folder, quiet=2, workers=1)


def _preload() -> None:
    # Importing these here is the whole point of a warm worker; no tensor ops are run.
    import hypothesis.extra.pytestplugin
    import hypothesis.strategies  # noqa: F401
    import pytest  # noqa: F401
    import torch  # noqa: F401

    import reference  # noqa: F401

    # The check modules are not preloaded: the sandbox runs checks but does not depend on
    # them (grader/checks imports grader/sandbox, never the reverse).
    from grader.sandbox import guard, outcomes, plugin  # noqa: F401

    # Work hypothesis does once per process, done once here instead of once per fork: the
    # registration of its PRNG (a full garbage collection) and the scan of loaded modules
    # for constants.
    with contextlib.suppress(Exception):
        from hypothesis.internal.entropy import deterministic_PRNG

        with deterministic_PRNG():
            pass
    with contextlib.suppress(Exception):
        from hypothesis.internal.conjecture.providers import _get_local_constants

        _get_local_constants()
    _no_lazy_device_seeding()
    gc.collect()
    gc.freeze()  # forked children skip these objects in every collection (and share pages)


def _no_lazy_device_seeding() -> None:
    """``torch.manual_seed`` also queues the seed for CUDA, XPU and MTIA devices, formatting
    the whole call stack each time (milliseconds deep inside pytest and hypothesis, and checks
    seed often). Where such a device is absent the queued seed is never used: skip it."""
    import torch

    for name in ("cuda", "xpu", "mtia"):
        device = getattr(torch, name, None)
        try:
            absent = not device.is_available()
        except Exception:  # an API this torch lacks: leave it alone
            continue
        if absent:
            for function in ("manual_seed_all", "manual_seed"):
                if hasattr(device, function):
                    setattr(device, function, lambda seed: None)


def _send(out, message: dict) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


class _Records:
    """Lines read from the channel, bounded."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.partial = b""
        self.overflow = False

    def feed(self, chunk: bytes) -> None:
        data = self.partial + chunk
        *complete, self.partial = data.split(b"\n")
        if len(self.partial) > MAX_RECORD_BYTES:
            self.partial, self.overflow = b"", True
        for raw in complete:
            self.size += len(raw)
            if self.size > MAX_RECORD_BYTES:
                self.overflow = True
                continue
            self.lines.append(raw.decode("utf-8", "replace"))


def _drain(fd: int, records: _Records, timeout: float) -> bool:
    """Read what is there (waiting up to ``timeout``); False at end of file."""
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return True
    chunk = os.read(fd, 1 << 16)
    if not chunk:
        return False
    records.feed(chunk)
    return True


def _run_prepare(check: str, cache_dir: str) -> None:
    """In a fork with no learner code: import the check module, call its ``prepare``."""
    os.setpgid(0, 0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    path = Path(check)
    if path.parent == CHECKS_DIR:
        module = importlib.import_module(f"grader.checks.{path.stem}")
    else:
        spec = importlib.util.spec_from_file_location(f"_bertprep_prepare_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    module.prepare(Path(cache_dir))


def _worker_imports(source: str) -> tuple[str, ...]:
    """The ``WORKER_IMPORTS`` tuple of a check module's source, read without running it."""
    if "WORKER_IMPORTS" not in source:
        return ()
    with contextlib.suppress(SyntaxError, ValueError):
        for node in ast.parse(source).body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "WORKER_IMPORTS" for t in node.targets
            ):
                names = ast.literal_eval(node.value)
                return tuple(n for n in names if isinstance(n, str))
    return ()


def prepare(request: dict) -> None:
    """Run the ``prepare`` of each requested check module once per worker (see above)."""
    cache_dir = request.get("cache_dir")
    for check in request["checks"]:
        if check in _prepared:
            continue
        _prepared.add(check)
        try:
            with open(check, encoding="utf-8") as handle:
                source = handle.read()
        except OSError:
            continue
        for name in _worker_imports(source):
            with contextlib.suppress(Exception):
                importlib.import_module(name)
        if not cache_dir or "\ndef prepare(" not in source:
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _run_prepare(check, cache_dir)
            except BaseException:
                code = 1  # no cache: the check computes the values itself
            os._exit(code)
        deadline = time.monotonic() + PREPARE_TIMEOUT_S
        while os.waitpid(pid, os.WNOHANG)[0] == 0:
            if time.monotonic() > deadline:
                procs.kill_group(pid)
                os.waitpid(pid, 0)
                break
            time.sleep(0.02)


def run_request(request: dict, out) -> dict:
    prepare(request)
    started = time.monotonic()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 70
        try:
            os.close(read_fd)
            code = child.run(request, write_fd)
        except BaseException:
            code = 71
        finally:
            os._exit(code)
    os.close(write_fd)
    _send(out, {"event": "started", "pid": pid, "nonce": request["nonce"]})
    records = _Records()
    stopped, status, usage, is_open = None, None, None, True
    # The session ends each exercise after run_wall_s itself; this is the backstop for it.
    deadline = started + request["run_wall_s"] * max(1, len(request["checks"])) + 60
    try:
        while status is None:
            if is_open:
                is_open = _drain(read_fd, records, 0.02)
            else:
                time.sleep(0.02)
            done, wait_status, rusage = os.wait4(pid, os.WNOHANG)
            if done:
                status, usage = wait_status, rusage
                break
            if time.monotonic() > deadline:
                stopped = "wall"
                procs.kill_group(pid)
                _, status, usage = os.wait4(pid, 0)
    finally:
        procs.kill_group(pid)
        leftovers = procs.kill_tree(os.getpid())
        if status is None:  # interrupted (SIGTERM): leave nothing behind
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    deadline = time.monotonic() + 2.0
    while is_open and time.monotonic() < deadline:  # every writer is dead: read to the end
        is_open = _drain(read_fd, records, 0.05)
    os.close(read_fd)
    return {
        "event": "done",
        "nonce": request["nonce"],
        "exit_code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "stopped": stopped,
        "seconds": round(time.monotonic() - started, 3),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3) if usage else None,
        "lines": records.lines,
        "overflow": records.overflow,
        "leftovers": leftovers,
    }


def _terminate(signum, frame) -> None:
    raise SystemExit(0)  # run_request's finally ends the child and its processes


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    procs.become_subreaper()
    _cache_bytecode()
    _preload()
    out = sys.stdout
    _send(out, {"status": READY})
    for line in sys.stdin:
        if not line.strip():
            continue
        _send(out, run_request(json.loads(line), out))


if __name__ == "__main__":
    main()
