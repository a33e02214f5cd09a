"""Schema validation, each jsonschema error turned into a located problem that says what is wrong in the
spec's own words (the key, the allowed values, a did-you-mean) rather than the validator's."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from ..errors import Problem
from ..platforms import ACCEPTED
from ..resources import schema_path
from .document import Document, Path_, describe, yaml_type


@cache
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path().read_text("utf-8"))
    return schema


_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
        close = [c for c in choices if close and c.lower() == close[0]]
    return f'did you mean "{close[0]}"?' if close else ""


def schema_problems(doc: Document) -> list[Problem]:
    """Every schema error, located and worded for the spec. A spec the schema accepts is answered by
    `conforms` without importing jsonschema (a tenth of a regeneration's time); any other spec, or one
    `conforms` cannot judge, by jsonschema, whose errors are the ones turned into messages."""
    try:
        if conforms(load_schema(), doc.data):
            return []
    except Unsure:
        pass
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError, best_match

    validator = Draft202012Validator(load_schema())
    problems: list[Problem] = []

    def convert(error: ValidationError) -> Iterator[Problem]:
        path: Path_ = tuple(error.absolute_path)
        where = describe(path)
        kind = error.validator
        schema: dict[str, Any] = error.schema if isinstance(error.schema, dict) else {}
        value: Any = error.validator_value
        if kind in ("oneOf", "anyOf") and error.context:
            # The branches whose type the value has say what is wrong with it; the others only that it is
            # of another type (a mapping is not one of the string shorthands).
            wrong_type = {e.relative_schema_path[0] for e in error.context
                          if e.validator == "type" and not e.relative_path}
            fitting = [e for e in error.context if e.relative_schema_path[0] not in wrong_type]
            yield from convert(best_match(fitting or error.context))
            return
        if kind == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(schema.get("properties", {}))
            for extra in sorted(set(error.instance) - set(allowed)):
                hint = did_you_mean(extra, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else "")
                yield doc.problem((*path, extra), f'unknown key "{extra}" in {where}', hint, key=True)
            return
        if "propertyNames" in error.schema_path and isinstance(error.instance, str):
            # A key, not a value, is wrong: point at the key itself.
            name, key_path = error.instance, (*path, error.instance)
            if kind == "enum":
                hint = did_you_mean(name, list(ACCEPTED)) or "see `gen-workflows schema` for the platform names"
                yield doc.problem(key_path, f'"{name}" is not a known platform ({where})', hint, key=True)
            elif kind == "maxLength":
                yield doc.problem(key_path, f'the name "{name}" in {where} is too long', key=True)
            else:
                yield doc.problem(key_path, f'invalid name "{name}" in {where}', schema.get("x-hint", ""),
                                  key=True)
            return
        if kind == "required":
            instance: Any = error.instance
            missing = [k for k in value if k not in instance]
            for key in missing:
                yield doc.problem(path, f'missing required key "{key}" in {where}')
            return
        if kind == "enum":
            choices = [str(c) for c in value]
            if choices == list(ACCEPTED):
                hint = did_you_mean(str(error.instance), choices) or \
                    "known platforms: " + ", ".join(c for c in choices if c.startswith("linux/"))
                yield doc.problem(path, f'"{error.instance}" is not a known platform ({where})', hint)
            else:
                hint = did_you_mean(str(error.instance), choices)
                hint = f"{hint} " if hint else ""
                yield doc.problem(path, f'{json.dumps(error.instance)} is not allowed for {where}',
                                  f"{hint}allowed: {', '.join(choices)}")
            return
        if kind == "const":
            yield doc.problem(path, f"{where} must be {json.dumps(value)}, "
                                    f"got {json.dumps(error.instance)}",
                              "this gen-workflows reads spec version 1" if path == ("version",) else "")
            return
        if kind == "type":
            wanted = [str(w) for w in (value if isinstance(value, list) else [value])]
            names = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
            hint = ""
            if "boolean" in wanted and str(error.instance).lower() in ("yes", "no", "on", "off", "y", "n"):
                hint = "write true or false (YAML 1.2 reads yes/no/on/off as strings)"
            yield doc.problem(path, f"{where} must be {names}, got {yaml_type(error.instance)}", hint)
            return
        if kind == "pattern":
            hint = schema.get("x-hint", "")
            yield doc.problem(path, f"{json.dumps(error.instance)} is not a valid value for {where}", hint)
            return
        if kind == "uniqueItems":
            yield doc.problem(path, f"{where} lists the same value twice")
            return
        messages = {
            "minItems": f"{where} must not be empty" if value == 1
            else f"{where} needs at least {value} items",
            "maxItems": f"{where} has more than {value} items",
            "minProperties": f"{where} must not be empty",
            "maxProperties": f"{where} has more than {value} entries",
            "minLength": f"{where} must not be empty",
            "maxLength": f"{where} is longer than {value} characters",
            "minimum": f"{where} must be at least {value}",
            "maximum": f"{where} must be at most {value}",
        }
        yield doc.problem(path, messages.get(str(kind), f"{where}: {error.message}"))

    for error in validator.iter_errors(doc.data):
        problems.extend(convert(error))
    return problems


# --------------------------------------------------------------------------- the quick verdict


class Unsure(Exception):
    """`conforms` met a keyword or a value it does not judge exactly as jsonschema does."""


# Keywords that only document (jsonschema asserts nothing for them) and, besides any `x-` keyword, the only
# ones `conforms` passes over: a keyword it does not know makes it Unsure, never lenient.
_ANNOTATIONS = frozenset({"$schema", "$defs", "$comment", "title", "description", "default", "examples",
                          "deprecated", "readOnly", "writeOnly"})
_IS_TYPE = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
_PLAIN = frozenset({str, int, float, bool, type(None), dict, list})  # what generator.spec.document makes of YAML


def conforms(root: dict[str, Any], instance: Any) -> bool:
    """Whether jsonschema's Draft 2020-12 validator (no format checks) finds no error in `instance`,
    decided without it. Exact for the keywords and the plain values a spec document holds (dict, list,
    str, int, float, bool, None); anything else raises Unsure, so a caller falls back to jsonschema."""
    if not isinstance(root, dict):
        raise Unsure("root")
    return _valid(root, instance, root, top=True)


def _ref(root: dict[str, Any], ref: Any) -> Any:
    """`#/$defs/<name>` in the root schema (whose `$id` is the base of every reference); nothing else."""
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        raise Unsure(f"$ref {ref!r}")
    name = ref[len("#/$defs/"):]
    defs = root.get("$defs")
    if "/" in name or "~" in name or "%" in name or not isinstance(defs, dict) or name not in defs:
        raise Unsure(f"$ref {ref!r}")
    return defs[name]


def _equal(one: Any, two: Any) -> bool:
    """jsonschema's `equal` for scalars: strings compare as strings, a boolean equals only itself."""
    if isinstance(one, dict | list) or isinstance(two, dict | list):
        if isinstance(one, str) or isinstance(two, str):
            return False  # a string never equals a list or a mapping
        if isinstance(one, dict | list) and isinstance(two, dict | list):
            raise Unsure("compound equality")
        return False
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, bool) or isinstance(two, bool):
        return one is two
    return bool(one == two)


