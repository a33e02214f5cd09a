"""The generated-file contract: header, ownership, atomic writes, --check diffs, orphans.

What sits in `.github/workflows/` may come from a pull request. A file is ours when its first line is our
header naming this spec; a file naming another spec is as foreign as a hand-written one (never replaced
without --force, never removed as an orphan). Only regular files are read, never through a symlink, and
never more than a bound: a file that is not regular and not named like one we write is not ours and is
left alone (nothing of ours is ever anything but a regular file); one named like a file we write is
refused with its name.
"""

from __future__ import annotations

import difflib
import errno
import os
import stat
import sys
import time
from pathlib import Path

from . import contract
from .contract import HEAD_BYTES, WORKFLOW_MAX_BYTES, WORKFLOWS_DIR, header_line, spec_option, temp_target
from .errors import Problem, UserError, printable
from .record import record
from .source import current_log, kind_of, note_checked, read_regular

_WRITE_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, then run gen-workflows again",
    errno.EDQUOT: "the disk quota is used up: free some space, then run gen-workflows again",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "check the permissions of the file and of its directory",
    errno.EPERM: "check the permissions of the file and of its directory",
    errno.EFBIG: "the file is larger than this file system allows",
}
STALE_TEMP_SECONDS = 3600  # without file locks, a temporary file this old has no live writer


def header(spec_path: str, version: str) -> str:
    text = (
        f"{header_line(spec_path, version)}\n"
        f"# Change {spec_path} instead, then regenerate with: gen-workflows{spec_option(spec_path)}\n"
    )
    # Read the header back: YAML comments only, and naming exactly this spec. A line break or another
    # control character in the spec's path would inject YAML; find_spec refuses such paths first.
    lines = text.split("\n")
    if contract.owner_spec(lines[0]) != spec_path or lines[-1] or \
            not all(line.startswith("# ") and line.isprintable() for line in lines[:-1]):
        raise ValueError(f"the header does not read back as comments naming {spec_path!r}")
    return text


def crlf(text: str) -> str:
    """The text as a checkout with core.autocrlf holds it: every line end CRLF, nothing else changed. Only
    this exact form counts as the same file; any other difference (a lone CR included) is drift."""
    return text.replace("\n", "\r\n")


def owner_spec(text: str) -> str | None:
    """The spec path a file we generated names in its header, or None for files we did not make."""
    return contract.owner_spec(text.split("\n", 1)[0])


@record
class Change:
    path: str  # relative to the repository root
    old: str | None  # None: the file does not exist
    new: str | None  # None: the file is to be removed (an orphan)

    def diff(self) -> str:
        """A unified diff for a terminal: a file in .github/workflows may hold terminal escapes, so
        control characters are shown escaped (as in problem messages), and lines end only at \\n."""
        lines = difflib.unified_diff(
            _lines(self.old), _lines(self.new), fromfile=f"a/{self.shown}" if self.old is not None else "/dev/null",
            tofile=f"b/{self.shown}" if self.new is not None else "/dev/null")
        return "".join(line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines)

    @property
    def shown(self) -> str:
        """The path for a terminal: an orphan's name comes from the repository and may hold escapes."""
        return printable(self.path)

    @property
    def verb(self) -> str:
        return "remove" if self.new is None else "create" if self.old is None else "update"


