"""The spec file as plain data with the position of every key and value: found, read within bounds
(through generator.source), parsed by ruamel.yaml's round-trip loader, its tree walked within limits."""

from __future__ import annotations

import datetime
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract import SPEC_CANDIDATES, plain_spec_path, spec_path_problem
from ..errors import Problem, UserError
from ..source import read_regular

MAX_BYTES = 512 * 1024  # a spec is a few dozen lines; anything near this is a mistake or an attack
MAX_NODES = 20_000  # counts every visit, so alias bombs stop here instead of expanding
MAX_DEPTH = 32

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """The spec as plain data, with where each value and key stands in the file."""

    file: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The position of the value (or its key) at path, else of its nearest located ancestor."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        while path:
            path = path[:-1]
            if path in self.values:
                return self.values[path]
        return (1, 1)

    def problem(self, path: Path_, message: str, hint: str = "", *, key: bool = False) -> Problem:
        line, col = self.at(path, key=key)
        return Problem(self.file, line, col, message, hint)


def find_spec(root: Path, explicit: str | None) -> Path:
    """The spec's path under root: `--spec`, else the default place that holds anything (a directory or
    a FIFO there is reported as such, never passed over for the other name; both names at once are
    refused, and the fast path then takes the full path). Its path goes into every header comment and
    into the drift guard's shell command, so a `--spec` that would need quoting is refused, as is a spec
    outside the repository."""
    if explicit:
        rel = plain_spec_path(explicit)
        problem = spec_path_problem(rel)
        if problem:
            raise UserError.single(explicit, f"--spec {problem}",
                                   hint="name the spec by a plain path inside the repository, "
                                        "such as .github/multiarch.yaml")
        candidates: tuple[str, ...] = (rel,)
    else:
        candidates = SPEC_CANDIDATES
        present = [c for c in candidates if os.path.lexists(root / c)]
        if len(present) > 1:
            # Which one counts would be a guess: and a pull request adding the other name would quietly
            # make the first spec's workflows another spec's, never checked again.
            raise UserError.single(present[1], f"both {' and '.join(present)} exist",
                                   hint="keep one spec, or name the one to use with --spec")
    for candidate in candidates:
        path = root / candidate
        if not os.path.lexists(path):
            continue
        try:
            inside = path.resolve().is_relative_to(root.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if not inside:
            raise UserError.single(candidate, "the spec is outside the repository (through a symlink)",
                                   hint="keep the spec in the repository it describes")
        return path
    if explicit:
        raise UserError.single(explicit, "spec file not found", hint="check the --spec path")
    raise UserError.single(
        SPEC_CANDIDATES[0], "no spec found in this repository",
        hint=f"create {SPEC_CANDIDATES[0]} (`gen-workflows init` writes one) or pass --spec FILE",
    )


def read_document(path: Path, display: str) -> Document:
    raw = read_regular(path, display, MAX_BYTES, what="spec", size_hint="a spec is usually under 100 lines")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError.single(display, f"the spec is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                               line=line, column=column, hint="save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")
    if problem := nesting_problem(text, display, "spec"):
        raise problem

    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a redefined anchor is legal YAML; its warning is noise on stderr
            tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        hint = ""
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        duplicate = re.search(r'found duplicate key "(.*?)" with value', message)
        if duplicate:
            message = f'duplicate key "{duplicate.group(1)}"'
            hint = "each key may appear once in a mapping"
        elif mark and text.split("\n")[mark.line][mark.column:mark.column + 1] == "\t":
            hint = "indent with spaces: YAML does not allow tabs for indentation"
        raise UserError.single(display, f"invalid YAML: {message}", line=line, column=col, hint=hint) from None
    except YAMLError as exc:  # reader errors (control characters) and the like carry no mark
        raise UserError.single(display, f"invalid YAML: {' '.join(str(exc).split())}", line=1, column=1) from None
    except RecursionError:
        raise UserError.single(display, "the spec nests too deeply", line=1, column=1) from None
    except TypeError:  # a list or mapping used as a key (`? [a]`) cannot be held by a Python dict
        raise UserError.single(display, "keys must be strings, not lists or mappings", line=1, column=1,
                               hint="quote the key") from None
    except ValueError:  # Python refuses to read an integer of more than 4300 digits
        long = re.search(r"[0-9_]{4000,}", text)
        line = text.count("\n", 0, long.start()) + 1 if long else 1
        raise UserError.single(display, "a number has too many digits to be read", line=line, column=1,
                               hint="no value of the spec needs more than a few digits") from None

    doc = Document(display, None)
    if tree is None:
        raise UserError.single(display, "the spec is empty", line=1, column=1,
                               hint="start with `version: 1` and an `images:` mapping")
    walker = _Walker(doc, text)
    doc.data = walker.plain(tree, (), 0)
    if walker.problems:
        raise UserError(walker.problems)
    return doc


def nesting_problem(text: str, display: str, what: str, brackets: str = "[{", closing: str = "]}") -> UserError | None:
    """Deep `[[[[` / `{{{{` nesting, refused before a parser that slows down (the YAML scanner does,
    quadratically) or recurses on it: the error, located at the bracket past MAX_DEPTH, or None."""
    depth, quote = 0, ""
    for index, char in enumerate(text):
        if quote:
            if char == quote or char == "\n":
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t\n"):
            quote = "\n"  # a comment, to the end of its line: its brackets nest nothing
        elif char in brackets:
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, index) + 1
                column = index - (text.rfind("\n", 0, index) + 1) + 1
                return UserError.single(display, f"the {what} nests deeper than {MAX_DEPTH} levels", line=line,
                                        column=column)
        elif char in closing:
            depth = max(0, depth - 1)
    return None


# A number as YAML writes it plainly: digits, signs, a point, exponents, 0x/0o prefixes, `_` and `.inf`.
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\.(?:inf|Inf|INF|nan|NaN|NAN)"
                           r"|[0-9][0-9a-fA-FxXoObB_.:]*(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?)")



