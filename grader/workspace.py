"""The learner's exercise files: where each lives, what state it is in, and restoring a stub.

Status detection reads the file as it is now; a recorded verdict counts only while the file
still has the digest it was graded at.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from grader.catalogue import PROJECT_ROOT, Catalogue, Exercise
from grader.progress import Progress, atomic_write_text, file_digest, is_untouched_stub, state_dir


def exercise_path(exercise: Exercise) -> Path:
    return PROJECT_ROOT / "exercises" / exercise.file


def current_status(exercise: Exercise, progress: Progress) -> str:
    """The last verdict if it is about the file as it is now, else what the file shows."""
    path = exercise_path(exercise)
    entry = progress.exercises.get(exercise.id, {})
    if entry.get("digest") and entry.get("digest") == file_digest(path):
        return entry["status"]
    try:
        source = path.read_text(encoding="utf-8")
    except OSError:
        return "error"
    if is_untouched_stub(source):
        return "not_started"
    try:
        compile(source, str(path), "exec")
    except SyntaxError:
        return "syntax_error"
    return "in_progress"


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
    raise FileNotFoundError(f"no committed stub of {relative} found (reset needs the git history)")


def reset_exercise(exercise: Exercise) -> Path | None:
    """Back the learner's file up, then restore the stub; returns the backup's path (None when
    there was no file). Raises FileNotFoundError when no committed stub exists."""
    stub = pristine_stub(exercise)
    path = exercise_path(exercise)
    backup = None
    if path.exists():
        backup = state_dir() / "backups" / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}.py"
        atomic_write_text(backup, path.read_text(encoding="utf-8"))
    atomic_write_text(path, stub)
    return backup
