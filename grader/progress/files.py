"""Reading and writing the learner's files safely (see ``grader.progress`` for the rules).

Reading: regular files only (a FIFO or a device is refused, never waited on), opened without
blocking, bounded in size. Writing: atomic, under a lock, never overwriting anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import itertools
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from grader.catalogue import PROJECT_ROOT
from grader.i18n import _

DIGEST_LIMIT = 256 * 2**20


def state_dir() -> Path:
    return Path(os.environ.get("BERTPREP_HOME", PROJECT_ROOT / ".bertprep"))


def warn(message: str) -> None:
    """One line on stderr about the learner's state (never a traceback)."""
    with contextlib.suppress(OSError, ValueError):
        print(f"bertprep: {message}", file=sys.stderr, flush=True)


def describe(err: OSError) -> str:
    """An OSError in a few words: "No space left on device", "/x/state exists and is not a
    folder"."""
    if isinstance(err, FileExistsError) and err.filename:
        return _("{path} exists and is not a folder").format(path=err.filename)
    if err.strerror and err.filename:
        return f"{err.strerror}: {err.filename}"
    return err.strerror or str(err)


# Reading files safely: regular files only, never blocking, bounded.


class NotARegularFile(OSError):
    """A FIFO, a folder, a device...: bertprep reads regular files only."""


class FileTooLarge(OSError):
    """Larger than the caller is willing to read."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return _("a folder, not a regular file")
    if stat.S_ISFIFO(mode):
        return _("a FIFO (named pipe), not a regular file")
    if stat.S_ISSOCK(mode):
        return _("a socket, not a regular file")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return _("a device, not a regular file")
    return _("a special file, not a regular file")


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[tuple[int, os.stat_result]]:
    """Open ``path`` (through symlinks) for reading without ever blocking; raise
    NotARegularFile for anything but a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(errno.EINVAL, _kind(info.st_mode), str(path))
        yield fd, info
    finally:
        os.close(fd)


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file; FileTooLarge past ``limit`` bytes (nothing is read then)."""
    too_large = _("larger than {limit} bytes").format(limit=limit)
    with open_regular(path) as (fd, info):
        if limit is not None and info.st_size > limit:
            raise FileTooLarge(errno.EFBIG, too_large, str(path))
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if limit is not None and size > limit:  # it grew while being read
                raise FileTooLarge(errno.EFBIG, too_large, str(path))
            chunks.append(chunk)
        return b"".join(chunks)


def bytes_digest(data: bytes) -> str:
    """What a verdict is recorded against: the first 16 hex digits of the SHA-256 of the bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def file_digest(path: Path) -> str | None:
    """``bytes_digest`` of a regular file, read in chunks; None for anything else."""
    try:
        with open_regular(path) as (fd, info):
            if info.st_size > DIGEST_LIMIT:
                return None
            digest = hashlib.sha256()
            while chunk := os.read(fd, 1 << 20):
                digest.update(chunk)
            return digest.hexdigest()[:16]
    except OSError:
        return None


# Writing: atomic, locked, never overwriting.


def atomic_write_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write via a temporary file in the same folder and rename: never a half-written file.
    ``mode`` sets the permission bits (default: private, 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def create_unique(folder: Path, name: Callable[[int], str], data: bytes) -> Path:
    """Write ``data`` to the first of ``name(1)``, ``name(2)``, ... that does not exist yet in
    ``folder``, created with O_EXCL: nothing is ever overwritten."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in itertools.count(1):
        path = folder / name(number)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path
    raise AssertionError("unreachable")


def keep_damaged_copy(path: Path, raw: bytes) -> Path:
    """Keep ``raw`` as ``NAME.corrupt`` (then ``NAME.corrupt-2``, ``-3``...): every damaged
    version is kept; the same damage twice is kept once."""
    for kept in sorted(path.parent.glob(f"{glob_escape(path.name)}.corrupt*")):
        with contextlib.suppress(OSError):
            if kept.stat().st_size == len(raw) and read_regular(kept) == raw:
                return kept

    def name(number: int) -> str:
        return f"{path.name}.corrupt" + (f"-{number}" if number > 1 else "")

    return create_unique(path.parent, name, raw)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock for a read-modify-write of the state file ``path`` (``NAME.lock``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
