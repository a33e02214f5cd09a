"""The up-to-date fast path, for pre-commit: most commits change nothing the workflows depend on.

A run that found the workflows current (or wrote them) records, outside the repository, what it was made
from: the tool's own files, the bytes it read (the spec and each Dockerfile it analysed), the paths it
only checked (each context a directory, each other Dockerfile a file, per-platform ones included, as
validation found them) and the text of every workflow it wrote or found current. The next plain or
`--check` run that finds all of that as recorded, and no other file of this spec's, is done before
click, Jinja, jsonschema or ruamel.yaml are imported. Anything else (another command, an option this
path does not know, a changed or missing file, no record) takes the full path, which gives the same
answer, only slower.

The record holds what the run used, never a re-read after it: the full path logs the size and digest
of the very bytes each read returned (source.ReadLog) and of each text it wrote, so a file edited while
the run was in progress leaves a record that no longer matches it. A file read twice with different
bytes, or a tool edited during the run, leaves no record at all.

Record (marshal, format 4):
    (4, version, tool, inputs, outputs, notes)
    tool     [(path, size, mtime_ns)] of the tool's code, templates and schema as the run started
    inputs   {path: (size, digest)}  a regular file inside the repository holding exactly these bytes
             {path: "dir" | "file"}   a directory / regular file inside the repository (contents unused)
    outputs  {path: (size, digest)}  a regular file (not through a symlink) holding this workflow text
    notes    [str] what the full path said on stderr about the result (each pin that is not the table's),
             said again by every fast run: a reviewer must see which commit runs with credentials
Paths are relative to the repository root, as the run named them; digests are BLAKE2b-256.

The record lives in the user's cache directory (GEN_WORKFLOWS_CACHE_DIR, else XDG_CACHE_HOME or
~/.cache, under gen-workflows/), never in the repository: headers stay free of fingerprints that would
change every workflow whenever any image's inputs change. GEN_WORKFLOWS_NO_CACHE=1 turns it off.

Only cheap standard-library modules are imported here (os, sys, marshal, zlib, the builtin BLAKE2): the
point is to finish in about the time Python takes to start. Every file is checked by type before it is
opened and read no further than the record says it holds, so a planted symlink to /dev/zero or a FIFO
costs nothing and never hangs.
"""

from __future__ import annotations

import marshal
import os
import zlib

from . import __version__
from .contract import HEAD_BYTES, SPEC_CANDIDATES, WORKFLOWS_DIR, owner_spec, plain_spec_path, temp_target
from .source import ReadLog, fingerprint, first_line

TYPE_CHECKING = False  # typing itself costs more to import than this whole path takes
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_RECORD_FORMAT = 4


def cache_dir() -> str | None:
    """The tool's cache directory (records here, compiled templates in render.py), or None when
    GEN_WORKFLOWS_NO_CACHE turns caching off."""
    if os.environ.get("GEN_WORKFLOWS_NO_CACHE"):
        return None
    return os.environ.get("GEN_WORKFLOWS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gen-workflows")


def _cache_file(root: str, spec: str) -> str | None:
    base = cache_dir()
    if base is None:
        return None
    key = f"{os.path.realpath(root)}\0{spec}".encode("utf-8", "surrogateescape")
    return os.path.join(base, f"{zlib.crc32(key):08x}{zlib.adler32(key):08x}.rec")


def tool_stamp() -> list[tuple[str, int, int]]:
    """The tool's own files (code, templates, schema, pins) by size and mtime: an edited checkout or a
    reinstall of the same version must not trust records the old files made."""
    package = os.path.dirname(os.path.abspath(__file__))
    stamp = []
    for top in (package, os.path.join(os.path.dirname(package), "templates"),
                os.path.join(os.path.dirname(package), "schemas")):
        for directory, subdirs, files in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(directory, name)
                info = os.stat(path)
                stamp.append((path, info.st_size, info.st_mtime_ns))
    return stamp


def record(root: str | os.PathLike[str], spec: str, log: ReadLog, notes: Sequence[str] = ()) -> None:
    """Remember that the workflows of `spec` are current: what `log` says the run read, checked and
    wrote, and the notes it printed. A log that cannot be trusted records nothing."""
    root = os.fspath(root)
    target = _cache_file(root, spec)
    if target is None or log.spoiled or spec not in log.inputs or not log.outputs:
        return
    if log.tool is None or log.tool != tool_stamp():
        return  # the tool changed while it ran: which version made the files is unknown
    state = (_RECORD_FORMAT, __version__, log.tool, {**log.checked, **log.inputs}, dict(log.outputs), list(notes))
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            marshal.dump(state, handle)
        os.replace(tmp, target)
    except OSError:
        pass  # a record that cannot be written only costs speed