def item_places(doc: Document, node: Any, path: Path_) -> Iterator[tuple[Path_, Any]]:
    """A sequence's items with their paths, each item's place (1-based line, column) noted in `doc`."""
    for i, item in enumerate(node):
        line, col = node.lc.item(i)
        doc.values[(*path, i)] = (line + 1, col + 1)
        yield (*path, i), item


def entry_places(node: Any, key: Any) -> tuple[tuple[int, int], tuple[int, int]]:
    """Where a mapping entry's key and value start (1-based line, column). A key merged in from an anchor
    (`<<: *base`) or an `!!omap` entry carries no place of its own: the mapping's is given."""
    try:
        kpos, vpos = node.lc.key(key), node.lc.value(key)
    except (KeyError, TypeError):
        kpos = vpos = (node.lc.line, node.lc.col)
    if kpos is None or vpos is None or None in (*kpos, *vpos):
        kpos = vpos = (node.lc.line or 0, node.lc.col or 0)
    return (kpos[0] + 1, kpos[1] + 1), (vpos[0] + 1, vpos[1] + 1)

class _Walker:
    """Turns ruamel's tree into plain data, recording positions, within size and depth bounds."""

    def __init__(self, doc: Document, text: str = "") -> None:
        self.doc = doc
        self.lines = text.split("\n")
        self.visits = 0
        self.problems: list[Problem] = []

    def written(self, path: Path_) -> str | None:
        """A plain scalar as the spec writes it (`1.20`, `0x10`), from its position in the text."""
        line, column = self.doc.values.get(path, (0, 0))
        if not 0 < line <= len(self.lines):
            return None
        found = _PLAIN_NUMBER.match(self.lines[line - 1], column - 1)
        return found.group(0) if found else None

    def plain(self, node: Any, path: Path_, depth: int) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq
        from ruamel.yaml.scalarbool import ScalarBoolean

        self.visits += 1
        if self.visits > MAX_NODES:
            raise UserError.single(self.doc.file, f"the spec has more than {MAX_NODES} values",
                                   line=self.doc.at(path)[0], column=self.doc.at(path)[1],
                                   hint="YAML aliases that expand into many copies count every copy")
        if depth > MAX_DEPTH:
            raise UserError([self.doc.problem(path, f"the spec nests deeper than {MAX_DEPTH} levels")])
        if isinstance(node, CommentedMap):
            out: dict[str, Any] = {}
            for key in node:
                kpos, vpos = entry_places(node, key)
                if not isinstance(key, str) or isinstance(key, bool):
                    self.problems.append(Problem(self.doc.file, *kpos,
                                                 f"keys must be strings, got {yaml_type(key)} {key!r}",
                                                 "quote the key"))
                    continue
                child = (*path, key)
                self.doc.keys[child], self.doc.values[child] = kpos, vpos
                out[key] = self.plain(node[key], child, depth + 1)
            return out
        if isinstance(node, CommentedSeq):
            return [self.plain(item, child, depth + 1) for child, item in item_places(self.doc, node, path)]
        if isinstance(node, ScalarBoolean | bool):
            return bool(node)
        if isinstance(node, int | float):
            if len(path) >= 2 and path[-2] == "build-args":
                # A build argument is text for the Dockerfile: `GO_VERSION: 1.20` means "1.20", not 1.2.
                written = self.written(path)
                if written is not None:
                    return written
            if isinstance(node, float) and node != node:  # NaN never equals a schema value
                return str(node)
            return int(node) if isinstance(node, int) else float(node)
        if isinstance(node, str):
            return str(node)
        if node is None:
            return None
        if isinstance(node, datetime.date):
            self.problems.append(self.doc.problem(path, "a date is not allowed here", "quote the value"))
            return str(node)
        self.problems.append(self.doc.problem(path, f"unsupported YAML value ({type(node).__name__})",
                                              "use plain strings, numbers, lists and mappings"))
        return None


def yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return "a string"


def describe(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the spec"
