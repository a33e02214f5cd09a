"""Schema validation, each jsonschema error turned into a located problem that says what is wrong in the
spec's own words (the key, the allowed values, a did-you-mean) rather than the validator's."""

from __future__ import annotations

import difflib
import json
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
