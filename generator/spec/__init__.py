"""The spec: find and read it with positions (document), validate it against the schema (schema) and
by the rules a schema cannot express (rules), and build the Spec (build). Both checks report every
problem at once, each located."""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..model import Spec
from .build import build_spec
from .document import Document, Path_, find_spec, read_document, yaml_type
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
    return spec_from_document(read_document(path, display), root)


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