def _lines(text: str | None) -> list[str]:
    """Lines split at \\n only (str.splitlines also splits at form feeds, U+2028 and more), with their
    control characters escaped; a last line without \\n keeps none."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [printable(part) + "\n" for part in parts[:-1]]
    return [*lines, printable(parts[-1])] if parts[-1] else lines


def _read(path: Path, *, whole: bool = False) -> str | None:
    """A file in the workflows directory as it is: None when there is none; the whole text when its
    first line is our header (any spec's) or `whole` is set; otherwise only that first line, which is
    all it takes to know the file is not ours (so a huge foreign file costs nothing). A UserError for a
    file that is not a regular one (a symlink included), cannot be read, or is over the bound."""
    display = f"{WORKFLOWS_DIR}/{path.name}"
    try:
        info = path.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise UserError.single(display, f"cannot read it: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode):
        raise UserError.single(display, "is a symlink; refusing to write through it",
                               hint="replace it with a regular file or remove it")
    if not stat.S_ISREG(info.st_mode):
        raise UserError.single(display, f"is {kind_of(info.st_mode)}, where gen-workflows writes a file",
                               hint="remove or rename it, then run gen-workflows again")
    first = read_regular(path, display, HEAD_BYTES, what="workflow", follow_symlinks=False, head=True)
    first = first.split(b"\n", 1)[0]
    if not whole and contract.owner_spec(first.decode("utf-8", "replace")) is None:
        return first.decode("utf-8", "replace")
    data = read_regular(path, display, WORKFLOW_MAX_BYTES, what="workflow", follow_symlinks=False, log=False)
    # Ours are UTF-8. A damaged byte must never compare equal to what we write (U+FFFD would, after a
    # lossy decode): it decodes to a lone surrogate, shows escaped in the diff, then goes.
    return data.decode("utf-8", "surrogateescape")


def generated_texts(root: Path, spec_path: str, paths: list[str]) -> dict[str, str]:
    """This spec's current output as it is now (a bot may have bumped its pins), by path relative to
    root: only `paths`, the files the current plan renders, and only those whose header names this spec.
    Orphans and other specs' files are never read for pins."""
    workflows = root / WORKFLOWS_DIR
    if not workflows.is_dir() or workflows.is_symlink():
        return {}
    texts = {}
    for rel in sorted(paths):
        path = root / rel
        if path.parent == workflows and path.is_file() and not path.is_symlink():
            text = _read(path)
            if text and owner_spec(text) == spec_path:
                texts[rel] = text
    return texts


def plan_changes(root: Path, files: dict[str, str], spec_path: str, *, force: bool,
                 replace: frozenset[str] = frozenset()) -> list[Change]:
    """What writing `files` (paths relative to root) would change. Refuses, as a UserError, to touch a
    file this spec did not generate unless forced, or anything that is not a regular file. Logs each
    text as the run's output (the fast path's record holds what was written or found current).
    `replace`: hand-written workflows this run takes over (`--replace`): overwritten where a file of
    `files` has their name, removed otherwise."""
    problems: list[Problem] = []
    changes: list[Change] = []
    workflows = root / WORKFLOWS_DIR
    _check_dir(root, workflows, problems)
    if problems:
        raise UserError(problems)
    log = current_log()
    for rel, text in sorted(files.items()):
        data = text.encode("utf-8")
        if len(data) > WORKFLOW_MAX_BYTES:
            problems.append(Problem(rel, 0, 0, f"would be {len(data)} bytes; the limit is {WORKFLOW_MAX_BYTES}",
                                    "split the images between specs"))
            continue
        try:
            old = _read(root / rel, whole=force or rel in replace)
        except UserError as exc:
            problems += exc.problems
            continue
        owner = None if old is None else owner_spec(old)
        if old is not None and owner != spec_path and not force and not (owner is None and rel in replace):
            problems.append(_foreign(rel, owner, spec_path))
            continue
        if old is not None and old != text and old == crlf(text):
            text, data = old, old.encode("utf-8")  # the same file as git's autocrlf checks it out: current
        if log is not None:
            log.note_output(rel, data)
        if old != text:
            changes.append(Change(rel, old, text))
    for rel, old in _others(root, set(files), problems):
        if owner_spec(old) == spec_path:
            changes.append(Change(rel, old, None))
        elif rel in replace and owner_spec(old) is None:
            try:
                changes.append(Change(rel, _read(root / rel, whole=True), None))
            except UserError as exc:
                problems += exc.problems
    if problems:
        raise UserError(problems)
    return changes


def _foreign(rel: str, owner: str | None, spec_path: str) -> Problem:
    if owner is None:
        return Problem(rel, 0, 0, "exists and was not generated by gen-workflows; not overwriting it",
                       "rename or remove it, or pass --force to replace it")
    # multiarch.<name>.yml and multiarch.<name>.check.yml are named after the spec's file, the others after an image.
    what = "one of the specs" if rel.rsplit("/", 1)[-1].startswith("multiarch.") else "the image in one of them"
    return Problem(rel, 0, 0, f"was generated from {owner}, not from {spec_path}; not overwriting it",
                   f"two specs cannot share a workflow file: rename {what}, or pass --force "
                   f"to let {spec_path} take the file over")


def _others(root: Path, ours: set[str], problems: list[Problem]) -> list[tuple[str, str]]:
    """The other workflow files (by name) that are regular files, with their text (the first line of
    a file that is not ours). The rest (directories, FIFOs, symlinks) cannot be ours: left alone."""
    workflows = root / WORKFLOWS_DIR
    if not workflows.is_dir() or workflows.is_symlink():
        return []
    try:
        paths = sorted(workflows.iterdir())
    except OSError as exc:
        problems.append(Problem(WORKFLOWS_DIR, 0, 0, f"cannot list the directory: {exc.strerror or exc}"))
        return []
    found = []
    for path in paths:
        rel = f"{WORKFLOWS_DIR}/{path.name}"
        if rel in ours or path.suffix not in (".yml", ".yaml"):
            continue
        try:
            if not stat.S_ISREG(path.lstat().st_mode):
                continue
            text = _read(path)
        except FileNotFoundError:
            continue
        except UserError as exc:
            problems += exc.problems
            continue
        if text is not None:
            found.append((rel, text))
    return found


def _check_dir(root: Path, workflows: Path, problems: list[Problem]) -> None:
    for part in (root / ".github", workflows):
        rel = part.relative_to(root).as_posix()
        try:
            leaves = part.is_symlink() and not part.resolve().is_relative_to(root.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            leaves = True
        if leaves:
            problems.append(Problem(rel, 0, 0, "is a symlink that leaves the repository; refusing to write there"))
        elif part.exists() and not part.is_dir():
            problems.append(Problem(rel, 0, 0, "exists and is not a directory"))
        else:
            note_checked(part, "dir")  # or to be made one: the fast path finds it a directory or goes on


def apply_changes(root: Path, changes: list[Change]) -> None:
    """Write the changes; first remove the temporary files that runs killed mid-write left behind.

    Each run that writes holds the workflows directory with a shared lock (flock, released by the
    kernel when a process dies, even by kill -9); a run that gets it exclusively knows no live run is
    writing, so every temporary file of ours there is stale. Without flock, only old ones are."""
    workflows = root / WORKFLOWS_DIR
    if not changes and not workflows.is_dir():
        return
    _make_dirs(workflows)
    fd = _open_dir(workflows)
    try:
        if _lock(fd, exclusive=True):
            _remove_stale_temps(workflows, any_age=fd is not None)
        _lock(fd, exclusive=False)
        for change in changes:
            target = root / change.path
            if change.new is None:
                try:
                    target.unlink(missing_ok=True)
                except OSError as exc:
                    raise _write_error(change.path, "cannot remove it", exc) from None
            else:
                atomic_write(target, change.new, display=change.path)
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _make_dirs(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_error(_display(directory), "cannot write here", exc) from None


def _display(path: Path) -> str:
    """How messages name a path: from the workflows directory down, when it is under one."""
    parts = path.parts
    for i in range(len(parts) - 1):
        if parts[i:i + 2] == (".github", "workflows"):
            return "/".join(parts[i:])
    return str(path)


def _open_dir(directory: Path) -> int | None:
    if sys.platform == "win32":
        return None
    try:
        return os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


def _lock(fd: int | None, *, exclusive: bool) -> bool:
    """Exclusive: try once, say whether it was had. Shared: wait for it (a cleanup takes milliseconds)."""
    if fd is None or sys.platform == "win32":
        return exclusive
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
    except OSError:  # held by another run (or locks not supported here: then no cleanup either)
        return False
    return True


def _remove_stale_temps(workflows: Path, *, any_age: bool) -> None:
    """Only files named the way atomic_write names its own, and only regular files."""
    try:
        names = os.listdir(workflows)
    except OSError:
        return
    for name in names:
        if temp_target(name) is None:
            continue
        path = workflows / name
        try:
            info = path.lstat()
            if stat.S_ISREG(info.st_mode) and (any_age or time.time() - info.st_mtime > STALE_TEMP_SECONDS):
                path.unlink()
        except OSError:
            pass  # gone already, or not ours to remove: the run goes on, it is only clutter


def _temporary(target: Path) -> tuple[int, str]:
    """A new file beside the target, named as cleanup knows it (contract.temp_target: eight random characters,
    as tempfile's), created exclusively with mode 0600 as tempfile.mkstemp does, without importing tempfile
    (about 10 M instructions of a regeneration, benchmarks/README.md)."""
    for _ in range(100):
        tmp = str(target.parent / f"{contract.TEMP_PREFIX}{target.name}.{os.urandom(4).hex()}{contract.TEMP_SUFFIX}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary name", str(target.parent))


def atomic_write(target: Path, text: str, *, display: str | None = None) -> None:
    """Write via a temporary file in the same directory and a rename: readers see the old file or
    the new one, never half of one, and an interrupted run leaves the old file intact. Any OSError
    (disk full, read-only, no permission, file too large) becomes a UserError naming the file."""
    name = display or _display(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        fd, tmp = _temporary(target)
    except OSError as exc:
        raise _write_error(_display(target.parent), "cannot write here", exc) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _write_error(name, "cannot write it", exc) from None
        raise


def _write_error(display: str, what: str, exc: OSError) -> UserError:
    return UserError.single(display, f"{what}: {exc.strerror or exc}", hint=_WRITE_HINTS.get(exc.errno or 0, ""))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
