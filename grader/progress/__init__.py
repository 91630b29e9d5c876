"""The learner's state: ``progress.json``, and the rules every state file follows.

Lives at ``.bertprep/progress.json`` in the project (``BERTPREP_HOME`` moves the folder): valid
JSON with one exercise record per line, easy to copy to another machine. Every state file
(progress, the review deck, backups, transcripts) follows the same rules:

- written atomically (a temporary file, then a rename): never half-written;
- every write is a read-modify-write under a lock (``fcntl.flock`` on ``NAME.lock`` beside the
  file): the record on disk *now* is updated, so two commands at once never undo each other;
- nothing is overwritten: backups and copies of damaged files get unique names (``O_EXCL``);
- a damaged file is kept aside, whatever still parses is salvaged field by field, and one line
  on stderr says so;
- a state folder that cannot be written (read-only, full, a file in its place) is one line on
  stderr, never a traceback: what was shown still stands, it is just not remembered.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from grader.i18n import _
from grader.progress.files import (
    FileTooLarge,
    NotARegularFile,
    atomic_write_bytes,
    atomic_write_text,
    bytes_digest,
    create_unique,
    describe,
    file_digest,
    keep_damaged_copy,
    locked,
    open_regular,
    read_regular,
    state_dir,
    warn,
)

VERSION = 1
STATE_FILE_LIMIT = 16 * 2**20  # a progress file is a few KB: anything this large is damage
RECORD_RE = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*(?=\{)')

__all__ = [
    "FileTooLarge",
    "NotARegularFile",
    "Progress",
    "atomic_write_bytes",
    "atomic_write_text",
    "bytes_digest",
    "create_unique",
    "describe",
    "file_digest",
    "is_untouched_stub",
    "keep_damaged_copy",
    "locked",
    "open_regular",
    "read_regular",
    "state_dir",
    "warn",
]


def _field_problem(key: str, value: object) -> str | None:
    if key in ("status", "checked_at", "first_passed_at"):
        return None if isinstance(value, str) else _("is not text")
    if key == "digest":
        return None if value is None or isinstance(value, str) else _("is not a file digest")
    if key == "checks_run":
        return None if type(value) is int and value >= 0 else _("is not a count")
    if key == "hint_level":
        return None if type(value) is int and 0 <= value <= 3 else _("is not a hint level 0-3")
    return None  # fields a newer bertprep adds are kept as they are


def clean_record(exercise_id: str, value: object) -> tuple[dict | None, list[str]]:
    """The record with every unsound field dropped, and what was dropped."""
    if not isinstance(value, dict):
        return None, [_("the record of {id} is not an object").format(id=exercise_id)]
    record, problems = {}, []
    for key, item in value.items():
        problem = _field_problem(key, item)
        if problem:
            problems.append(f"{exercise_id}.{key} = {json.dumps(item)[:40]} {problem}")
        else:
            record[key] = item
    return record, problems


def parse_progress(raw: bytes) -> tuple[dict[str, dict], list[str]]:
    """(the exercise records that could be read, what was wrong: empty for a sound file)."""
    problems: list[str] = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        problems.append(_("it is not valid UTF-8"))
    try:
        found = json.loads(text)["exercises"]
        if not isinstance(found, dict):
            raise TypeError("exercises is not an object")
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        problems.append(_("it is not valid JSON"))
        found = _salvage(text)
    records: dict[str, dict] = {}
    for exercise_id, value in found.items():
        record, dropped = clean_record(exercise_id, value)
        problems += dropped
        if record is not None:
            records[exercise_id] = record
    return records, problems


def _salvage(text: str) -> dict[str, object]:
    """Every ``"id": {flat object}`` that still parses in a file that is not JSON any more."""
    decoder, found = json.JSONDecoder(), {}
    for match in RECORD_RE.finditer(text):
        try:
            name = json.loads(f'"{match.group(1)}"')
            value, _ = decoder.raw_decode(text, match.end())
        except (ValueError, RecursionError):
            continue
        nested = isinstance(value, dict) and any(isinstance(v, dict | list) for v in value.values())
        flat = isinstance(value, dict) and not nested
        if flat and name != "exercises":
            found[name] = value
    return found


def render_progress(records: dict[str, dict]) -> str:
    lines = [
        f"{json.dumps(i, ensure_ascii=False)}: {json.dumps(r, ensure_ascii=False, sort_keys=True)}"
        for i, r in sorted(records.items())
    ]
    body = ",\n".join(lines)
    return f'{{"version": {VERSION}, "exercises": {{\n{body}{chr(10) if body else ""}}}}}\n'


def _summary(problems: list[str]) -> str:
    shown = _("; ").join(problems[:3])
    if len(problems) > 3:
        return _("{problems} and {more} more").format(problems=shown, more=len(problems) - 3)
    return shown


def _read_raw(path: Path) -> bytes | None:
    """The file's bytes; None when there is none (no file, or no state folder yet)."""
    try:
        return read_regular(path, limit=STATE_FILE_LIMIT)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _read_locked(path: Path) -> dict[str, dict]:
    """Holding the lock: the records on disk now. A damaged file is kept aside, replaced by
    what could be salvaged, and reported on stderr."""
    raw = _read_raw(path)
    if raw is None:
        return {}
    records, problems = parse_progress(raw)
    if problems:
        kept = keep_damaged_copy(path, raw)
        atomic_write_text(path, render_progress(records))
        warn(_("{name} was damaged ({problems}); the damaged file is kept as {kept}; exercise "
               "records recovered: {count}.").format(name=path.name, problems=_summary(problems),
                                                     kept=kept, count=len(records)))  # fmt: skip
    return records


