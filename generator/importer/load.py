"""A workflow file (or a bake file) read within bounds, with the position of every key and value.

The files may come from a pull request, so every read is bounded (generator/source.py: regular files only,
a size limit), the YAML is parsed by ruamel.yaml's round-trip loader only after a cheap check of flow
nesting, and the tree is walked with a budget of visits (an alias bomb stops at the budget instead of
expanding) and of depth. Anything wrong is a located UserError, never a traceback or a hang."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from ..errors import Problem, UserError
from ..source import read_regular
from ..spec.document import Document, Path_, entry_places, item_places, nesting_problem

MAX_BYTES = 1024 * 1024  # the longest hand-written workflows are a few thousand lines
MAX_NODES = 50_000  # every visit counts, an alias's copies included
MAX_DEPTH = 40
MAX_HCL_BYTES = 256 * 1024
# Every workflow and bake file one run reads, together: a pull request can add many files, each under its
# bound, and parsing takes seconds a megabyte (`plan` reads them all on every run to compare).
MAX_TOTAL_BYTES = 4 * 1024 * 1024


def read_text(path: Path, display: str, limit: int, what: str) -> str:
    # Not through a symlink: a pull request could point one at a file outside the repository, whose text
    # would then show in a message in the run's log.
    raw = read_regular(path, display, limit, what=what, log=False, follow_symlinks=False)
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UserError.single(display, f"the {what} is not UTF-8", line=line, column=1) from None


def load_workflow(path: Path, display: str) -> Document:
    """The workflow as plain data with positions (Document.values / keys, 1-based)."""
    text = read_text(path, display, MAX_BYTES, "workflow")
    problem = nesting_problem(text, display, "workflow")
    if problem:
        raise problem

    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise UserError.single(display, f"invalid YAML: {message}", line=line, column=col) from None
    except YAMLError as exc:
        raise UserError.single(display, f"invalid YAML: {' '.join(str(exc).split())}", line=1, column=1) from None
    except RecursionError:
        raise UserError.single(display, "the workflow nests too deeply", line=1, column=1) from None
    except (TypeError, ValueError) as exc:  # unhashable keys, integers too long to read
        raise UserError.single(display, f"cannot read the workflow: {exc}", line=1, column=1) from None
    doc = Document(display, None)
    walker = _Walker(doc)
    doc.data = walker.plain(tree, (), 0)
    return doc


class _Walker:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.visits = 0

    def plain(self, node: Any, path: Path_, depth: int) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq
        from ruamel.yaml.scalarbool import ScalarBoolean

        self.visits += 1
        if self.visits > MAX_NODES:
            line, col = self.doc.at(path)
            raise UserError([Problem(self.doc.file, line, col, f"the workflow has more than {MAX_NODES} values",
                                     "YAML aliases that expand into many copies count every copy")])
        if depth > MAX_DEPTH:
            line, col = self.doc.at(path)
            raise UserError([Problem(self.doc.file, line, col, f"the workflow nests deeper than {MAX_DEPTH} levels")])
        if isinstance(node, CommentedMap):
            out: dict[str, Any] = {}
            for key in node:
                # YAML 1.1's `on` is read as a string by ruamel's 1.2 loader; a boolean key is kept by its text.
                name = ("on" if key else "off") if isinstance(key, bool) else str(key)
                child = (*path, name)
                self.doc.keys[child], self.doc.values[child] = entry_places(node, key)
                out[name] = self.plain(node[key], child, depth + 1)
            return out
        if isinstance(node, CommentedSeq):
            return [self.plain(item, child, depth + 1) for child, item in item_places(self.doc, node, path)]
        if isinstance(node, ScalarBoolean | bool):
            return bool(node)
        if isinstance(node, int | float):
            return node
        if node is None:
            return None
        return str(node)


def load_hcl(path: Path, display: str) -> dict[str, Any]:
    """A bake file (HCL) as python-hcl2 reads it: plain data, strings without their quotes."""
    text = read_text(path, display, MAX_HCL_BYTES, "bake file")
    problem = nesting_problem(_without_comments(text), display, "bake file", "[{(", "]})")
    if problem:
        raise problem
    import hcl2  # only `import` reads HCL: the regeneration path never imports it

    try:
        data = hcl2.loads(text)
    except RecursionError:
        raise UserError.single(display, "the bake file nests too deeply", line=1, column=1) from None
    except Exception as exc:  # lark's errors carry a line and column where it knows them
        line = int(getattr(exc, "line", 0) or 0)
        column = int(getattr(exc, "column", 0) or 0)
        first = " ".join(str(exc).split("\n", 1)[0].split())[:200]
        raise UserError.single(display, f"cannot read the bake file: {first or type(exc).__name__}",
                               line=line or 1, column=column or 1) from None
    out: dict[str, Any] = _unquote(data)
    return out


def _without_comments(text: str) -> str:
    return re.sub(r"(?m)^[ \t]*(#|//).*$", "", text)  # [ \t], not \s: never across a line end (quadratic)


def _unquote(value: Any) -> Any:
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value
