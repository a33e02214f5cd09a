"""Bounded reads of the files a run depends on: regular files only, never more than a limit.

The spec, the Dockerfiles and the workflows may all come from a pull request. A symlink to /dev/zero, a
FIFO, a directory or a huge file named like one of them must give a located message, never exhaust
memory or hang the tool. Standard library only: the fast path uses it too.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import UserError


def read_regular(path: Path, display: str, limit: int, *, what: str = "file") -> bytes:
    """The bytes of the regular file at `path` (a symlink is followed, but must end at a regular file);
    a UserError naming `display` for anything else, for a file over `limit` bytes, or one that cannot
    be read. Opened non-blocking, so a FIFO cannot hang the open itself."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise UserError.single(display, f"{what} not found") from None
    except OSError as exc:
        raise UserError.single(display, f"cannot read the {what}: {exc.strerror or exc}",
                               hint="check that it exists and that you may read it") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise UserError.single(display, f"the {what} is {kind}", hint=f"it must be a regular {what}")
        if info.st_size > limit:
            raise UserError.single(display, f"the {what} is {info.st_size} bytes; the limit is {limit}")
        chunks, total = [], 0
        while True:  # the size may change under us: read at most limit + 1 bytes whatever stat said
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise UserError.single(display, f"the {what} is over {limit} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise UserError.single(display, f"cannot read the {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
