"""Bounded reads of the files a run depends on: regular files only, never more than a limit.

The spec, the Dockerfiles and the workflows may all come from a pull request. A symlink to /dev/zero, a
FIFO, a directory or a huge file named like one of them must give a located message, never exhaust
memory or hang the tool: the type is checked with stat before anything is opened (opening a device can
have effects of its own), and again on the open descriptor, which is opened non-blocking so a FIFO
swapped in between cannot hang the open.

Every read can be logged (`start_log`): the run's log holds the size and digest of the very bytes it
used, so the fast path's record says what the run was made from, not what the files held afterwards.

Standard library only, and only what is cheap to import: the fast path uses it before anything else,
so the error types (which import dataclasses) are imported only when a read fails.
"""

from __future__ import annotations

import errno
import os
import stat

try:  # the hash module itself: hashlib would import OpenSSL, a large share of the fast path's time
    from _blake2 import blake2b
except ImportError:  # pragma: no cover (interpreters without the builtin module)
    from hashlib import blake2b

TYPE_CHECKING = False  # typing itself costs more to import than the fast path takes
if TYPE_CHECKING:
    from .errors import UserError

    StrPath = str | os.PathLike[str]

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CHUNK = 1 << 20


def digest(data: bytes) -> bytes:
    return blake2b(data, digest_size=32).digest()


# ----------------------------------------------------------------------------------------- the read log


class ReadLog:
    """What one run read and wrote, by path relative to the repository root.

    inputs:  path -> (size, digest) of the bytes the run read (spec, Dockerfiles);
    checked: path -> "dir" or "file": what a check found there, inside the repository, where only the
             kind mattered (a context, a Dockerfile that was not analysed, the workflows directory);
    outputs: path -> (size, digest) of each workflow text the run wrote or found already there.
    A path read twice with different bytes spoils the log: no record is better than a wrong one."""

    __slots__ = ("checked", "inputs", "outputs", "root", "spoiled", "tool")

    def __init__(self, root: StrPath) -> None:
        self.root = os.fspath(root).rstrip(os.sep) + os.sep
        self.inputs: dict[str, tuple[int, bytes]] = {}
        self.checked: dict[str, str] = {}
        self.outputs: dict[str, tuple[int, bytes]] = {}
        self.spoiled = False
        self.tool: object = None  # the tool's own files as the run started (fast.tool_stamp())

    def relative(self, path: StrPath) -> str | None:
        """The path as the run named it under the root, unnormalised (`a/../b` stays: a symlinked `a`
        makes it another file than `b`); None for a path outside the root."""
        text = os.fspath(path)
        if text == self.root.rstrip(os.sep):
            return "."  # pathlib's root / "."
        if not text.startswith(self.root):
            return None
        return text[len(self.root):].replace(os.sep, "/")

    def note_input(self, path: StrPath, data: bytes) -> None:
        self._note(self.inputs, self.relative(path), data)

    def note_checked(self, path: StrPath, kind: str) -> None:
        rel = self.relative(path)
        if rel is None or self.checked.setdefault(rel, kind) != kind:
            self.spoiled = True

    def note_output(self, rel: str, data: bytes) -> None:
        self._note(self.outputs, rel, data)

    def _note(self, table: dict[str, tuple[int, bytes]], rel: str | None, data: bytes) -> None:
        entry = (len(data), digest(data))
        if rel is None or table.setdefault(rel, entry) != entry:
            self.spoiled = True


_log: ReadLog | None = None


def start_log(root: StrPath) -> ReadLog:
    """Log every read from now on (a new log replaces the old one: one run at a time per process)."""
    global _log
    _log = ReadLog(root)
    return _log


def current_log() -> ReadLog | None:
    return _log


def note_checked(path: StrPath, kind: str) -> None:
    """Log that a check found a directory ("dir") or a regular file ("file") inside the repository at
    path, and relied on nothing more: the fast path then checks exactly that."""
    if _log is not None:
        _log.note_checked(path, kind)


