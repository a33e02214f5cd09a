"""Where the templates and the schema are: inside the installed package, or at the top of a checkout."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # the installed package (its scripts/, data/)


def resource_dir(name: str) -> Path:
    """`templates` or `schemas`: the wheel ships them inside the package, a checkout keeps them beside it."""
    for candidate in (PACKAGE / name, PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"gen-workflows is installed without its {name}/ directory")


def schema_path() -> Path:
    return resource_dir("schemas") / "multiarch.schema.json"
