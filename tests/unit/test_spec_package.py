"""generator/spec/ stays a package of small modules that import one way."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter

import pytest

import generator.spec

from ..conftest import REPO

PACKAGE = REPO / "generator/spec"
MODULES = sorted(PACKAGE.glob("*.py"))


def _siblings_imported(source: str) -> set[str]:
    """The package's own modules that `source` imports (`from .x import ...`, `from . import x`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
    return found


def test_no_module_over_500_lines() -> None:
    sizes = {path.name: len(path.read_text("utf-8").splitlines()) for path in MODULES}
    assert len(sizes) >= 6
    assert max(sizes.values()) <= 500, sizes


def test_no_import_cycle_inside_the_package() -> None:
    graph = {path.stem: _siblings_imported(path.read_text("utf-8")) for path in MODULES}
    assert graph["__init__"] >= {"build", "document", "rules", "schema"}, "the stages are imported"
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover (the failure message)
        pytest.fail(f"import cycle: {exc.args[1]}")


def test_the_rest_of_the_code_imports_what_it_used_to() -> None:
    """generator.spec was one module; callers kept their imports when it became a package."""
    for name in ("Document", "load_spec", "spec_from_document", "load_schema", "read_document", "did_you_mean",
                 "find_spec", "build_spec", "schema_problems", "semantic_problems"):
        assert callable(getattr(generator.spec, name, None)), name
