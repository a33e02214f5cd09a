"""generator.spec.schema.conforms: the same verdict as jsonschema, without importing it.

A spec the quick check wrongly accepted would skip every schema message, so its verdict is compared with
jsonschema's on every sample, every invalid case and thousands of mutations of them.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from generator.errors import UserError
from generator.spec import read_document
from generator.spec.schema import Unsure, conforms, load_schema

from ..conftest import REPO

SPECS = sorted([*REPO.glob("sample-projects/*/.github/multiarch.y*ml"), *REPO.glob("tests/invalid/*/.github/*.y*ml")])


def _documents() -> list[Any]:
    found = []
    for path in SPECS:
        try:
            found.append(read_document(path, "spec").data)
        except UserError:  # the cases the reader already refuses
            continue
    return found


def _schema_values(node: Any) -> Iterator[Any]:
    """Every enum and const value of the schema: the values at the edge of what is allowed."""
    if isinstance(node, dict):
        yield from node.get("enum", [])
        if "const" in node:
            yield node["const"]
        for value in node.values():
            yield from _schema_values(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_values(value)


POOL = [None, True, False, 0, 1, -1, 1.0, 1.5, 2, 100, 101, 255, 256, 360, 361, 3600, float("inf"), "", "a",
        "1", "x" * 300, "-x", "a--b", "A", "main", "v1.2.3", "0" * 40, [], {}, ["amd64"], ["amd64", "amd64"],
        [1, 1], {"a": 1}, *_schema_values(load_schema())]
KEYS = ["bogus", "amd64", "linux/386", "img", "FOO", "release", "commit", "semver", "raw", "type", "test",
        "command", "runner", "username-secret", "variants", "from"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*path, key))


def _mutate(doc: Any, rng: random.Random) -> Any:
    """Up to three edits: a value replaced, a key dropped or added, a list item repeated."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        paths = list(_paths(doc))[1:]
        if not paths:
            return doc
        path = rng.choice(paths)
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key, roll = path[-1], rng.random()
        if roll < 0.5 or (roll >= 0.8 and isinstance(parent, dict)):
            parent[key] = copy.deepcopy(rng.choice(POOL))
        elif roll < 0.65 and isinstance(parent, dict):
            del parent[key]
        elif isinstance(parent, dict):
            parent[rng.choice([f"{key}x", *KEYS])] = copy.deepcopy(rng.choice([*POOL, parent[key]]))
        else:
            parent.append(copy.deepcopy(parent[key]))
    return doc


def test_every_sample_is_judged_without_jsonschema() -> None:
    samples = [read_document(p, "spec").data for p in SPECS if "sample-projects" in p.parts]
    assert len(samples) >= 5
    assert all(conforms(load_schema(), data) for data in samples)


@pytest.mark.parametrize("seed", range(4))
def test_the_verdict_is_jsonschemas(seed: int) -> None:
    schema = load_schema()
    validator = Draft202012Validator(schema)
    documents = _documents()
    rng = random.Random(seed)
    verdicts = {True: 0, False: 0, "unsure": 0}
    for i in range(1500):
        doc = documents[i] if seed == 0 and i < len(documents) else _mutate(rng.choice(documents), rng)
        try:
            verdict = conforms(schema, doc)
        except Unsure:
            verdicts["unsure"] += 1
            continue
        assert verdict == validator.is_valid(doc), doc
        verdicts[verdict] += 1
    assert verdicts[True] > 100, verdicts
    assert verdicts[False] > 1000, verdicts
    assert verdicts["unsure"] < 60, verdicts


@pytest.mark.parametrize(("schema", "value", "verdict"), [
    ({"type": "integer"}, 1.0, True),
    ({"type": "integer"}, True, False),
    ({"type": "number"}, False, False),
    ({"const": 1}, 1.0, True),
    ({"const": 1}, True, False),
    ({"enum": [False]}, 0, False),
    ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, "a", False),
    ({"oneOf": [{"type": "string"}, {"minLength": 1}]}, "", True),
    ({"if": {"const": "a"}, "then": {"minLength": 2}, "else": False}, "a", False),
    ({"then": False}, "a", True),
    ({"not": {"type": "null"}}, None, False),
    ({"properties": {"a": {}}, "additionalProperties": False}, {"a": 1, "b": 2}, False),
    ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"A": 1}, False),
    ({"uniqueItems": True}, ["a", "a"], False),
    ({"x-hint": "only words", "description": "too"}, 1, True),
])
def test_keywords(schema: dict[str, Any], value: Any, verdict: bool) -> None:
    assert conforms(schema, value) is verdict
    assert Draft202012Validator(schema).is_valid(value) is verdict


@pytest.mark.parametrize(("schema", "value"), [
    ({"format": "date"}, "x"),  # a keyword it does not judge
    ({"patternProperties": {"a": {}}, "additionalProperties": False}, {"a": 1}),
    ({"$ref": "other.json#/x"}, 1),
    ({"uniqueItems": True}, [1, True]),
    ({"const": [1]}, [1]),
    ({"type": "string"}, b"bytes"),  # not a value a spec document holds
])
def test_anything_else_is_left_to_jsonschema(schema: dict[str, Any], value: Any) -> None:
    with pytest.raises(Unsure):
        conforms(schema, value)
