"""A warm grading worker: imports torch and pytest once, then forks one child per exercise.

Run as ``python -m grader.sandbox.worker``. It reads one JSON request per line on stdin and
answers on stdout: ``{"event": "started", "pid"}`` when the child is forked (so the parent
can end it on Ctrl-C), then ``{"event": "done", ...}`` with the child's records.

Each exercise is graded in a fresh fork: the learner's code is imported anew every time
(pytest run twice in one process would not see edited files), the import cost is paid once,
no exercise sees global state (default dtype, grad mode, seeds, threads) another exercise's
code changed, and whatever the child does — loop, crash, exhaust memory, start processes —
ends with it: the worker is a child subreaper, so after every run it stops and kills every
process still below it. The worker itself never runs a tensor operation: forking a process
whose thread pools have started is not safe.

Request: {"checks": [paths], "target": dir, "log": path, "workdir": dir, "nonce": str,
          "cpu_s": per-check CPU limit, "run_cpu_s": CPU limit of the run, "run_wall_s":
          wall-clock backstop, "memory_mb": n, "output_mb": n, "forbidden": [names]}
Answer:  {"event": "done", "nonce", "exit_code", "signal", "stopped": None | "cpu" | "wall",
          "seconds", "cpu_seconds", "lines": [record lines], "leftovers": n}
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import sys
import time

from grader.sandbox import child, procs

READY = "ready"
MAX_RECORD_BYTES = 8 * 2**20  # what one run may send back
CPU_GRACE_S = 5.0  # past a check's own CPU limit (its timer should have fired): native loop


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
    gc.collect()
    gc.freeze()  # forked children skip these objects in every collection (and share pages)


def _send(out, message: dict) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


class _Records:
    """Lines read from the channel, bounded; remembers each check's start."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.partial = b""
        self.overflow = False
        self.started: dict | None = None  # the last "start" record

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
            line = raw.decode("utf-8", "replace")
            self.lines.append(line)
            if '"event": "start"' in line:
                with contextlib.suppress(ValueError):
                    self.started = json.loads(line)


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


def run_request(request: dict, out) -> dict:
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
    check_cpu, check_seen = 0.0, None
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
            cpu = procs.cpu_seconds(pid)
            if records.started is not check_seen:  # a new check began: its CPU clock starts
                check_seen, check_cpu = records.started, cpu or 0.0
            limit = float((check_seen or {}).get("limit", request["cpu_s"]))
            if cpu is not None and cpu - check_cpu > limit + CPU_GRACE_S:
                stopped = "cpu"  # its own timer did not fire: a loop in native code
            elif time.monotonic() - started > request["run_wall_s"]:
                stopped = "wall"
            if stopped:
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
    _preload()
    out = sys.stdout
    _send(out, {"status": READY})
    for line in sys.stdin:
        if not line.strip():
            continue
        _send(out, run_request(json.loads(line), out))


if __name__ == "__main__":
    main()
