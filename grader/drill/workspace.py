"""A drill's scratch folder, and the lock that keeps hints and solutions shut while it runs.

``.bertprep/drills/<date>-<id>/`` is laid out as a target folder: the exercise's stub as it
was shipped (from git history, as ``bertprep reset`` restores it), and every earlier piece it
needs: those it imports relatively and the catalogue's prerequisites, transitively. Each piece
is the learner's own file from ``exercises/`` when that exercise passes, else the worked
solution from ``solutions/``; ``DRILL.md`` in the folder says which is whose. Nothing is
ever written into ``exercises/``.

While a drill runs, ``.bertprep/drills/<id>.running`` names it (with the process id), and
``bertprep hint`` / ``bertprep solution`` refuse that exercise. A lock whose process is gone
(a crash, a closed terminal) does not count.
"""

from __future__ import annotations

import ast
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from grader.catalogue import PROJECT_ROOT, Catalogue, Exercise
from grader.i18n import N_, _
from grader.progress import (
    Progress,
    atomic_write_bytes,
    atomic_write_text,
    read_regular,
    state_dir,
)
from grader.workspace import current_status, pristine_stub

SOURCES = {  # translated where they are shown
    "stub": N_("the blank stub: yours to write"),
    "yours": N_("your own file from exercises/ (it passes)"),
    "solution": N_("the worked solution from solutions/ (yours has not passed yet)"),
    "helper": N_("your own helper module from exercises/"),
}


def drills_dir() -> Path:
    return state_dir() / "drills"


@dataclass(frozen=True)
class Piece:
    file: str
    kind: str  # a key of SOURCES
    origin: str  # where it was copied from, relative to the project


def relative_imports(source: bytes | str) -> list[str]:
    """Module names imported as ``from .name import ...`` (one level, this folder)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module]  # fmt: skip


def _pick(module: str, catalogue: Catalogue, progress: Progress,
          root: Path) -> tuple[str, Path] | None:  # fmt: skip
    exercise = catalogue.by_module(module)
    if exercise is not None:
        if current_status(exercise, progress) == "passed":
            return "yours", root / "exercises" / exercise.file
        return "solution", root / "solutions" / exercise.file
    for folder in ("exercises", "solutions"):
        if (root / folder / f"{module}.py").is_file():
            kind = "helper" if folder == "exercises" else "solution"
            return kind, root / folder / f"{module}.py"
    return None


def prepare(exercise: Exercise, catalogue: Catalogue, progress: Progress,
            root: Path = PROJECT_ROOT) -> tuple[Path, list[Piece]]:  # fmt: skip
    """Create the drill's folder; raises FileNotFoundError when no committed stub exists."""
    stub = pristine_stub(exercise)
    stamp = time.strftime("%Y-%m-%d")
    for number in range(1, 1000):
        folder = drills_dir() / (f"{stamp}-{exercise.id}" + (f"-{number}" if number > 1 else ""))
        try:
            folder.mkdir(parents=True)
            break
        except FileExistsError:
            continue
    atomic_write_text(folder / exercise.file, stub, mode=0o644)
    pieces = [Piece(exercise.file, "stub", f"git: exercises/{exercise.file}")]
    wanted = [catalogue.get(p).module for p in exercise.prerequisites if p in catalogue.ids()]
    wanted += relative_imports(stub)
    done = {exercise.module}
    while wanted:
        module = wanted.pop(0)
        if module in done:
            continue
        done.add(module)
        found = _pick(module, catalogue, progress, root)
        if found is None:
            continue
        kind, origin = found
        try:
            data = read_regular(origin)
        except OSError:
            continue  # grading will say which import is missing
        atomic_write_bytes(folder / origin.name, data, mode=0o644)  # byte for byte
        pieces.append(Piece(origin.name, kind, str(origin.relative_to(root))))
        piece = catalogue.by_module(module)
        prerequisites = piece.prerequisites if piece is not None else ()
        wanted += [catalogue.get(p).module for p in prerequisites if p in catalogue.ids()]
        wanted += relative_imports(data)
    lines = [_("# Drill: {id} ({title})").format(id=exercise.id, title=exercise.text("title")),
             "", _("Write `{file}` from its blank stub. The other files are here because it "
                   "builds on them:").format(file=exercise.file), ""]  # fmt: skip
    lines += [f"- `{p.file}`: {_(SOURCES[p.kind])} ({p.origin})" for p in pieces]
    atomic_write_text(folder / "DRILL.md", "\n".join(lines) + "\n", mode=0o644)
    return folder, pieces


def lock_path(exercise_id: str) -> Path:
    return drills_dir() / f"{exercise_id}.running"


def _alive(pid: object) -> bool:
    if type(pid) is not int or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_drill(exercise_id: str) -> dict | None:
    """The running drill of this exercise ({"pid", "folder", "started_at"}), else None."""
    try:
        data = json.loads(lock_path(exercise_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not _alive(data.get("pid")):
        return None
    return data


def lock(exercise_id: str, folder: Path) -> None:
    data = dict(pid=os.getpid(), folder=str(folder), started_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    atomic_write_text(lock_path(exercise_id), json.dumps(data) + "\n")


def unlock(exercise_id: str) -> None:
    """Remove the lock, unless another live process holds it."""
    running = running_drill(exercise_id)
    if running is None or running.get("pid") == os.getpid():
        lock_path(exercise_id).unlink(missing_ok=True)
