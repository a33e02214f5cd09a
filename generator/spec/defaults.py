"""Defaults, read from the one place that declares them: the schema's `default` keywords.

The schema is what editors complete from and what the README's reference is generated from, so a
default written there is the default users are told about; the code asks the schema instead of repeating
the value. Paths are written as the reference names them: `triggers.manual`, `images.<name>.platforms`,
`registries[].password-secret` (any word stands for a `<name>`).

Three kinds of absence, kept apart on purpose:
- a key with a default: `setting` gives the schema's value (the unit tests hold every declared default to
  being read, and writing a default out to building the same Spec);
- a default derived from other values (`<context>/Dockerfile`, the image name as repository, a variant's
  `-<name>` suffix, the path filters): described in the schema's text, computed here or in units.py;
- an optional key with no default (`target`, `expect-output`, `from`, `test` ...): absent means none,
  which the model writes as "", () or None.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from .schema import load_schema

IMAGE = "images.<name>"  # where a build's keys are declared (a variant's declare the same defaults)
VARIANT = "images.<name>.variants.<name>"
REGISTRY = "registries[]"

# Not defaults: these types are one registry each, and the rules refuse a `host:` for them.
REGISTRY_HOSTS = {"ghcr": "ghcr.io", "dockerhub": "docker.io"}


def schema_default(path: str, holder: Mapping[str, Any] | None = None) -> Any:
    """The default the schema declares for the value at `path`, a copy the caller may keep. `holder` is
    the mapping the key sits in: a default that depends on its neighbours (a registry's secrets by its
    `type`) is declared under `allOf` as `if: {properties: {type: {const: ...}}}` / `then:`, and is
    looked up first. KeyError when the schema declares none: asking for one is a bug in the caller."""
    cases, plain = _declared(path)
    for condition, value in cases:
        if holder is not None and _matches(condition, holder):
            return _copy(value)
    if plain is _NONE:
        raise KeyError(f"the schema declares no default for {path}")
    return _copy(plain)


def setting(raw: Mapping[str, Any], key: str, under: str = "") -> Any:
    """`raw[key]` as the spec writes it, else the schema's default for it (`under` is raw's path)."""
    if key in raw:
        return raw[key]
    return schema_default(f"{under}.{key}" if under else key, raw)


def trigger_tags(triggers: Mapping[str, Any]) -> list[str]:
    """The tag patterns that publish: as written, else none when releases publish (a release pushes its tag:
    both would build it twice), else the schema's default (v*)."""
    if "tags" in triggers or not setting(triggers, "releases", "triggers"):
        return list(setting(triggers, "tags", "triggers"))
    return []


def build_setting(values: Mapping[str, Any], defaults: Mapping[str, Any], key: str) -> Any:
    """A build's value for `key`: its own (or its image's), else the spec's `defaults:`, else the schema's."""
    if key in values:
        return values[key]
    return setting(defaults, key, "defaults")


def default_dockerfile(context: str) -> str:
    """The Dockerfile a build uses when it names none (the schema says so in words: it is derived)."""
    return str(PurePosixPath(context) / "Dockerfile")


# ----------------------------------------------------------------------------------- walking the schema

_NONE = object()
# path -> (the schema it was read from, its conditional defaults, its default or _NONE). A build asks the
# same few dozen paths for every image; the schema object is kept to notice another one (tests swap it).
_memo: dict[str, tuple[object, list[tuple[Mapping[str, Any], Any]], Any]] = {}


def _declared(path: str) -> tuple[list[tuple[Mapping[str, Any], Any]], Any]:
    schema = load_schema()
    hit = _memo.get(path)
    if hit is not None and hit[0] is schema:
        return hit[1], hit[2]
    *parents, key = _parts(path)
    nodes: list[Mapping[str, Any]] = [schema]
    for part in parents:
        nodes = [child for node in nodes for child in _children(node, part)]
    cases = [(case.get("if", {}), found["default"])
             for node in nodes for choice in _choices(node) for case in choice.get("allOf", ())
             if "default" in (found := case.get("then", {}).get("properties", {}).get(key, {}))]
    plain = next((child["default"] for node in nodes for child in _children(node, key) if "default" in child), _NONE)
    _memo[path] = (schema, cases, plain)
    return cases, plain


def _copy(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, list | dict) else value



def _parts(path: str) -> list[str | int]:
    """`registries[].host` -> ["registries", 0, "host"]: an int stands for any item of a list."""
    parts: list[str | int] = []
    for word in path.split("."):
        name = word.removesuffix("[]")
        parts.append(name)
        parts += [0] * ((len(word) - len(name)) // 2)
    return parts


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref = str(node["$ref"])
        if not ref.startswith("#/"):
            raise ValueError(f"cannot follow $ref {ref!r}")
        target: Any = load_schema()
        for part in ref[2:].split("/"):
            target = target[part]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings} if siblings else target
    return node


def _choices(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The node and the alternatives it allows, theirs too (`from:` is an input or a list of them, an input a
    string or a mapping with defaults of its own)."""
    node = _resolve(node)
    alternatives = [alt for keyword in ("oneOf", "anyOf") for alt in node.get(keyword, ())]
    return [node, *(choice for alt in alternatives for choice in _choices(alt))]


def _children(node: Mapping[str, Any], part: str | int) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for choice in _choices(node):
        if isinstance(part, int):
            items = choice.get("items")
            found += [_resolve(items)] if isinstance(items, Mapping) else []
        elif part in choice.get("properties", {}):
            found.append(_resolve(choice["properties"][part]))
        elif isinstance(choice.get("additionalProperties"), Mapping):
            found.append(_resolve(choice["additionalProperties"]))
    return found


def _matches(condition: Mapping[str, Any], holder: Mapping[str, Any]) -> bool:
    """Whether `holder` meets an `if:` made of `const` properties (all the schema uses for defaults)."""
    if set(condition) - {"properties", "required"}:
        raise ValueError(f"a default's condition may only compare properties with const: {condition}")
    for name, test in condition.get("properties", {}).items():
        if set(test) != {"const"}:
            raise ValueError(f"a default's condition may only compare properties with const: {condition}")
        if name not in holder or holder[name] != test["const"]:
            return False
    return all(name in holder for name in condition.get("required", ()))