Edit = Callable[[dict[str, dict]], None]


@dataclass
class Progress:
    path: Path
    exercises: dict[str, dict] = field(default_factory=dict)
    # The records as last read from disk, and the edits made since: saving applies the edits
    # to the records on disk *then* (direct changes to ``exercises`` are merged field by field).
    _base: dict[str, dict] = field(default_factory=dict, repr=False)
    _edits: list[Edit] = field(default_factory=list, repr=False)

    @classmethod
    def load(cls, path: Path | None = None) -> Progress:
        path = path or state_dir() / "progress.json"
        try:
            raw = _read_raw(path)
        except OSError as err:
            warn(_("could not read your progress from {path} ({error}); carrying on without "
                   "it.").format(path=path, error=describe(err)))  # fmt: skip
            return cls(path)
        records, problems = parse_progress(raw) if raw is not None else ({}, [])
        if problems:
            try:
                with locked(path):
                    records = _read_locked(path)
            except OSError as err:
                warn(_("{path} is damaged ({problems}) and could not be repaired ({error}); "
                       "using the {count} exercise records that could be read.").format(
                    path=path, problems=_summary(problems), error=describe(err),
                    count=len(records)))  # fmt: skip
        return cls(path, copy.deepcopy(records), copy.deepcopy(records))

    def save(self) -> bool:
        """Merge this session's changes into the file as it is now. False (and one line on
        stderr) when the state cannot be written; the changes stay pending for a later save."""
        try:
            with locked(self.path):
                fresh = _read_locked(self.path)
                for edit in self._edits:
                    edit(fresh)
                _merge_direct_changes(fresh, self.exercises, self._base)
                atomic_write_text(self.path, render_progress(fresh))
        except OSError as err:
            warn(_("could not save your progress to {path} ({error}); what is shown above "
                   "still holds, but it is not remembered.").format(
                path=self.path, error=describe(err)))  # fmt: skip
            return False
        self._edits.clear()
        self.exercises, self._base = fresh, copy.deepcopy(fresh)
        return True

    def _edit(self, edit: Edit) -> None:
        edit(self.exercises)
        edit(self._base)  # so the edit is not seen again as a direct change
        self._edits.append(edit)

    def entry(self, exercise_id: str) -> dict:
        """The record itself; prefer ``record_verdict`` / ``see_hint`` for changing it."""
        return self.exercises.setdefault(exercise_id, {})

    def record_verdict(self, exercise_id: str, status: str, digest: str | None) -> None:
        """``digest``: of the bytes that were graded (the verdict is about that version)."""
        checked_at = time.strftime("%Y-%m-%dT%H:%M:%S")

        def edit(records: dict[str, dict]) -> None:
            entry = records.setdefault(exercise_id, {})
            entry.update(status=status, checked_at=checked_at, digest=digest)
            entry["checks_run"] = entry.get("checks_run", 0) + 1
            if status == "passed":
                entry.setdefault("first_passed_at", checked_at)

        self._edit(edit)

    def see_hint(self, exercise_id: str, level: int) -> None:
        def edit(records: dict[str, dict]) -> None:
            entry = records.setdefault(exercise_id, {})
            entry["hint_level"] = max(self._level(entry), level)

        self._edit(edit)

    def has_passed(self, exercise_id: str) -> bool:
        return "first_passed_at" in self.exercises.get(exercise_id, {})

    def hint_level_seen(self, exercise_id: str) -> int:
        return self._level(self.exercises.get(exercise_id, {}))

    @staticmethod
    def _level(entry: dict) -> int:
        level = entry.get("hint_level", 0)
        return level if type(level) is int and 0 <= level <= 3 else 0


def _merge_direct_changes(fresh: dict, mine: dict, base: dict) -> None:
    for exercise_id, record in mine.items():
        before = base.get(exercise_id, {})
        if record == before:
            continue
        target = fresh.setdefault(exercise_id, {})
        for key in record.keys() | before.keys():
            if key not in record:
                target.pop(key, None)
            elif key not in before or record[key] != before[key]:
                target[key] = copy.deepcopy(record[key])


def is_untouched_stub(source: str | bytes | ast.Module) -> bool:
    """True when every public function and method (``__init__`` and ``_private`` helpers
    aside: stubs may provide those) still starts by raising NotImplementedError. Bytes are
    decoded as Python does (coding line, BOM)."""
    if isinstance(source, ast.Module):
        tree = source
    else:
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
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