def take_log() -> ReadLog | None:
    """The current log, which stops logging."""
    global _log
    log, _log = _log, None
    return log


# ------------------------------------------------------------------------------------------- the reads


def _fail(display: str, message: str, hint: str = "", *, line: int = 0) -> UserError:
    from .errors import UserError

    return UserError.single(display, message, hint=hint, line=line, column=1 if line else 0)


def kind_of(mode: int) -> str:
    """A file type for a message: `the spec is a directory`."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _read_fd(fd: int, limit: int) -> bytes:
    """At most limit + 1 bytes: the size may change under us, whatever stat said."""
    chunks, total = [], 0
    while total <= limit:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _open_regular(path: StrPath, follow_symlinks: bool) -> tuple[int, os.stat_result]:
    """An open descriptor on a regular file and its stat; OSError (or _NotRegular) otherwise."""
    info = os.stat(path) if follow_symlinks else os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        raise _NotRegular(info.st_mode)
    fd = os.open(path, _FLAGS | (0 if follow_symlinks else _NOFOLLOW))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _NotRegular(info.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, info


class _NotRegular(Exception):
    def __init__(self, mode: int) -> None:
        super().__init__(mode)
        self.mode = mode


def read_regular(path: StrPath, display: str, limit: int, *, what: str = "file",
                 follow_symlinks: bool = True, head: bool = False, log: bool = True, size_hint: str = "") -> bytes:
    """The bytes of the regular file at `path`; a UserError naming `display` for anything else, for a
    file over `limit` bytes, or one that cannot be read. A symlink is followed (it must end at a regular
    file) unless follow_symlinks is false, when it is refused.

    head=True reads at most `limit` bytes and is content with them, for a caller that needs only the
    first line; such a partial read is not logged. A whole read is logged in the run's read log, as one
    of its inputs, unless log is false (the workflows: the log holds them as outputs). A file over the
    limit is reported at its first line, with `size_hint`."""
    try:
        fd, info = _open_regular(path, follow_symlinks)
    except _NotRegular as exc:
        raise _fail(display, f"the {what} is {kind_of(exc.mode)}", f"it must be a regular {what}") from None
    except FileNotFoundError:
        raise _fail(display, f"{what} not found") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) and not follow_symlinks:
            raise _fail(display, f"the {what} is a symlink", f"it must be a regular {what}") from None
        raise _fail(display, f"cannot read the {what}: {exc.strerror or exc}",
                    "check that it exists and that you may read it") from None
    try:
        if info.st_size > limit and not head:
            raise _fail(display, f"the {what} is {info.st_size} bytes; the limit is {limit}", size_hint, line=1)
        data = _read_fd(fd, limit)
    except OSError as exc:
        raise _fail(display, f"cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if head:
        return data[:limit]
    if len(data) > limit:
        raise _fail(display, f"the {what} is over {limit} bytes", size_hint, line=1)
    if log and _log is not None:
        _log.note_input(path, data)
    return data


def fingerprint(path: StrPath, size: int, *, follow_symlinks: bool = True) -> tuple[int, bytes] | None:
    """(size, digest) of the regular file at path when it holds exactly `size` bytes, else None: the
    fast path's check of a recorded file, which never reads more than the record says is there."""
    try:
        fd, info = _open_regular(path, follow_symlinks)
    except (OSError, _NotRegular):
        return None
    try:
        if info.st_size != size:
            return None
        data = _read_fd(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)
    return (size, digest(data)) if len(data) == size else None


def first_line(path: StrPath, limit: int) -> bytes | None:
    """The first line (at most `limit` bytes) of the regular file at path, not through a symlink; None
    when there is none or it is not a regular file. OSError when a regular file cannot be read."""
    try:
        fd, _ = _open_regular(path, False)
    except (FileNotFoundError, _NotRegular):
        return None
    try:
        return _read_fd(fd, limit - 1).split(b"\n", 1)[0]
    finally:
        os.close(fd)
