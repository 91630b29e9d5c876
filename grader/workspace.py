"""The learner's exercise files: where each lives, what state it is in, and restoring a stub.

Status detection reads the file as it is now, and safely: regular files only (a FIFO is never
waited on), at most ``INSPECT_LIMIT`` bytes, decoded as Python decodes source (coding line,
BOM), parsed but never run. A recorded verdict counts only while the file still has the digest
of the bytes that were graded. A reset treats the learner's file as bytes, backs it up under a
name no other backup has, and writes the stub through a symlink with the file's own mode.
"""

from __future__ import annotations

import ast
import os
import stat
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from grader.catalogue import PROJECT_ROOT, Catalogue, Exercise
from grader.i18n import _
from grader.progress import (
    FileTooLarge,
    NotARegularFile,
    Progress,
    atomic_write_bytes,
    create_unique,
    describe,
    file_digest,
    is_untouched_stub,
    open_regular,
    read_regular,
    state_dir,
)
from grader.sandbox.runner import Verdict

INSPECT_LIMIT = 1_000_000  # larger files are graded (in the sandbox), not inspected here


def exercise_path(exercise: Exercise) -> Path:
    return PROJECT_ROOT / "exercises" / exercise.file


def inspect_source(path: Path) -> str:
    """not_started | in_progress | syntax_error | missing | not_a_file | too_large | error."""
    try:
        data = read_regular(path, limit=INSPECT_LIMIT)
    except FileNotFoundError:
        return "missing"
    except NotARegularFile:
        return "not_a_file"
    except FileTooLarge:
        return "too_large"
    except OSError:
        return "error"
    try:
        tree = ast.parse(data, str(path))  # bytes: the coding line and a BOM are honoured
        if is_untouched_stub(tree):
            return "not_started"
        compile(tree, str(path), "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "syntax_error"
    return "in_progress"


def current_status(exercise: Exercise, progress: Progress) -> str:
    """The last verdict if it is about the file as it is now, else what the file shows."""
    path = exercise_path(exercise)
    entry = progress.exercises.get(exercise.id, {})
    status, digest = entry.get("status"), entry.get("digest")
    if isinstance(status, str) and digest and digest == file_digest(path):
        return status
    return inspect_source(path)


def ungradable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be graded at all (a FIFO, a folder, a device), else None."""
    try:
        with open_regular(path):
            return None
    except NotARegularFile as err:
        return _("{name} is {kind}: bertprep grades regular files only.").format(
            name=path.name, kind=err.strerror)  # fmt: skip
    except OSError:
        return None  # a missing file is the grader's to report


def ungradable_verdicts(exercises: Iterable[Exercise], folder: Path) -> dict[str, Verdict]:
    """Error verdicts for the exercises whose file in ``folder`` is not a regular file: those
    are never handed to the grader (importing a FIFO would wait forever)."""
    verdicts = {}
    for exercise in exercises:
        reason = ungradable_reason(folder / exercise.file)
        if reason:
            verdicts[exercise.id] = Verdict(exercise.id, "error", message=reason)
    return verdicts


def next_exercise(catalogue: Catalogue, progress: Progress) -> Exercise | None:
    for exercise in catalogue.exercises:
        if current_status(exercise, progress) != "passed":
            return exercise
    return None


def pristine_stub(exercise: Exercise) -> str:
    """The stub as shipped: the newest committed version of the file that is still a stub."""
    relative = f"exercises/{exercise.file}"

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    try:
        commits = git("log", "--format=%H", "--", relative).split()
    except (OSError, subprocess.CalledProcessError):
        commits = []
    for commit in commits:
        try:
            source = git("show", f"{commit}:{relative}")
        except subprocess.CalledProcessError:
            continue
        if is_untouched_stub(source):
            return source
    raise FileNotFoundError(_("no committed stub of {path} found (reset needs the git "
                              "history)").format(path=relative))  # fmt: skip


class ResetError(Exception):
    """A reset refused or cut short; the message says what became of the learner's file."""


def reset_exercise(exercise: Exercise) -> Path | None:
    """Back the learner's file up, then restore the stub; returns the backup's path (None when
    there was no file). Raises FileNotFoundError when no committed stub exists, ResetError when
    the file cannot be backed up (then it is left as it is) or the stub cannot be written."""
    stub = pristine_stub(exercise).encode("utf-8")
    path = exercise_path(exercise)
    shown = f"exercises/{exercise.file}"
    real = Path(os.path.realpath(path))  # a symlinked exercise is reset through its link
    if path.is_symlink() and not real.exists():
        raise ResetError(_("{path} is a symlink to {target}, which does not exist; nothing "
                           "was changed.").format(path=shown, target=real))  # fmt: skip
    try:
        data: bytes | None = read_regular(real)  # bytes as they are: any encoding, any content
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        data, mode = None, 0o644
    except NotARegularFile as err:
        raise ResetError(_("{path} is {kind}; move it away, then run `bertprep reset {id}` "
                           "again.").format(path=shown, kind=err.strerror,
                                            id=exercise.id)) from None  # fmt: skip
    except OSError as err:
        raise ResetError(_("could not read {path} ({error}); it was left as it is.").format(
            path=shown, error=describe(err))) from None  # fmt: skip
    backup = None
    if data is not None:
        stamp = time.strftime("%Y%m%d-%H%M%S")

        def name(number: int) -> str:
            return f"{path.stem}-{stamp}" + (f"-{number}" if number > 1 else "") + path.suffix

        try:
            backup = create_unique(state_dir() / "backups", name, data)
        except OSError as err:
            raise ResetError(_("could not back up {path} ({error}), so it was left as it is.")
                             .format(path=shown, error=describe(err))) from None  # fmt: skip
    try:
        atomic_write_bytes(real, stub, mode)
    except OSError as err:
        if backup is None:
            raise ResetError(_("could not write the stub to {path} ({error}).").format(
                path=shown, error=describe(err))) from None  # fmt: skip
        raise ResetError(_("{path} is backed up to {backup}, but the stub could not be written "
                           "({error}); the file was left as it is.").format(
            path=shown, backup=backup, error=describe(err))) from None  # fmt: skip
    return backup
