"""The up-to-date fast path, for pre-commit: most commits change nothing the workflows depend on.

A run that found the workflows current (or wrote them) records, outside the repository, what they were
made from: the tool version, the spec, every Dockerfile and context it names, and every workflow file as
it is. The next plain or `--check` run that finds the same inputs, the same files and no other file of
ours is done before click, Jinja, jsonschema or ruamel.yaml are imported. Anything else (another command,
an option this path does not know, a changed or missing file, no record) takes the full path, which gives
the same answer, only slower.

The record lives in the user's cache directory (GEN_WORKFLOWS_CACHE_DIR, else XDG_CACHE_HOME or
~/.cache, under gen-workflows/), never in the repository: headers stay free of fingerprints that would
change every workflow whenever any image's inputs change. GEN_WORKFLOWS_NO_CACHE=1 turns it off.

Only modules that are built into the interpreter are imported here (os, sys, marshal, zlib): the point
is to finish in about the time Python takes to start. Contents are compared byte for byte, not hashed.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

from . import __version__
from .contract import SPEC_CANDIDATES, WORKFLOWS_DIR, owner_spec

TYPE_CHECKING = False  # typing itself costs more to import than this whole path takes
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

_RECORD_FORMAT = 2


def _cache_file(root: str, spec: str) -> str | None:
    if os.environ.get("GEN_WORKFLOWS_NO_CACHE"):
        return None
    base = os.environ.get("GEN_WORKFLOWS_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "gen-workflows")
    key = f"{os.path.realpath(root)}\0{spec}".encode()
    return os.path.join(base, f"{zlib.crc32(key):08x}{zlib.adler32(key):08x}.rec")


def _content(path: str) -> bytes | None:
    """A file's bytes; b"" for a directory; None when missing."""
    if os.path.isdir(path):
        return b""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _ours(root: str, spec: str) -> dict[str, bytes]:
    """Our workflow files for this spec, as they are."""
    found: dict[str, bytes] = {}
    directory = os.path.join(root, WORKFLOWS_DIR)
    try:
        names = os.listdir(directory)
    except OSError:
        return found
    for name in names:
        if not name.endswith((".yml", ".yaml")):
            continue
        data = _content(os.path.join(directory, name))
        if data and owner_spec(data.split(b"\n", 1)[0].decode("utf-8", "replace")) == spec:
            found[f"{WORKFLOWS_DIR}/{name}"] = data
    return found


def _tool_stamp() -> list[tuple[str, int, int]]:
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


def record(root: str | os.PathLike[str], spec: str, inputs: Iterable[str]) -> None:
    """Remember that the workflows of `spec` are current with these inputs (paths relative to root)."""
    root = os.fspath(root)
    target = _cache_file(root, spec)
    if target is None:
        return
    state = (_RECORD_FORMAT, __version__, _tool_stamp(),
             {rel: _content(os.path.join(root, rel)) for rel in {spec, *inputs}}, _ours(root, spec))
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            marshal.dump(state, handle)
        os.replace(tmp, target)
    except OSError:
        pass  # a record that cannot be written only costs speed


def _parse(argv: Sequence[str]) -> tuple[str, str | None, bool] | None:
    """(-C, --spec, --check) for the invocations this path serves, else None."""
    root, spec, check = ".", None, False
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
        elif arg != "--fail-on-change":  # nothing to write, so it changes nothing here
            return None
        i += 1
    return root, spec, check


def up_to_date(argv: Sequence[str]) -> bool:
    """Whether the record proves the workflows current for this invocation."""
    parsed = _parse(argv)
    if parsed is None:
        return False
    root, spec, _ = parsed
    if spec is None:
        spec = next((c for c in SPEC_CANDIDATES if os.path.isfile(os.path.join(root, c))), None)
        if spec is None:
            return False
    target = _cache_file(root, spec)
    if target is None:
        return False
    try:
        with open(target, "rb") as handle:
            state = marshal.load(handle)
        kind, version, stamp, inputs, outputs = state
    except (OSError, EOFError, ValueError, TypeError):
        return False
    if kind != _RECORD_FORMAT or version != __version__ or not outputs or stamp != _tool_stamp():
        return False
    if any(_content(os.path.join(root, rel)) != data for rel, data in inputs.items()):
        return False
    return bool(_ours(root, spec) == outputs)


def run() -> None:
    """The console script: the fast path when it can answer, the full CLI otherwise."""
    argv = sys.argv[1:]
    if up_to_date(argv):
        parsed = _parse(argv)
        if parsed is not None and not parsed[2]:
            print("workflows are up to date")
        raise SystemExit(0)
    from .cli import main

    raise SystemExit(main(argv))
