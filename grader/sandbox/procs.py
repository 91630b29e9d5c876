"""Processes: which ones descend from a process, how much CPU one has used, ending them all.

Linux first (``/proc`` and ``prctl``); elsewhere the functions degrade to what the platform
offers (process groups only), which is still what the grader relied on before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def become_subreaper() -> bool:
    """Orphans of our descendants (double forks, ``setsid``) are re-parented to us instead of
    to init, so a sweep of our descendants still finds them. Linux only; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (index 0 = state, 1 = ppid)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :].decode("ascii", "replace").split()


def parents() -> dict[int, int]:
    """pid -> parent pid of every live (non-zombie) process we can see."""
    table = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if name.isdigit():
            fields = _stat_fields(int(name))
            if fields and fields[0] != "Z":
                table[int(name)] = int(fields[1])
    return table


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children first), from one scan of /proc."""
    children: dict[int, list[int]] = {}
    for child, parent in parents().items():
        children.setdefault(parent, []).append(child)
    found, queue = [], list(children.get(pid, ()))
    while queue:
        current = queue.pop(0)
        found.append(current)
        queue.extend(children.get(current, ()))
    return found


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a live process (all its threads), or None."""
    fields = _stat_fields(pid)
    if not fields:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def children_cpu_seconds(pid: int) -> float | None:
    """CPU time of the children ``pid`` has waited for (all their descendants included)."""
    fields = _stat_fields(pid)
    if not fields:
        return None
    return (int(fields[13]) + int(fields[14])) / _TICKS  # cutime, cstime


def is_alive(pid: int) -> bool:
    fields = _stat_fields(pid)
    if fields is not None:
        return fields[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not sys.platform.startswith("linux")


def kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def reap_children() -> None:
    """Collect every exited child of ours (orphans re-parented to a subreaper included)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def kill_tree(root: int, *, include_root: bool = False, rounds: int = 50, reap: bool = True) -> int:
    """SIGKILL every descendant of ``root`` (and ``root`` itself with ``include_root``);
    returns how many were killed.

    Everything is stopped first, scan after scan, until a scan finds nothing new: a stopped
    process cannot fork, and a stopped parent keeps its children in the tree, so a process
    that forks in a loop cannot outrun the sweep. Then all of them are killed at once.
    """
    stopped: list[int] = []
    for _ in range(rounds):
        found = descendants(root)
        if include_root and is_alive(root):
            found.insert(0, root)
        new = [pid for pid in found if pid not in stopped and pid != os.getpid()]
        if not new:
            break
        for pid in new:
            _signal(pid, signal.SIGSTOP)
        stopped.extend(new)
    for pid in stopped:
        _signal(pid, signal.SIGKILL)
    if reap:  # (not when the caller collects its own children's statuses)
        reap_children()
    return len(stopped)
