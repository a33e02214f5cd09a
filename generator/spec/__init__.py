"""The spec: find and read it with positions (document), validate it against the schema (schema) and
by the rules a schema cannot express (rules), and build the Spec (build). Both checks report every
problem at once, each located."""

from __future__ import annotations

import marshal
import os
import sys
from pathlib import Path

from .. import __version__
from ..errors import UserError
from ..fast import cache_dir
from ..model import Spec
from ..source import ReadLog, current_log, digest, read_regular
from .build import build_spec
from .document import MAX_BYTES, Document, Path_, find_spec, read_document, yaml_type
from .rules import semantic_problems
from .schema import did_you_mean, load_schema, schema_problems

__all__ = [
    "Document",
    "Path_",
    "build_spec",
    "did_you_mean",
    "find_spec",
    "load_schema",
    "load_spec",
    "read_document",
    "schema_problems",
    "semantic_problems",
    "spec_from_document",
]


def load_spec(root: Path, explicit: str | None = None) -> Spec:
    """Find, read, validate and build the spec; raises UserError with every problem found."""
    path = find_spec(root, explicit)
    display = path.relative_to(root).as_posix()  # find_spec keeps the spec under root
    return spec_from_document(_read(root, path, display), root)


def spec_from_document(doc: Document, root: Path) -> Spec:
    """Validate a read document and build its Spec (`init` checks the spec it proposes with this)."""
    if not isinstance(doc.data, dict):
        raise UserError([doc.problem((), f"the spec must be a mapping, got {yaml_type(doc.data)}",
                                     "start with `version: 1` and an `images:` mapping")])
    problems = schema_problems(doc)
    problems += semantic_problems(doc, root, schema_ok=not problems)
    if problems:
        raise UserError(problems)
    return build_spec(doc)


# --------------------------------------------------------------------------- the parsed spec, kept

_DOCUMENT_FORMAT = 1


def _read(root: Path, path: Path, display: str) -> Document:
    """read_document(path, display), or the Document it made before of the very same bytes.

    Parsing the spec (ruamel.yaml, imported for it) is a fifth of a regeneration, and most runs read a
    spec that has not changed. In a logged run (`generate`, whose log holds the tool's stamp), the
    Document of a spec read_document parsed is kept in the cache directory, under a key made of the
    spec's bytes, its name, the tool's files, ruamel.yaml's files and the Python version: a run with the
    same key would make the same Document, so the kept one is used instead. Only a parse that succeeded is
    kept, and only when the log proves read_document read the bytes of the key (a spec edited between
    the two reads spoils the log). Any problem with the cache file is a miss; every message about a spec
    that does not parse still comes from read_document."""
    log = current_log()
    base = cache_dir()
    if log is None or log.tool is None or base is None:
        return read_document(path, display)
    try:
        raw = read_regular(path, display, MAX_BYTES, what="spec")  # logged, as read_document logs it
    except UserError:
        return read_document(path, display)  # which says what is wrong in its own words
    made_by = (_DOCUMENT_FORMAT, __version__, log.tool, _parser_stamp(), sys.version, display)
    key = digest(repr(made_by).encode("utf-8", "surrogateescape")) + digest(raw)
    target = _document_file(base, root, display)
    kept = _kept_document(target, key, display)
    if kept is not None:
        return kept
    doc = read_document(path, display)
    if _read_once(log, path, raw):
        _keep_document(target, key, doc)
    return doc


def _document_file(base: str, root: Path, display: str) -> str:
    import zlib

    name = f"{os.path.realpath(root)}\0{display}".encode("utf-8", "surrogateescape")
    return os.path.join(base, f"{zlib.crc32(name):08x}{zlib.adler32(name):08x}.doc")


def _parser_stamp() -> list[tuple[str, int, int]]:
    """ruamel.yaml's files by name, size and mtime, found without importing it: another release of the
    parser may read the same bytes otherwise."""
    from importlib.util import find_spec as find_module

    try:
        found = find_module("ruamel.yaml")
    except (ImportError, ValueError):
        found = None
    places = list(found.submodule_search_locations or ()) if found is not None else []
    stamp = []
    for place in places:
        for entry in sorted(os.scandir(place), key=lambda e: e.name):
            if entry.name.endswith(".py") and entry.is_file():
                info = entry.stat()
                stamp.append((entry.path, info.st_size, info.st_mtime_ns))
    return stamp


def _read_once(log: ReadLog, path: Path, raw: bytes) -> bool:
    """Whether every read of the spec in this run returned `raw` (a second read with other bytes spoils
    the log)."""
    rel = log.relative(path)
    return not log.spoiled and rel is not None and log.inputs.get(rel) == (len(raw), digest(raw))


def _kept_document(target: str, key: bytes, display: str) -> Document | None:
    try:
        with open(target, "rb") as handle:
            kind, kept_key, file, data, values, keys = marshal.load(handle)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if kind != _DOCUMENT_FORMAT or kept_key != key or file != display or not isinstance(values, dict) or \
            not isinstance(keys, dict):
        return None
    return Document(file, data, values, keys)


def _keep_document(target: str, key: bytes, doc: Document) -> None:
    try:
        state = marshal.dumps((_DOCUMENT_FORMAT, key, doc.file, doc.data, doc.values, doc.keys))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(state)
        os.replace(tmp, target)
    except (OSError, ValueError):
        pass  # a Document that cannot be kept only costs speed
