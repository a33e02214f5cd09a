"""The README's spec reference is generated from the schema, and kept current."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from generator.docs import END, START, main, replace_section, schema_reference
from generator.spec import load_schema

from .conftest import REPO

SMALL: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "description": "What it is called.", "x-hint": "lower-case letters",
                 "examples": ["app"]},
        "level": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3, "description": "How hard."},
        "items": {
            "type": "object",
            "description": "Things, by name.",
            "propertyNames": {"pattern": "^[a-z]+$"},
            "additionalProperties": {"$ref": "#/$defs/item"},
        },
    },
    "$defs": {
        "item": {
            "type": "object",
            "description": "One thing.",
            "properties": {
                "colour": {"$ref": "#/$defs/colour", "default": "red"},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "1.0"]}, "default": []},
            },
        },
        "colour": {"type": "string", "enum": ["red", "off"], "description": "A colour.", "examples": ["red"]},
    },
}


def _section(readme: str) -> str:
    return readme.split(START, 1)[1].split(END, 1)[0]


def test_readme_reference_is_current() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert _section(readme) == "\n" + schema_reference(load_schema()), (
        "the README's spec reference is stale: run `python -m generator.docs`")


def test_small_schema_renders_every_property() -> None:
    assert schema_reference(SMALL).splitlines() == [
        "Top-level keys: [`name`](#name) · [`level`](#level) · [`items`](#items)",
        "",
        "### `name`",
        "",
        "string · **required** · format: lower-case letters",
        "",
        "What it is called.",
        "",
        "Example: `app`",
        "",
        "### `level`",
        "",
        "integer · from 1 to 9 · default `3`",
        "",
        "How hard.",
        "",
        "### `items`",
        "",
        "mapping of name to mapping",
        "",
        "Things, by name.",
        "",
        "#### `items.<name>`",
        "",
        "mapping",
        "",
        "One thing.",
        "",
        "#### `items.<name>.colour`",
        "",
        "[`colour`](#type-colour) · default `red`",
        "",
        "A colour.",
        "",
        "Example: `red`",
        "",
        "#### `items.<name>.tags`",
        "",
        'list of string · each: one of `a`, `"1.0"` · default `[]`',
        "",
        "### Value types",
        "",
        "Definitions that several keys share; the keys above link here.",
        "",
        "#### Type: `colour`",
        "",
        'string · one of `red`, `"off"`',
        "",
        "A colour.",
        "",
        "Example: `red`",
    ]


def test_reference_is_deterministic() -> None:
    schema = load_schema()
    assert schema_reference(schema) == schema_reference(load_schema())


def test_every_schema_property_is_documented() -> None:
    text = schema_reference(load_schema())
    for heading in ("### `images`", "#### `images.<name>.variants.<name>.build-args`",
                    "#### `registries[].type`", "#### Type: `baseImage`", "#### Type: `platform`"):
        assert f"\n{heading}\n" in text


def test_replace_section_keeps_the_rest() -> None:
    readme = f"intro\n{START}\nold\n{END}\noutro\n"
    assert replace_section(readme, "new\n") == f"intro\n{START}\nnew\n{END}\noutro\n"
    with pytest.raises(ValueError, match="exactly one"):
        replace_section("no markers\n", "new\n")


def test_main_check_write_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{START}\nstale\n{END}\n\nmore\n", encoding="utf-8")
    assert main(["--check", "--readme", str(readme)]) == 1
    assert "-stale" in capsys.readouterr().out
    assert "stale" in readme.read_text(encoding="utf-8"), "--check writes nothing"
    assert main(["--readme", str(readme)]) == 0
    assert main(["--check", "--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith(f"# title\n\n{START}\n")
    assert text.endswith(f"{END}\n\nmore\n")
    assert _section(text) == "\n" + schema_reference(load_schema())


def test_main_without_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# nothing here\n", encoding="utf-8")
    assert main(["--readme", str(readme)]) == 2
    assert readme.read_text(encoding="utf-8") == "# nothing here\n"


def test_defaults_that_depend_on_a_neighbour() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {"kind": {"enum": ["a", "b"]}, "user": {"type": "string", "default": "anyone"}},
        "allOf": [{"if": {"properties": {"kind": {"const": "b"}}, "required": ["kind"]},
                   "then": {"properties": {"user": {"default": "bee"}}}}],
    }
    assert "string · default `anyone` · default `bee` when `kind: b`" in schema_reference(schema).splitlines()
