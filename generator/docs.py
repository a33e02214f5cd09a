"""The README's spec reference, generated from the schema so that the two cannot drift apart.

`schema_reference` is pure (schema in, Markdown out); `main` is the edge that reads and rewrites the
README between its markers (`python -m generator.docs`, or `--check` to exit 1 when it is stale).
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .record import record

START = "<!-- spec-reference:start -->"
END = "<!-- spec-reference:end -->"
README = Path(__file__).resolve().parent.parent / "README.md"

Schema = Mapping[str, Any]

_TYPE_NAMES = {"object": "mapping", "array": "list", "string": "string", "integer": "integer",
               "number": "number", "boolean": "boolean", "null": "null"}
_ALTERNATIVES = ("oneOf", "anyOf")
# Strings YAML would read as something else (YAML 1.1 booleans included: some parsers still do).
_NOT_PLAIN = {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}


@record
class _Entry:
    path: str
    schema: Schema
    required: bool
    cases: tuple[tuple[str, Any], ...] = ()  # defaults that hold when the mapping's other keys say so


def schema_reference(schema: Schema) -> str:
    """Markdown describing every property of `schema`: path, type, allowed values, default,
    description and examples. Properties come in schema order; `$ref`s to object definitions are
    expanded in place, other definitions (value types such as a platform) are described once at
    the end and linked from where they are used."""
    return _Reference(schema).render()


class _Reference:
    def __init__(self, root: Schema) -> None:
        self.root = root
        self.types: list[str] = []  # value types in order of first use: deterministic, and readable

    # -- walking ----------------------------------------------------------------------------------

    def resolve(self, node: Schema) -> tuple[Schema, str | None]:
        """The schema a `$ref` points to (sibling keywords win), and the definition's name."""
        name = None
        seen: set[str] = set()
        while "$ref" in node:
            ref = str(node["$ref"])
            if ref in seen or not ref.startswith("#/"):
                raise ValueError(f"cannot follow $ref {ref!r}")
            seen.add(ref)
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            name = ref.rsplit("/", 1)[-1]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node, name

    def type_name(self, node: Schema) -> str | None:
        """The value type `node` refers to, if it is one (a definition without properties of its own)."""
        resolved, name = self.resolve(node)
        if name is None or "properties" in resolved:
            return None
        if name not in self.types:
            self.types.append(name)
        return name

    def entries(self, node: Schema, path: str) -> Iterator[_Entry]:
        """Every property below `node` (at `path`), depth first in schema order."""
        if self.type_name(node) is not None:
            return
        resolved, _ = self.resolve(node)
        required = set(resolved.get("required", ()))
        for key, child in resolved.get("properties", {}).items():
            child_path = f"{path}.{key}" if path else key
            yield _Entry(child_path, child, key in required, _conditional_defaults(resolved, key))
            yield from self.entries(child, child_path)
        for keyword, suffix in (("additionalProperties", ".<name>"), ("items", "[]")):
            child = resolved.get(keyword)
            if isinstance(child, Mapping):
                yield from self._element(child, f"{path}{suffix}")
        names = resolved.get("propertyNames")
        if isinstance(names, Mapping):
            self.type_name(names)
        for keyword in _ALTERNATIVES:
            for alternative in resolved.get(keyword, ()):
                yield from self.entries(alternative, path)

    def _element(self, node: Schema, path: str) -> Iterator[_Entry]:
        """A map value or list item: an entry of its own only when it explains itself."""
        if self.type_name(node) is not None:
            return
        resolved, _ = self.resolve(node)
        if "description" in resolved:
            yield _Entry(path, node, False)
        yield from self.entries(node, path)

    # -- describing one schema --------------------------------------------------------------------

    def type_text(self, node: Schema) -> str:
        name = self.type_name(node)
        if name is not None:
            return f"[{_code(name)}](#{_slug(_type_heading(name))})"
        resolved, _ = self.resolve(node)
        alternatives = [alt for keyword in _ALTERNATIVES for alt in resolved.get(keyword, ())]
        if alternatives:
            return _or(self.type_text(alt) for alt in alternatives)
        declared = resolved.get("type")
        if declared is None:
            values = [resolved["const"]] if "const" in resolved else list(resolved.get("enum", ()))
            declared = sorted({_json_type(v) for v in values}) or ("object" if "properties" in resolved else [])
        kinds = [declared] if isinstance(declared, str) else list(declared)
        if not kinds:
            return "any value"
        return _or(self._kind_text(kind, resolved) for kind in kinds)

    def _kind_text(self, kind: str, resolved: Schema) -> str:
        items = resolved.get("items")
        if kind == "array" and isinstance(items, Mapping):
            return f"list of {self.type_text(items)}"
        values = resolved.get("additionalProperties")
        if kind == "object" and isinstance(values, Mapping) and "properties" not in resolved:
            names = resolved.get("propertyNames")
            key = self.type_text(names) if isinstance(names, Mapping) and self.type_name(names) else "name"
            return f"mapping of {key} to {self.type_text(values)}"
        return _TYPE_NAMES.get(kind, kind)

    def allowed(self, node: Schema) -> list[str]:
        """What values are accepted, beyond the type: enums, ranges, formats, key names."""
        if self.type_name(node) is not None:
            return []  # described with the type
        resolved, _ = self.resolve(node)
        parts = _values(resolved)
        alternatives = [self.resolve(alt)[0] for keyword in _ALTERNATIVES for alt in resolved.get(keyword, ())
                        if self.type_name(alt) is None]
        for alternative in alternatives:
            if values := _values(alternative):
                parts += [f"as a {self.type_text(alternative)}: {text}" for text in values]
        names = resolved.get("propertyNames")
        if isinstance(names, Mapping) and self.type_name(names) is None:
            parts += [f"keys: {text}" for text in _values(names) + _hints(names)]
        hints: list[str] = []
        for candidate in [resolved, *alternatives]:
            items = candidate.get("items")
            for hint in _hints(candidate) + (_hints(items) if isinstance(items, Mapping) else []):
                if hint not in hints:
                    hints.append(hint)
        parts += [f"format: {hint}" for hint in hints]
        items = resolved.get("items")
        if isinstance(items, Mapping) and self.type_name(items) is None:
            parts += [f"each: {text}" for text in _values(self.resolve(items)[0])]
        return parts

    def meta(self, entry: _Entry) -> str:
        resolved, _ = self.resolve(entry.schema)
        parts = [self.type_text(entry.schema)]
        if entry.required:
            parts.append("**required**")
        parts += self.allowed(entry.schema)
        if "default" in resolved:
            parts.append(f"default {_code(_flow(resolved['default']))}")
        if entry.cases:
            parts.append("default " + ", ".join(f"{_code(_flow(value))} when {_code(when)}"
                                                for when, value in entry.cases))
        return " · ".join(parts)

    # -- output -----------------------------------------------------------------------------------

    def render(self) -> str:
        entries = list(self.entries(self.root, ""))
        top = [entry.path for entry in entries if "." not in entry.path and "[" not in entry.path]
        out = ["Top-level keys: " + " · ".join(f"[{_code(key)}](#{_slug(key)})" for key in top), ""]
        for entry in entries:
            depth = "###" if entry.path in top else "####"
            out += [f"{depth} {_code(entry.path)}", "", self.meta(entry), ""]
            out += self._text(entry.schema)
        out += ["### Value types", "",
                "Definitions that several keys share; the keys above link here.", ""]
        index = 0
        while index < len(self.types):  # a type may use another type: the list grows while we go
            name = self.types[index]
            index += 1
            out += self._type_section(name)
        return "\n".join(out).rstrip("\n") + "\n"

    def _text(self, node: Schema) -> list[str]:
        resolved, _ = self.resolve(node)
        out = []
        if description := str(resolved.get("description", "")).strip():
            out += [description, ""]
        if examples := resolved.get("examples"):
            label = "Example" if len(examples) == 1 else "Examples"
            out += [f"{label}: " + ", ".join(_code(_flow(example)) for example in examples), ""]
        return out

    def _type_section(self, name: str) -> list[str]:
        node: Schema = {"$ref": f"#/$defs/{name}"}
        resolved, _ = self.resolve(node)
        out = [f"#### {_type_heading(name)}", "", self.meta(_Entry(name, resolved, False)), "", *self._text(resolved)]
        keys = list(self.entries(resolved, ""))
        if keys:
            out += ["Keys of the mapping form:", ""]
            for entry in keys:
                text = " ".join(line for line in self._text(entry.schema) if line)
                out.append(f"- {_code(entry.path)} ({self.meta(entry)}){': ' + text if text else ''}")
            out.append("")
        return out


