"""What gets graded, and what must not change while it is.

``take_snapshot`` copies the target folder's Python files (bounded, regular files only) into
a private folder before any learner code runs; that copy is what the checks import, and a
verdict carries the digest of the bytes it was about. Saving the file again in the middle
of a run therefore cannot make the new bytes inherit the old verdict.

``Manifest`` fingerprints the grader's own trees (grader/, reference/, solutions/): cheap
``stat`` fingerprints each run, a content hash only for a file whose fingerprint changed.
A run that changed one of them is reported as such, not graded.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from grader.catalogue import PROJECT_ROOT
from grader.i18n import N_, _

MAX_FILE_BYTES = 4 * 2**20  # one learner file; far above any real exercise
MAX_FILES = 400
MAX_DEPTH = 4
SKIPPED_DIRS = {"__pycache__", ".git", ".venv", "node_modules", ".bertprep"}
GUARDED = ("grader", "reference", "solutions")
RESTORE_COMMAND = "git checkout -- " + " ".join(GUARDED)


def bytes_digest(data: bytes) -> str:
    """The digest a verdict is recorded against: 16 hex digits of SHA-256 (as progress)."""
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass
class Snapshot:
    folder: Path
    digests: dict[str, str] = field(default_factory=dict)  # relative path -> digest
    # relative path -> why it was not copied: a whole sentence for the verdict, translated
    problems: dict[str, str] = field(default_factory=dict)


# Why a learner's file is not graded (whole sentences: the verdict's message).
UNREADABLE = N_("your file {file} cannot be read ({error}): it was not graded")
NOT_REGULAR = N_("your file {file} is not a regular file: it was not graded")
TOO_LARGE = N_("your file {file} is too large to grade ({size:.0f} MB): it was not graded")
GREW = N_("your file {file} is too large to grade (it grew while being read): it was not graded")


def _read_regular(path: Path, limit: int, name: str) -> tuple[bytes | None, str | None]:
    """(bytes, None) for a regular file up to ``limit`` bytes, else (None, why: a sentence
    about the file ``name``). Never blocks on a FIFO or device, never follows a symlink to
    one."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        return None, _(UNREADABLE).format(file=name, error=err.strerror)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, _(NOT_REGULAR).format(file=name)
        if info.st_size > limit:
            return None, _(TOO_LARGE).format(file=name, size=info.st_size / 2**20)
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                return None, _(GREW).format(file=name)
            chunks.append(chunk)
        return b"".join(chunks), None
    except OSError as err:
        return None, _(UNREADABLE).format(file=name, error=err.strerror)
    finally:
        os.close(fd)


def take_snapshot(source: Path, dest: Path) -> Snapshot:
    """Copy ``source``'s ``*.py`` files (sub-folders included, bounded) into ``dest``."""
    snapshot = Snapshot(dest)
    dest.mkdir(parents=True, exist_ok=True)
    count = 0
    for folder, dirs, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        if len(relative.parts) >= MAX_DEPTH:
            dirs[:] = []
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(".py") or count >= MAX_FILES:
                continue
            key = str(relative / name) if relative.parts else name
            data, problem = _read_regular(Path(folder) / name, MAX_FILE_BYTES, key)
            if data is None:  # (problem is always set then)
                snapshot.problems[key] = problem or _(UNREADABLE).format(file=key, error="?")
                continue
            count += 1
            (dest / relative).mkdir(parents=True, exist_ok=True)
            (dest / key).write_bytes(data)
            snapshot.digests[key] = bytes_digest(data)
    return snapshot


Fingerprint = tuple[int, int, int]  # size, mtime_ns, inode


def _shown(path: str, root: Path) -> str:
    """Relative to the project when inside it, else absolute."""
    relative = os.path.relpath(path, root)
    return path if relative.startswith("..") else relative


class Manifest:
    """Fingerprints of every file under grader/, reference/ and solutions/ (and ``extra``
    folders anywhere, e.g. the cache of expected values)."""

    def __init__(self, root: Path = PROJECT_ROOT, trees: tuple[str, ...] = GUARDED,
                 extra: tuple[Path, ...] = ()):  # fmt: skip
        self.root = root
        self.trees = trees
        self.folders = [root / tree for tree in trees] + [Path(f) for f in extra]
        self._hashes: dict[str, tuple[Fingerprint, str]] = {}
        self.state = self._scan()

    def _scan(self) -> dict[str, Fingerprint]:
        state = {}
        for top in self.folders:
            for folder, dirs, files in os.walk(top):
                dirs[:] = [d for d in dirs if d != "__pycache__"]
                for name in files:
                    if name.endswith((".pyc", ".pyo")):
                        continue
                    path = os.path.join(folder, name)
                    try:
                        info = os.lstat(path)
                    except OSError:
                        continue
                    state[_shown(path, self.root)] = (
                        info.st_size, info.st_mtime_ns, info.st_ino,
                    )  # fmt: skip
        return state

    def _hash(self, relative: str, fingerprint: Fingerprint | None) -> str | None:
        cached = self._hashes.get(relative)
        if cached and cached[0] == fingerprint:
            return cached[1]
        path = self.root / relative  # (an absolute ``relative`` stays absolute)
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if not path.is_symlink() else (
                "link:" + os.readlink(path)
            )
        except OSError:
            return None
        if fingerprint is not None:
            self._hashes[relative] = (fingerprint, digest)
        return digest

    def remember_contents(self) -> None:
        """Hash every file now (once), so a later change can be told from a mere touch."""
        for relative, fingerprint in self.state.items():
            self._hash(relative, fingerprint)

    def changes(self) -> list[str]:
        """Files added, removed or changed in content since the last call (or creation);
        the new state becomes the baseline."""
        now = self._scan()
        changed = sorted(set(self.state) ^ set(now))
        for relative in set(self.state) & set(now):
            if self.state[relative] != now[relative]:
                before = self._hash(relative, self.state[relative])
                if before is None or before != self._hash(relative, now[relative]):
                    changed.append(relative)
        self.state = now
        return sorted(changed)