def arguments(argv: Sequence[str]) -> tuple[str | None, str | None, bool, bool] | None:
    """(-C, --spec, --check, --fail-on-change) of a plain `[generate] [-C DIR] [--spec FILE] [--check]
    [--fail-on-change]`, each option as click reads it (a value is the next word, whatever it looks like,
    and the last one counts), else None: every other invocation is click's to read."""
    root: str | None = None
    spec: str | None = None
    check = fail_on_change = False
    args = list(argv)
    if args[:1] == ["generate"]:
        args = args[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-C", "--spec") and i + 1 < len(args):
            root, spec = (args[i + 1], spec) if arg == "-C" else (root, args[i + 1])
            i += 2
            continue
        if arg == "--check":
            check = True
        elif arg == "--fail-on-change":
            fail_on_change = True
        else:
            return None
        i += 1
    return root, spec, check, fail_on_change


def invocation(argv: Sequence[str]) -> tuple[str, str | None, bool] | None:
    """(-C, --spec, --check) for the invocations this path serves, else None. --fail-on-change changes
    nothing here: an up-to-date run writes nothing."""
    parsed = arguments(argv)
    if parsed is None:
        return None
    root, spec, check, _ = parsed
    return "." if root is None else root, spec, check


def _inside(real: str, real_root: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def _holds(root: str, real_root: str, rel: str, expected: object) -> bool:
    """Whether an input is still what the run found: the full path refuses a path that resolves
    outside the repository, so the record's paths must not either."""
    path = os.path.join(root, rel)
    if not _inside(os.path.realpath(path), real_root):
        return False
    if expected == "dir":
        return os.path.isdir(path)
    if expected == "file":
        return os.path.isfile(path)
    if not isinstance(expected, tuple) or len(expected) != 2:
        return False
    return fingerprint(path, expected[0]) == expected


def _workflows_current(root: str, spec: str, outputs: Mapping[str, object], check: bool) -> bool:
    """Every recorded workflow as written, no other file of this spec's (an orphan the full path would
    remove), and, unless only checking, no temporary file of ours a killed run left (it would clean up)."""
    directory = os.path.join(root, WORKFLOWS_DIR)
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    seen = 0
    for name in names:
        path = os.path.join(directory, name)
        expected = outputs.get(f"{WORKFLOWS_DIR}/{name}")
        if expected is not None:
            if not isinstance(expected, tuple) or fingerprint(path, expected[0], follow_symlinks=False) != expected:
                return False
            seen += 1
        elif os.path.splitext(name)[1] in (".yml", ".yaml"):
            try:
                line = first_line(path, HEAD_BYTES)  # None for a directory, FIFO, symlink: never ours
            except OSError:
                return False  # the full path reports a file it cannot read
            if line is not None and owner_spec(line.decode("utf-8", "replace")) == spec:
                return False
        elif not check and temp_target(name) is not None and os.path.isfile(path) and not os.path.islink(path):
            return False
    return seen == len(outputs)


def up_to_date(argv: Sequence[str]) -> bool:
    """Whether the record proves the workflows current for this invocation."""
    return recorded_notes(argv) is not None


def recorded_notes(argv: Sequence[str]) -> list[str] | None:
    """The notes the full path printed, when the record proves the workflows current for this
    invocation; None when it does not."""
    parsed = invocation(argv)
    if parsed is None:
        return None
    root, spec, check = parsed
    if spec is None:  # the one default place that holds anything, as find_spec picks it
        present = [c for c in SPEC_CANDIDATES if os.path.lexists(os.path.join(root, c))]
        spec = present[0] if len(present) == 1 else None  # none, or both: the full path says why
        if spec is None:
            return None
    target = _cache_file(root, plain_spec_path(spec))
    if target is None:
        return None
    try:
        with open(target, "rb") as handle:
            state = marshal.load(handle)
        kind, version, tool, inputs, outputs, notes = state
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if kind != _RECORD_FORMAT or version != __version__ or not isinstance(inputs, dict) or \
            not isinstance(outputs, dict) or not outputs or not isinstance(notes, list) or tool != tool_stamp():
        return None
    real_root = os.path.realpath(root)
    if not all(_holds(root, real_root, rel, expected) for rel, expected in inputs.items()):
        return None
    if not _workflows_current(root, plain_spec_path(spec), outputs, check):
        return None
    return [str(note) for note in notes]