def _conditional_defaults(node: Schema, key: str) -> tuple[tuple[str, Any], ...]:
    """Defaults for `key` that depend on the mapping's other keys: `allOf` items whose `if` compares
    them with `const` and whose `then` declares the default (a registry's secret names by its type)."""
    cases = []
    for case in node.get("allOf", ()):
        found = case.get("then", {}).get("properties", {}).get(key, {})
        if "default" in found:
            tests = case.get("if", {}).get("properties", {})
            when = ", ".join(f"{name}: {_flow(test['const'])}" for name, test in tests.items() if "const" in test)
            cases.append((when, found["default"]))
    return tuple(cases)


def _values(schema: Schema) -> list[str]:
    parts = []
    if "const" in schema:
        parts.append(f"must be {_code(_flow(schema['const']))}")
    if "enum" in schema:
        parts.append("one of " + ", ".join(_code(_flow(value)) for value in schema["enum"]))
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    above = "above" if "minimum" not in schema else "at least"
    below = "below" if "maximum" not in schema else "at most"
    if low is not None and high is not None and above == "at least" and below == "at most":
        parts.append(f"from {low} to {high}")
    else:
        parts += [f"{word} {bound}" for word, bound in ((above, low), (below, high)) if bound is not None]
    return parts


def _hints(schema: Schema) -> list[str]:
    hint = schema.get("x-hint")
    return [str(hint)] if hint else []


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "null"