def _valid(schema: Any, value: Any, root: dict[str, Any], *, top: bool = False) -> bool:
    if schema is True:
        return True
    if schema is False:
        return False
    if not isinstance(schema, dict) or type(value) not in _PLAIN:
        raise Unsure("schema or value")
    for keyword, arg in schema.items():
        if keyword in _ANNOTATIONS or keyword.startswith("x-") or (top and keyword == "$id"):
            continue
        check = _KEYWORDS.get(keyword)
        if check is None:
            raise Unsure(f"keyword {keyword!r}")
        if not check(arg, value, schema, root):
            return False
    return True


def _type(arg: Any, value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    names = arg if isinstance(arg, list) else [arg]
    if not all(isinstance(n, str) and n in _IS_TYPE for n in names):
        raise Unsure(f"type {arg!r}")
    return any(bool(_IS_TYPE[n](value)) for n in names)


def _items(arg: Any, value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if "prefixItems" in schema:
        raise Unsure("prefixItems")
    return not isinstance(value, list) or all(_valid(arg, item, root) for item in value)


def _unique(arg: Any, value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if not arg or not isinstance(value, list):
        return True
    if not all(isinstance(item, str) for item in value):
        raise Unsure("uniqueItems of non-strings")
    return len(set(value)) == len(value)


def _additional(arg: Any, value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if not isinstance(value, dict):
        return True
    if "patternProperties" in schema:
        raise Unsure("patternProperties")
    known = schema.get("properties", {})
    extras = [key for key in value if key not in known]
    if isinstance(arg, dict):
        return all(_valid(arg, value[key], root) for key in extras)
    if arg is True or arg is False:
        return arg or not extras
    raise Unsure("additionalProperties")


def _properties(arg: Any, value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    if not isinstance(arg, dict):
        raise Unsure("properties")
    return not isinstance(value, dict) or all(_valid(sub, value[key], root) for key, sub in arg.items()
                                              if key in value)


def _if(arg: Any, value: Any, schema: dict[str, Any], root: dict[str, Any]) -> bool:
    branch = "then" if _valid(arg, value, root) else "else"
    return branch not in schema or _valid(schema[branch], value, root)


def _count(arg: Any) -> int:
    if isinstance(arg, bool) or not isinstance(arg, int):
        raise Unsure(f"count {arg!r}")
    return arg


def _bound(arg: Any) -> int | float:
    if isinstance(arg, bool) or not isinstance(arg, int | float):
        raise Unsure(f"bound {arg!r}")
    return arg


def _schemas(arg: Any) -> list[Any]:
    if not isinstance(arg, list) or not arg:
        raise Unsure("subschemas")
    return arg


def _names(arg: Any) -> list[str]:
    if not isinstance(arg, list) or not all(isinstance(name, str) for name in arg):
        raise Unsure("required")
    return arg


def _pattern(arg: Any, value: Any) -> bool:
    if not isinstance(arg, str):
        raise Unsure("pattern")
    return not isinstance(value, str) or re.search(arg, value) is not None


def _enum(arg: Any, value: Any) -> bool:
    if not isinstance(arg, list):
        raise Unsure("enum")
    return any(_equal(each, value) for each in arg)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# keyword -> (its argument, the value, the schema holding it, the root schema) -> valid. Every True and False
# is exact, so stopping at the first one that decides (as all() and any() do) decides exactly too.
_KEYWORDS: dict[str, Any] = {
    "type": _type,
    "enum": lambda a, v, s, r: _enum(a, v),
    "const": lambda a, v, s, r: _equal(a, v),
    "minLength": lambda a, v, s, r: not isinstance(v, str) or len(v) >= _count(a),
    "maxLength": lambda a, v, s, r: not isinstance(v, str) or len(v) <= _count(a),
    "pattern": lambda a, v, s, r: _pattern(a, v),
    "minimum": lambda a, v, s, r: not _number(v) or v >= _bound(a),
    "maximum": lambda a, v, s, r: not _number(v) or v <= _bound(a),
    "minItems": lambda a, v, s, r: not isinstance(v, list) or len(v) >= _count(a),
    "maxItems": lambda a, v, s, r: not isinstance(v, list) or len(v) <= _count(a),
    "uniqueItems": _unique,
    "items": _items,
    "minProperties": lambda a, v, s, r: not isinstance(v, dict) or len(v) >= _count(a),
    "maxProperties": lambda a, v, s, r: not isinstance(v, dict) or len(v) <= _count(a),
    "required": lambda a, v, s, r: not isinstance(v, dict) or all(k in v for k in _names(a)),
    "properties": _properties,
    "additionalProperties": _additional,
    "propertyNames": lambda a, v, s, r: not isinstance(v, dict) or all(_valid(a, k, r) for k in v),
    "$ref": lambda a, v, s, r: _valid(_ref(r, a), v, r),
    "allOf": lambda a, v, s, r: all(_valid(sub, v, r) for sub in _schemas(a)),
    "anyOf": lambda a, v, s, r: any(_valid(sub, v, r) for sub in _schemas(a)),
    "oneOf": lambda a, v, s, r: [_valid(sub, v, r) for sub in _schemas(a)].count(True) == 1,
    "not": lambda a, v, s, r: not _valid(a, v, r),
    "if": _if,
    "then": lambda a, v, s, r: True,  # judged with its `if`; alone, jsonschema ignores it
    "else": lambda a, v, s, r: True,
}
