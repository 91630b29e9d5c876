"""The learner's progress: a small JSON text file, written atomically, easy to copy elsewhere.

Lives at ``.bertprep/progress.json`` in the project (``BERTPREP_HOME`` moves the folder).
A missing or unreadable file means "no progress yet", never a crash; an unreadable one is
kept aside as ``progress.json.corrupt`` so nothing is silently lost.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from grader.catalogue import PROJECT_ROOT

VERSION = 1


def state_dir() -> Path:
    return Path(os.environ.get("BERTPREP_HOME", PROJECT_ROOT / ".bertprep"))


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None


@dataclass
class Progress:
    path: Path
    exercises: dict[str, dict]

    @classmethod
    def load(cls, path: Path | None = None) -> Progress:
        path = path or state_dir() / "progress.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            exercises = data["exercises"]
            if not isinstance(exercises, dict):
                raise TypeError("exercises is not an object")
        except FileNotFoundError:
            return cls(path, {})
        except (OSError, ValueError, KeyError, TypeError):
            path.replace(path.with_name(path.name + ".corrupt"))
            return cls(path, {})
        return cls(path, {k: v for k, v in exercises.items() if isinstance(v, dict)})

    def save(self) -> None:
        text = json.dumps({"version": VERSION, "exercises": self.exercises}, indent=2,
                          sort_keys=True)  # fmt: skip
        atomic_write_text(self.path, text + "\n")

    def entry(self, exercise_id: str) -> dict:
        return self.exercises.setdefault(exercise_id, {})

    def record_verdict(self, exercise_id: str, status: str, digest: str | None) -> None:
        entry = self.entry(exercise_id)
        entry["status"] = status
        entry["checked_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        entry["digest"] = digest  # which version of the file this verdict is about
        entry["checks_run"] = entry.get("checks_run", 0) + 1
        if status == "passed":
            entry.setdefault("first_passed_at", entry["checked_at"])

    def has_passed(self, exercise_id: str) -> bool:
        return "first_passed_at" in self.exercises.get(exercise_id, {})

    def hint_level_seen(self, exercise_id: str) -> int:
        return int(self.exercises.get(exercise_id, {}).get("hint_level", 0))


def is_untouched_stub(source: str) -> bool:
    """True when every public function and method (``__init__`` and ``_private`` helpers
    aside: stubs may provide those) still starts by raising NotImplementedError."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    bodies = [
        node.body
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and not node.name.startswith("_")
    ]
    if not bodies:
        return False

    def raises_not_implemented(body: list[ast.stmt]) -> bool:
        statements = [s for s in body if not (isinstance(s, ast.Expr) and
                                               isinstance(s.value, ast.Constant))]  # fmt: skip
        if not statements or not isinstance(statements[0], ast.Raise):
            return False
        exc = statements[0].exc
        target = exc.func if isinstance(exc, ast.Call) else exc
        return isinstance(target, ast.Name) and target.id == "NotImplementedError"

    return all(raises_not_implemented(body) for body in bodies)