def _or(texts: Iterable[str]) -> str:
    unique = list(dict.fromkeys(texts))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]


def _flow(value: Any) -> str:
    """A value as YAML flow text, as it would be written in the spec."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_flow(str(k))}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str) and _plain(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _plain(text: str) -> bool:
    if not re.fullmatch(r"[A-Za-z0-9_/][A-Za-z0-9_./-]*", text) or text.lower() in _NOT_PLAIN:
        return False
    try:
        float(text)
    except ValueError:
        return True
    return False


def _code(text: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _type_heading(name: str) -> str:
    return f"Type: {_code(name)}"


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def replace_section(readme: str, reference: str) -> str:
    """`readme` with the text between the markers replaced by `reference`."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start or readme.count(START) != 1 or readme.count(END) != 1:
        raise ValueError(f"needs exactly one {START} followed by one {END}")
    return readme[: start + len(START)] + "\n" + reference + readme[end:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generator.docs",
                                     description="Write the spec reference into the README, from the schema.")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when the README is stale")
    parser.add_argument("--readme", type=Path, default=README, help="the README to update [default: %(default)s]")
    args = parser.parse_args(argv)

    from .output import atomic_write
    from .spec import load_schema

    readme: Path = args.readme
    text = readme.read_bytes().decode("utf-8")
    try:
        updated = replace_section(text, schema_reference(load_schema()))
    except ValueError as exc:
        print(f"{readme}: {exc}", file=sys.stderr)
        return 2
    if updated == text:
        return 0
    if args.check:
        sys.stdout.writelines(difflib.unified_diff(text.splitlines(keepends=True), updated.splitlines(keepends=True),
                                                   f"a/{readme.name}", f"b/{readme.name}"))
        print(f"{readme}: the spec reference is stale; run `python -m generator.docs`", file=sys.stderr)
        return 1
    atomic_write(readme, updated)
    print(f"updated the spec reference in {readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
