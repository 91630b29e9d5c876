"""A warm grading worker: imports torch and pytest once, then forks one child per grading run.

Run as ``python -m grader.sandbox.worker``. It reads one JSON request per line on stdin and answers
one JSON line on stdout. Each request is graded in a fresh fork, so the learner's code is
imported anew every time (pytest run twice in one process would not see edited files), the
import cost is paid once, and whatever the child does — loop, crash, exhaust memory — ends
with the child. The worker itself never runs a tensor operation: forking a process whose
thread pools have started is not safe.

Request: {"checks": [paths], "target": dir, "results": jsonl path, "log": path,
          "test_timeout": s, "run_timeout": s, "memory_mb": n, "output_mb": n}
Answer:  {"exit_code": int | None, "signal": int | None, "timed_out": bool, "seconds": float}
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import time

from grader.catalogue import CHECKS_DIR

READY = "ready"


def _preload() -> None:
    # Importing these here is the whole point of a warm worker; no tensor ops are run.
    import hypothesis.extra.pytestplugin
    import hypothesis.strategies  # noqa: F401
    import pytest  # noqa: F401
    import torch  # noqa: F401

    import reference  # noqa: F401

    # The check modules are not preloaded: the sandbox runs checks but does not depend on
    # them (grader/checks imports grader/sandbox, never the reverse).
    from grader.sandbox import plugin, target  # noqa: F401


def _vm_size_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(request: dict) -> int:
    """Runs in the forked child: limits, redirections, then pytest."""
    os.setpgid(0, 0)  # own process group, so a timeout kills anything it spawned too
    memory = _vm_size_bytes() + request["memory_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    output = request["output_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails, it doesn't kill
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.dont_write_bytecode = True  # never leave __pycache__ in the learner's folder
    os.environ["BERTPREP_TARGET"] = request["target"]
    os.environ["BERTPREP_RESULTS"] = request["results"]
    os.environ["BERTPREP_TEST_TIMEOUT"] = str(request["test_timeout"])
    os.environ["HF_HUB_OFFLINE"] = "1"
    # Only the plugins grading needs: auto-loading every installed pytest plugin (anyio's
    # probes event-loop backends) costs more than the checks of a small exercise.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.chdir(request["workdir"])
    import pytest
    import torch

    # Checks run tiny tensors: one thread avoids waking a thread pool for microsecond ops
    # (several times faster on a busy 2-core machine) and keeps verdict timing steady.
    torch.set_num_threads(1)

    args = [
        *request["checks"],
        "-p", "grader.sandbox.plugin",
        "-p", "hypothesis.extra.pytestplugin",
        "-p", "no:cacheprovider",
        "-p", "no:unraisableexception",
        "-p", "no:threadexception",
        # Checks raise CheckFailure with their own messages; no assert rewriting needed.
        "--assert=plain",
        "-c", str(CHECKS_DIR / "pytest.ini"),
        "--rootdir", str(CHECKS_DIR),
        "-q", "--tb=no", "--no-header",
    ]  # fmt: skip
    return int(pytest.main(args))


def run_request(request: dict) -> dict:
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child
        code = 70
        try:
            code = _child(request)
        except BaseException:
            code = 71
        finally:
            os._exit(code)
    deadline = started + request["run_timeout"]
    timed_out = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            break
        time.sleep(0.005)
    return {
        "exit_code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "timed_out": timed_out,
        "seconds": round(time.monotonic() - started, 3),
    }


def main() -> None:
    _preload()
    out = sys.stdout
    out.write(json.dumps({"status": READY}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        answer = run_request(json.loads(line))
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
