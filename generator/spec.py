"""Load the spec with positions, validate it (schema and semantic checks), build the Spec."""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
import shlex
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from .contract import SPEC_CANDIDATES, plain_spec_path, spec_path_problem
from .errors import Problem, UserError
from .filters import cron_problem, glob_problem, path_problem
from .model import (
    BaseRef,
    Cache,
    Image,
    PlatformOverride,
    Registry,
    RegistryKind,
    Requested,
    SmokeTest,
    Spec,
    TagRule,
    Triggers,
    Variant,
)
from .platforms import ACCEPTED, Platform, parse_platform
from .resources import schema_path
from .source import note_checked, read_regular

MAX_BYTES = 512 * 1024  # a spec is a few dozen lines; anything near this is a mistake or an attack
MAX_NODES = 20_000  # counts every visit, so alias bombs stop here instead of expanding
MAX_DEPTH = 32

Path_ = tuple[str | int, ...]


@dataclass
class Document:
    """The spec as plain data, with where each value and key stands in the file."""

    file: str
    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """The position of the value (or its key) at path, else of its nearest located ancestor."""
        table = self.keys if key else self.values
        if path in table:
            return table[path]
        while path:
            path = path[:-1]
            if path in self.values:
                return self.values[path]
        return (1, 1)

    def problem(self, path: Path_, message: str, hint: str = "", *, key: bool = False) -> Problem:
        line, col = self.at(path, key=key)
        return Problem(self.file, line, col, message, hint)


# --------------------------------------------------------------------------------------------- loading


def find_spec(root: Path, explicit: str | None) -> Path:
    """The spec's path under root: `--spec`, else the first default place that holds anything (a
    directory or a FIFO there is reported as such, never passed over for the other name; the fast path
    picks the same one). Its path goes into every header comment and into the drift guard's shell
    command, so a `--spec` that would need quoting is refused, as is a spec outside the repository."""
    if explicit:
        rel = plain_spec_path(explicit)
        problem = spec_path_problem(rel)
        if problem:
            raise UserError.single(explicit, f"--spec {problem}",
                                   hint="name the spec by a plain path inside the repository, "
                                        "such as .github/multiarch.yaml")
        candidates: tuple[str, ...] = (rel,)
    else:
        candidates = SPEC_CANDIDATES
    for candidate in candidates:
        path = root / candidate
        if not os.path.lexists(path):
            continue
        try:
            inside = path.resolve().is_relative_to(root.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            inside = False
        if not inside:
            raise UserError.single(candidate, "the spec is outside the repository (through a symlink)",
                                   hint="keep the spec in the repository it describes")
        return path
    if explicit:
        raise UserError.single(explicit, "spec file not found", hint="check the --spec path")
    raise UserError.single(
        SPEC_CANDIDATES[0], "no spec found in this repository",
        hint=f"create {SPEC_CANDIDATES[0]} (`gen-workflows init` writes one) or pass --spec FILE",
    )


def read_document(path: Path, display: str) -> Document:
    raw = read_regular(path, display, MAX_BYTES, what="spec", size_hint="a spec is usually under 100 lines")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError.single(display, f"the spec is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                               line=line, column=column, hint="save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")
    _check_flow_depth(text, display)

    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a redefined anchor is legal YAML; its warning is noise on stderr
            tree = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        hint = ""
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        duplicate = re.search(r'found duplicate key "(.*?)" with value', message)
        if duplicate:
            message = f'duplicate key "{duplicate.group(1)}"'
            hint = "each key may appear once in a mapping"
        elif mark and text.split("\n")[mark.line][mark.column:mark.column + 1] == "\t":
            hint = "indent with spaces: YAML does not allow tabs for indentation"
        raise UserError.single(display, f"invalid YAML: {message}", line=line, column=col, hint=hint) from None
    except YAMLError as exc:  # reader errors (control characters) and the like carry no mark
        raise UserError.single(display, f"invalid YAML: {' '.join(str(exc).split())}", line=1, column=1) from None
    except RecursionError:
        raise UserError.single(display, "the spec nests too deeply", line=1, column=1) from None
    except TypeError:  # a list or mapping used as a key (`? [a]`) cannot be held by a Python dict
        raise UserError.single(display, "keys must be strings, not lists or mappings", line=1, column=1,
                               hint="quote the key") from None

    doc = Document(display, None)
    if tree is None:
        raise UserError.single(display, "the spec is empty", line=1, column=1,
                               hint="start with `version: 1` and an `images:` mapping")
    walker = _Walker(doc)
    doc.data = walker.plain(tree, (), 0)
    if walker.problems:
        raise UserError(walker.problems)
    return doc


def _check_flow_depth(text: str, display: str) -> None:
    """Refuse deep `[[[[` / `{{{{` nesting before the YAML scanner, which slows down quadratically on it."""
    depth, quote = 0, ""
    for index, char in enumerate(text):
        if quote:
            if char == quote or char == "\n":
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, index) + 1
                column = index - (text.rfind("\n", 0, index) + 1) + 1
                raise UserError.single(display, f"the spec nests deeper than {MAX_DEPTH} levels", line=line,
                                       column=column)
        elif char in "]}":
            depth = max(0, depth - 1)
        elif char == "\n" and depth == 0:
            quote = ""


class _Walker:
    """Turns ruamel's tree into plain data, recording positions, within size and depth bounds."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.visits = 0
        self.problems: list[Problem] = []

    def plain(self, node: Any, path: Path_, depth: int) -> Any:
        from ruamel.yaml.comments import CommentedMap, CommentedSeq
        from ruamel.yaml.scalarbool import ScalarBoolean

        self.visits += 1
        if self.visits > MAX_NODES:
            raise UserError.single(self.doc.file, f"the spec has more than {MAX_NODES} values",
                                   line=self.doc.at(path)[0], column=self.doc.at(path)[1],
                                   hint="YAML aliases that expand into many copies count every copy")
        if depth > MAX_DEPTH:
            raise UserError([self.doc.problem(path, f"the spec nests deeper than {MAX_DEPTH} levels")])
        if isinstance(node, CommentedMap):
            out: dict[str, Any] = {}
            for key in node:
                try:
                    kpos, vpos = node.lc.key(key), node.lc.value(key)
                except (KeyError, TypeError):  # a key merged in from an anchor (`<<: *base`) has no place here
                    kpos = vpos = (node.lc.line, node.lc.col)
                if not isinstance(key, str) or isinstance(key, bool):
                    self.problems.append(Problem(self.doc.file, kpos[0] + 1, kpos[1] + 1,
                                                 f"keys must be strings, got {_yaml_type(key)} {key!r}",
                                                 "quote the key"))
                    continue
                child = (*path, key)
                self.doc.keys[child] = (kpos[0] + 1, kpos[1] + 1)
                self.doc.values[child] = (vpos[0] + 1, vpos[1] + 1)
                out[key] = self.plain(node[key], child, depth + 1)
            return out
        if isinstance(node, CommentedSeq):
            items = []
            for i, item in enumerate(node):
                line, col = node.lc.item(i)
                self.doc.values[(*path, i)] = (line + 1, col + 1)
                items.append(self.plain(item, (*path, i), depth + 1))
            return items
        if isinstance(node, ScalarBoolean | bool):
            return bool(node)
        if isinstance(node, int | float):
            if isinstance(node, float) and node != node:  # NaN never equals a schema value
                return str(node)
            return int(node) if isinstance(node, int) else float(node)
        if isinstance(node, str):
            return str(node)
        if node is None:
            return None
        if isinstance(node, datetime.date):
            self.problems.append(self.doc.problem(path, "a date is not allowed here", "quote the value"))
            return str(node)
        self.problems.append(self.doc.problem(path, f"unsupported YAML value ({type(node).__name__})",
                                              "use plain strings, numbers, lists and mappings"))
        return None


def _yaml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return "a string"


# ------------------------------------------------------------------------------------------ validation


@cache
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path().read_text("utf-8"))
    return schema


def describe(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the spec"


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
            yield doc.problem(path, f"{where} must be {names}, got {_yaml_type(error.instance)}", hint)
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


@dataclass
class RawUnit:
    """An image or one of its variants as the spec wrote it: the image's keys overlaid with the
    variant's, and for each key the path it came from (for messages)."""

    image: str
    variant: str
    node: Path_  # the variant's mapping, or the image's
    values: dict[str, Any]
    origin: dict[str, Path_]

    @property
    def label(self) -> str:
        return f"{self.image}/{self.variant}" if self.variant else self.image

    def where(self, key: str) -> Path_:
        return self.origin.get(key, self.node)


def raw_units(data: dict[str, Any]) -> list[RawUnit]:
    units: list[RawUnit] = []
    images = data.get("images")
    if not isinstance(images, dict):
        return units
    for name, image in images.items():
        if not isinstance(image, dict):
            continue
        own = {k: v for k, v in image.items() if k != "variants"}
        origin: dict[str, Path_] = {k: ("images", name, k) for k in own}
        variants = image.get("variants")
        if not isinstance(variants, dict) or not variants:
            units.append(RawUnit(name, "", ("images", name), own, origin))
            continue
        for vname, variant in variants.items():
            if not isinstance(variant, dict):
                continue
            values, where = dict(own), dict(origin)
            for key, value in variant.items():
                if key == "build-args" and isinstance(value, dict) and isinstance(values.get(key), dict):
                    value = {**values[key], **value}
                if key == "runners" and isinstance(value, dict) and isinstance(values.get(key), dict):
                    value = {**values[key], **value}
                if key == "context" and "dockerfile" not in variant:
                    values.pop("dockerfile", None)  # a variant's own context brings its own default Dockerfile
                values[key] = value
                where[key] = ("images", name, "variants", vname, key)
            units.append(RawUnit(name, vname, ("images", name, "variants", vname), values, where))
    return units


@dataclass(frozen=True)
class Naming:
    repository: str
    prefix: str
    suffix: str
    primary: bool


def variant_naming(name: str, image: dict[str, Any]) -> dict[str, Naming]:
    """Where each variant's tags go. Variants sharing the image's repository are told apart by a tag
    suffix (or prefix); exactly one of them, the primary, gets `latest` and the bare tags."""
    repository = image.get("repository", name)
    variants = image.get("variants")
    if not isinstance(variants, dict) or not variants:
        return {"": Naming(str(repository), "", "", True)}
    declared = [v for v, raw in variants.items() if isinstance(raw, dict) and raw.get("primary") is True]
    plain = [v for v, raw in variants.items() if isinstance(raw, dict)
             and not {"repository", "suffix", "prefix"} & set(raw)]
    primary = declared[0] if declared else (plain[0] if plain else None)
    naming = {}
    for vname, raw in variants.items():
        raw = raw if isinstance(raw, dict) else {}
        if "repository" in raw:
            naming[vname] = Naming(str(raw["repository"]), str(raw.get("prefix", "")), str(raw.get("suffix", "")),
                                   "prefix" not in raw and "suffix" not in raw)
        elif vname == primary:
            naming[vname] = Naming(str(repository), "", "", True)
        else:
            prefix = str(raw.get("prefix", ""))
            suffix = str(raw.get("suffix", "" if prefix else f"-{vname}"))
            naming[vname] = Naming(str(repository), prefix, suffix, False)
    return naming


def primary_variant(name: str, image: dict[str, Any]) -> str:
    """The variant `from: <image>` means: the primary, else the first one."""
    naming = variant_naming(name, image)
    return next((v for v, n in naming.items() if n.primary), next(iter(naming)))


def semantic_problems(doc: Document, root: Path, *, schema_ok: bool) -> list[Problem]:
    """What the schema cannot say. Defensive: runs on data that may have failed the schema; the checks
    that need every value well-typed run only when the schema passed."""
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[Problem] = []
    problems += _expression_problems(doc, data, ())
    registries = data.get("registries")
    if isinstance(registries, list):
        problems += _registry_problems(doc, registries)
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        problems += _platform_duplicates(doc, defaults.get("platforms"), ("defaults", "platforms"))
    units = raw_units(data)
    checked_paths: set[tuple[str, str]] = set()
    for unit in units:
        if "platforms" in unit.values:
            problems += _platform_duplicates(doc, unit.values["platforms"], unit.where("platforms"))
        problems += _unit_path_problems(doc, root, unit, checked_paths)
    for unit in units:
        problems += _per_platform_problems(doc, root, unit, defaults if isinstance(defaults, dict) else {},
                                           schema_ok=schema_ok)
        problems += _test_problems(doc, unit)
    problems += _trigger_problems(doc, data.get("triggers"))
    images = data.get("images")
    for name, image in images.items() if isinstance(images, dict) else ():
        if isinstance(image, dict) and isinstance(image.get("paths"), list):
            problems += _paths_problems(doc, image["paths"], ("images", name, "paths"))
    if schema_ok:
        problems += _naming_problems(doc, data)
        problems += _base_problems(doc, data, units)
        problems += _registry_cache_problems(doc, data, units)
        problems += _pull_request_cache_problems(doc, data, units)
        problems += _primary_problems(doc, data)
    return problems


def _unit_path_problems(doc: Document, root: Path, unit: RawUnit, seen: set[tuple[str, str]]) -> list[Problem]:
    """The build context and Dockerfile exist inside the repository. A value inherited by several
    variants is reported once, where it is written."""
    context = unit.values.get("context", ".")
    dockerfile = unit.values.get("dockerfile")
    if not isinstance(context, str) or not isinstance(dockerfile, str | None):
        return []
    checks = [(context, True, "context" in unit.values, unit.where("context") if "context" in unit.values
               else unit.node)]
    default = str(PurePosixPath(context) / "Dockerfile")
    overrides = unit.values.get("per-platform")
    platforms = unit.values.get("platforms")
    own_files = isinstance(overrides, dict) and isinstance(platforms, list) and all(
        isinstance(o, dict) and "dockerfile" in o for o in overrides.values()) and len(overrides) >= len(platforms)
    if dockerfile is not None or not own_files:  # every platform naming its own file needs no default one
        checks.append((dockerfile or default, False, dockerfile is not None,
                       unit.where("dockerfile") if dockerfile is not None else unit.node))
    problems: list[Problem] = []
    for rel, want_dir, located, where in checks:
        if (rel, str(where)) in seen:
            continue
        seen.add((rel, str(where)))
        found = _path_problems(doc, root, rel, where, want_dir=want_dir, key=not located)
        problems += found
        if found and want_dir:
            break  # a Dockerfile under a bad context says nothing new
    return problems


def _per_platform_problems(doc: Document, root: Path, unit: RawUnit, defaults: dict[str, Any], *,
                           schema_ok: bool) -> list[Problem]:
    """Overrides name platforms the build has, their Dockerfiles exist, and what changes the build per
    platform is not asked of a strategy that builds every platform in one command."""
    overrides = unit.values.get("per-platform")
    if not isinstance(overrides, dict):
        return []
    problems: list[Problem] = []
    where = unit.where("per-platform")
    platforms = unit.values.get("platforms", defaults.get("platforms", ["linux/amd64", "linux/arm64"]))
    wanted = {parse_platform(p) for p in platforms if isinstance(p, str)} if isinstance(platforms, list) else set()
    for name, override in overrides.items():
        if not isinstance(override, dict):
            continue
        platform = parse_platform(name) if isinstance(name, str) else None
        if schema_ok and platform is not None and platform not in wanted:
            problems.append(doc.problem((*where, name), f'"{unit.label}" does not build {platform}, so it needs no '
                                        "override for it", key=True))
        if isinstance(override.get("dockerfile"), str):
            problems += _path_problems(doc, root, override["dockerfile"], (*where, name, "dockerfile"),
                                       want_dir=False, key=False)
        strategy = unit.values.get("strategy", defaults.get("strategy", "auto"))
        changes = sorted({"dockerfile", "build-args", "target"} & set(override))
        if changes and strategy in ("qemu", "buildx"):
            problems.append(doc.problem(
                (*where, name, changes[0]),
                f'"{unit.label}": a per-platform {changes[0]} needs one leg per platform, but strategy '
                f'{strategy} builds every platform in one command', "use strategy: native (or auto)", key=True))
    return problems


def _test_problems(doc: Document, unit: RawUnit) -> list[Problem]:
    """A smoke test's command given as one string is split as a shell would; it must split."""
    test = unit.values.get("test")
    command = test.get("command") if isinstance(test, dict) else None
    if not isinstance(command, str):
        return []
    where = (*unit.where("test"), "command")
    label = unit.label if "variants" in where else unit.image  # inherited: say it once, where it is written
    try:
        args = shlex.split(command)
    except ValueError as exc:  # an unbalanced quote, or a trailing backslash
        return [doc.problem(where, f'"{label}": the test command cannot be split into arguments '
                            f"({str(exc).lower()})", "pair every quote, or give the command as a list")]
    if not args:
        return [doc.problem(where, f'"{label}": the test command holds no argument',
                            "give at least one argument for `docker run <image>`")]
    return []


def _trigger_problems(doc: Document, triggers: Any) -> list[Problem]:
    """Patterns and schedules GitHub would refuse, refusing the whole workflow with them."""
    if not isinstance(triggers, dict):
        return []
    problems: list[Problem] = []
    for key in ("branches", "tags"):
        patterns = triggers.get(key)
        for i, pattern in enumerate(patterns if isinstance(patterns, list) else ()):
            problem = glob_problem(pattern, ref=True) if isinstance(pattern, str) else ""
            if problem:
                problems.append(doc.problem(("triggers", key, i), f"triggers.{key}[{i}] {json.dumps(pattern)}: "
                                            f"{problem}", "see GitHub's filter pattern cheat sheet"))
    schedules = triggers.get("schedule")
    for i, cron in enumerate(schedules if isinstance(schedules, list) else ()):
        problem = cron_problem(cron) if isinstance(cron, str) else ""
        if problem:
            problems.append(doc.problem(("triggers", "schedule", i), f"triggers.schedule[{i}] {json.dumps(cron)}: "
                                        f"{problem}", 'five cron fields in UTC, such as "0 3 * * 1"'))
    return problems


def _paths_problems(doc: Document, paths: list[Any], where: Path_) -> list[Problem]:
    """`paths:` filters GitHub would refuse or never match, and lists that would never run the workflow."""
    problems = []
    for i, pattern in enumerate(paths):
        problem = path_problem(pattern) if isinstance(pattern, str) else ""
        if problem:
            problems.append(doc.problem((*where, i), f"{describe(where)}[{i}] {json.dumps(pattern)}: {problem}",
                                        "see GitHub's filter pattern cheat sheet"))
    if paths and all(isinstance(p, str) and p.startswith("!") for p in paths):
        problems.append(doc.problem((*where, 0), f"{describe(where)}[0] {json.dumps(paths[0])}: every pattern of "
                                    f"{describe(where)} excludes, so no change would run the workflow",
                                    "start with the paths to include, such as src/**"))
    return problems


def _naming_problems(doc: Document, data: dict[str, Any]) -> list[Problem]:
    """No two builds may write the same tags: same repository, same prefix and suffix. Docker Hub
    repositories have one level under the namespace."""
    seen: dict[tuple[str, str, str], str] = {}
    problems = []
    dockerhub = any(r.get("type") == "dockerhub" for r in data.get("registries", []))
    for name, image in data["images"].items():
        for vname, naming in variant_naming(name, image).items():
            label = f"{name}/{vname}" if vname else name
            if dockerhub and "/" in naming.repository:
                raw = image.get("variants", {}).get(vname, {}) if vname else image
                where_repo: Path_ = ("images", name, "variants", vname) if vname else ("images", name)
                problems.append(doc.problem(
                    (*where_repo, "repository") if "repository" in raw else where_repo,
                    f'"{label}" pushes to repository "{naming.repository}", but Docker Hub repositories '
                    "cannot hold a '/'", "use a name such as " + naming.repository.replace("/", "-"),
                    key="repository" not in raw))
            ident = (naming.repository, naming.prefix, naming.suffix)
            if ident in seen:
                variant = image.get("variants", {}).get(vname, {}) if vname else image
                key = next((k for k in ("repository", "suffix", "prefix") if k in variant), None)
                where: Path_ = ("images", name, "variants", vname) if vname else ("images", name)
                decorated = f"{naming.prefix}<tag>{naming.suffix}"
                problems.append(doc.problem(
                    (*where, key) if key else where,
                    f'"{seen[ident]}" and "{label}" would write the same tags ({naming.repository}:{decorated})',
                    "give one of them another `repository:`, `suffix:` or `prefix:`", key=key is None))
            seen.setdefault(ident, label)
    return problems


def _primary_problems(doc: Document, data: dict[str, Any]) -> list[Problem]:
    problems = []
    for name, image in data["images"].items():
        variants = image.get("variants", {})
        primaries = [v for v, raw in variants.items() if raw.get("primary") is True]
        for extra in primaries[1:]:
            problems.append(doc.problem(("images", name, "variants", extra, "primary"),
                                        f'image "{name}" has more than one primary variant ("{primaries[0]}" first)',
                                        key=True))
        for vname in primaries:
            raw = variants[vname]
            for key in ("suffix", "prefix"):
                if key in raw:
                    problems.append(doc.problem(("images", name, "variants", vname, key),
                                                f'the primary variant "{name}/{vname}" takes no {key}',
                                                "the primary gets the bare tags and `latest`", key=True))
    return problems


def _base_ref(raw: Any) -> str:
    return str(raw["image"] if isinstance(raw, dict) else raw)


def _base_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """`from:` must name a build of this spec, and builds must not depend on each other in a circle."""
    labels = {u.label for u in units}
    images = data["images"]
    problems: list[Problem] = []
    edges: dict[str, str] = {}
    for unit in units:
        if "from" not in unit.values:
            continue
        target = _base_ref(unit.values["from"])
        path = unit.where("from")
        if isinstance(unit.values["from"], dict):
            path = (*path, "image")
        if "/" not in target and target in images:
            resolved = f"{target}/{primary_variant(target, images[target])}" if images[target].get("variants") \
                else target
        elif target in labels:
            resolved = target
        else:
            hint = did_you_mean(target, sorted(labels | set(images))) or f"images: {', '.join(sorted(images))}"
            problems.append(doc.problem(path, f'{unit.label}: "from: {target}" names no image or variant of this spec',
                                        hint))
            continue
        edges[unit.label] = resolved
    reported: set[frozenset[str]] = set()
    for start in edges:
        chain, current = [start], edges[start]
        while current in edges and current not in chain:
            chain.append(current)
            current = edges[current]
        if current == start and frozenset(chain) not in reported:
            reported.add(frozenset(chain))
            unit = next(u for u in units if u.label == start)
            problems.append(doc.problem(unit.where("from"), "builds depend on each other in a circle: "
                                        + " -> ".join([*chain, start]), key=True))
    return problems


def _registry_cache_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """A registry cache lives beside the image in the first registry, so its name must be known (and
    lower-case) when the workflow is written: GHCR's run-time owner namespace will not do."""
    registries = data.get("registries", [{"type": "ghcr"}])
    first = registries[0]
    if "namespace" in first or first.get("type") != "ghcr":
        return []
    defaults = data.get("defaults", {})
    places = {unit.where("cache") if "cache" in unit.values else ("defaults", "cache") for unit in units
              if unit.values.get("cache", defaults.get("cache")) == "registry"}
    return [doc.problem(place, 'cache "registry" needs a namespace on the first registry',
                        "set registries[0].namespace, or use cache: gha") for place in sorted(places, key=str)]


def _pull_request_cache_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """Pull requests never log in, so they cannot write a cache that lives in a registry."""
    defaults = data.get("defaults", {})
    problems = []
    for unit in units:
        cache = unit.values.get("cache", defaults.get("cache"))
        mode = unit.values.get("pull-request-cache", defaults.get("pull-request-cache"))
        if cache == "registry" and mode == "write":
            where = unit.where("pull-request-cache") if "pull-request-cache" in unit.values else \
                ("defaults", "pull-request-cache")
            problems.append(doc.problem(where, f'build "{unit.label}": pull requests cannot write a registry cache '
                                        "(they never log in)", "use pull-request-cache: read, or cache: gha"))
    return problems


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def _expression_problems(doc: Document, node: Any, path: Path_) -> list[Problem]:
    """Refuse `${{` (a spec value must never become a GitHub expression in the generated workflow) and
    line breaks or control characters (every value is one line: actions split inputs on lines, so a line
    break in a build argument would pass a second one)."""
    found: list[Problem] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _string_problems(doc, key, (*path, key), key=True)
            found += _expression_problems(doc, value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _expression_problems(doc, value, (*path, i))
    elif isinstance(node, str):
        found += _string_problems(doc, node, path, key=False)
    return found


def _string_problems(doc: Document, text: str, path: Path_, *, key: bool) -> list[Problem]:
    where = describe(path)
    if "${{" in text:
        return [doc.problem(path, f"{where}: GitHub expressions (`${{{{ ... }}}}`) are not allowed in the spec",
                            "spec values are data; the generator writes the expressions it needs", key=key)]
    if _CONTROL.search(text) or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        return [doc.problem(path, f"{where}: line breaks and control characters are not allowed",
                            "every value is a single line of text", key=key)]
    return []


# What each registry type needs, and what it must not be given.
_REGISTRY_NEEDS = {
    "ghcr": (), "dockerhub": ("namespace",), "ecr": ("host", "role", "region"), "gar": ("host", "namespace"),
    "acr": ("host",), "generic": ("host", "username-secret", "password-secret"),
}
_REGISTRY_ALLOWS = {
    "ghcr": {"type", "namespace"},
    "dockerhub": {"type", "namespace", "username-secret", "password-secret"},
    "ecr": {"type", "host", "namespace", "role", "region"},
    "gar": {"type", "host", "namespace", "password-secret"},
    "acr": {"type", "host", "namespace", "username-secret", "password-secret"},
    "generic": {"type", "host", "namespace", "username-secret", "password-secret"},
}
_REGISTRY_HOSTS = {
    "ecr": r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?",
    "gar": r"[a-z0-9-]+-docker\.pkg\.dev",
    "acr": r"[a-z0-9]+\.azurecr\.(io|cn|us)",
}


def _registry_problems(doc: Document, registries: list[Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for i, reg in enumerate(registries):
        if not isinstance(reg, dict) or not isinstance(reg.get("type"), str) or reg["type"] not in _REGISTRY_NEEDS:
            continue
        kind, path = reg["type"], ("registries", i)
        for key in _REGISTRY_NEEDS[kind]:
            if key not in reg:
                hint = "your Docker Hub user or organisation name" if kind == "dockerhub" else ""
                problems.append(doc.problem(path, f'registries[{i}] ({kind}) needs "{key}"', hint))
        for key in sorted(set(reg) - _REGISTRY_ALLOWS[kind]):
            if key in _REGISTRY_ALLOWS["generic"] | {"role", "region"}:
                problems.append(doc.problem((*path, key), f'registries[{i}]: "{key}" does not apply to {kind}',
                                            "ghcr logs in with GITHUB_TOKEN" if kind == "ghcr" else "", key=True))
        pattern = _REGISTRY_HOSTS.get(kind)
        if pattern and isinstance(reg.get("host"), str) and not re.fullmatch(pattern, reg["host"]):
            problems.append(doc.problem((*path, "host"), f'registries[{i}]: "{reg["host"]}" is not an {kind} host',
                                        {"ecr": "<account>.dkr.ecr.<region>.amazonaws.com",
                                         "gar": "<location>-docker.pkg.dev", "acr": "<name>.azurecr.io"}[kind]))
        host = str(reg.get("host", {"ghcr": "ghcr.io", "dockerhub": "docker.io"}.get(kind, "")))
        ident = (host, str(reg.get("namespace", "")))
        if ident in seen:
            problems.append(doc.problem(path, f"registries[{i}] repeats registries[{seen[ident]}]"))
        seen.setdefault(ident, i)
    return problems


def _platform_duplicates(doc: Document, platforms: Any, path: Path_) -> list[Problem]:
    if not isinstance(platforms, list):
        return []
    seen: dict[Platform, str] = {}
    problems = []
    for i, name in enumerate(platforms):
        platform = parse_platform(name) if isinstance(name, str) else None
        if platform is None:
            continue
        if platform in seen and seen[platform] != name:
            problems.append(doc.problem((*path, i), f'"{name}" and "{seen[platform]}" are the same platform '
                                        f"({platform})"))
        seen.setdefault(platform, name)
    return problems


def _path_problems(doc: Document, root: Path, rel: str, where: Path_, *, want_dir: bool, key: bool) -> list[Problem]:
    """`where` is the value that names the path, or (key=True) the image whose default it is."""
    what = "build context" if want_dir else "Dockerfile"
    pure = PurePosixPath(rel)
    if "\\" in rel or pure.is_absolute() or rel.startswith("~"):
        return [doc.problem(where, f'{what} "{rel}" must be a relative path with forward slashes',
                            "paths are relative to the repository root", key=key)]
    if ".." in pure.parts:
        normal = os.path.normpath(rel)
        if normal == ".." or normal.startswith("../"):
            return [doc.problem(where, f'{what} "{rel}" leaves the repository', key=key)]
    try:
        resolved = (root / rel).resolve()
        exists = resolved.is_dir() if want_dir else resolved.is_file()
    except (OSError, ValueError):  # NUL, a name too long, a name the file system cannot encode
        return [doc.problem(where, f"{what} {json.dumps(rel)} cannot be used as a path", key=key)]
    if not resolved.is_relative_to(root.resolve()):
        return [doc.problem(where, f'{what} "{rel}" resolves outside the repository (through a symlink)', key=key)]
    if not exists:
        default = " (the default: set `dockerfile:` if it lives elsewhere)" if key and not want_dir else ""
        return [doc.problem(where, f'{what} "{rel}" not found{default}', key=key)]
    note_checked(root / rel, "dir" if want_dir else "file")  # for the fast path's record of this run
    return []


# ------------------------------------------------------------------------------------------ building


_SHORTHAND_TAGS = {
    "branch": TagRule("ref", "branch"),
    "pr": TagRule("ref", "pr"),
    "sha": TagRule("sha"),
    "edge": TagRule("edge"),
    "schedule": TagRule("schedule", "nightly"),
    "version": TagRule("semver", "{{version}}"),
    "major.minor": TagRule("semver", "{{major}}.{{minor}}"),
    "major": TagRule("semver", "{{major}}"),
}


def _schema_default(*path: str) -> Any:
    node: Any = load_schema()
    for part in path:
        node = node[part]
    return node["default"]


def build_spec(doc: Document) -> Spec:
    """The Spec from a document that passed every check: defaults applied, variants resolved."""
    data: dict[str, Any] = doc.data
    defaults = data.get("defaults", {})

    def pick(values: dict[str, Any], key: str) -> Any:
        if key in values:
            return values[key]
        if key in defaults:
            return defaults[key]
        return _schema_default("$defs", "image", "properties", key)

    registries = tuple(_build_registry(r) for r in data.get("registries", _schema_default("properties", "registries")))
    trig = data.get("triggers", {})
    triggers = Triggers(
        branches=tuple(trig.get("branches", _schema_default("properties", "triggers", "properties", "branches"))),
        tags=tuple(trig.get("tags", _schema_default("properties", "triggers", "properties", "tags"))),
        pull_requests=trig.get("pull-requests", True),
        manual=trig.get("manual", True),
        schedule=tuple(trig.get("schedule", ())),
        self_hosted_pull_requests=trig.get("self-hosted-pull-requests", False),
    )
    global_runners = _runner_map(data.get("runners", {}))
    units: dict[str, list[Variant]] = {}
    for unit in raw_units(data):
        values = unit.values
        naming = variant_naming(unit.image, data["images"][unit.image])[unit.variant]
        context = _clean(values.get("context", "."))
        units.setdefault(unit.image, []).append(Variant(
            image=unit.image,
            name=unit.variant,
            repository=naming.repository,
            prefix=naming.prefix,
            suffix=naming.suffix,
            primary=naming.primary,
            context=context,
            dockerfile=_clean(values.get("dockerfile") or str(PurePosixPath(context) / "Dockerfile")),
            platforms=tuple(_platform(p) for p in pick(values, "platforms")),
            strategy=Requested(pick(values, "strategy")),
            cache=Cache(pick(values, "cache")),
            pull_request_cache=pick(values, "pull-request-cache"),
            provenance=pick(values, "provenance"),
            timeout_minutes=int(pick(values, "timeout-minutes")),
            build_args=tuple((k, _scalar_text(v)) for k, v in values.get("build-args", {}).items()),
            target=values.get("target", ""),
            tags=tuple(_tag_rule(r) for r in pick(values, "tags")),
            prerelease_floating=pick(values, "prerelease-floating"),
            sbom=pick(values, "sbom"),
            sign=pick(values, "sign"),
            attest=pick(values, "attest"),
            oci_artifacts=pick(values, "oci-artifact-attestations"),
            runners=tuple(sorted({**global_runners, **_runner_map(values.get("runners", {}))}.items())),
            base=_build_base(values.get("from"), data["images"]),
            per_platform=tuple(sorted((_platform(p), _override(o, context)) for p, o in
                                      values.get("per-platform", {}).items())),
            test=_smoke_test(values.get("test")),
            target_at=doc.at(unit.where("target")) if "target" in values else (0, 0),
        ))
    images = tuple(
        Image(name, tuple(units[name]), tuple(raw.get("paths", ())), bool(raw.get("per-arch-tags", False)),
              doc.at(("images", name), key=True))
        for name, raw in data["images"].items()
    )
    pins = {action: (row["release"], row["commit"]) for action, row in data.get("actions", {}).items()}
    return Spec(path=doc.file, version=data["version"], registries=registries, triggers=triggers, images=images,
                action_pins=pins, check_workflow=data.get("check-workflow", False))


def _override(raw: dict[str, Any], context: str) -> PlatformOverride:
    runner = raw.get("runner", ())
    return PlatformOverride(
        dockerfile=_clean(raw["dockerfile"]) if "dockerfile" in raw else "",
        build_args=tuple((k, _scalar_text(v)) for k, v in raw.get("build-args", {}).items()),
        target=raw.get("target", ""),
        runner=(runner,) if isinstance(runner, str) else tuple(runner),
    )


def _smoke_test(raw: dict[str, Any] | None) -> SmokeTest | None:
    if raw is None:
        return None
    command = raw["command"]
    return SmokeTest(
        command=tuple(shlex.split(command)) if isinstance(command, str) else tuple(command),
        # int(): the schema's "integer" admits 1.0, which the workflow would print as 1.0
        expect_exit=int(raw.get("expect-exit", 0)),
        expect_output=raw.get("expect-output", ""),
        timeout_seconds=int(raw.get("timeout-seconds", 120)),
    )


def _build_base(raw: Any, images: dict[str, Any]) -> BaseRef | None:
    if raw is None:
        return None
    options = raw if isinstance(raw, dict) else {"image": raw}
    image, _, variant = str(options["image"]).partition("/")
    if not variant and images[image].get("variants"):
        variant = primary_variant(image, images[image])
    context = options.get("build-context", "")
    return BaseRef(image, variant, "" if context else options.get("build-arg", "BASE_IMAGE"), context)


def _clean(rel: str) -> str:
    return os.path.normpath(rel).replace(os.sep, "/")


def _platform(name: str) -> Platform:
    platform = parse_platform(name)
    assert platform is not None, name  # the schema's enum admitted it
    return platform


def _runner_map(raw: dict[str, Any]) -> dict[Platform, tuple[str, ...]]:
    return {_platform(k): (v,) if isinstance(v, str) else tuple(v) for k, v in raw.items()}


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tag_rule(raw: str | dict[str, str]) -> TagRule:
    if isinstance(raw, str):
        return _SHORTHAND_TAGS[raw]
    ((kind, value),) = raw.items()
    return TagRule(kind, value)


_REGISTRY_DEFAULTS = {
    RegistryKind.DOCKERHUB: ("docker.io", "DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN"),
    RegistryKind.GAR: ("", "", "GAR_JSON_KEY"),
    RegistryKind.ACR: ("", "ACR_USERNAME", "ACR_PASSWORD"),
    RegistryKind.GENERIC: ("", "", ""),
}


def _build_registry(raw: dict[str, Any]) -> Registry:
    kind = RegistryKind(raw["type"])
    if kind is RegistryKind.GHCR:
        return Registry(kind, "ghcr.io", raw.get("namespace"))
    if kind is RegistryKind.ECR:
        return Registry(kind, raw["host"], raw.get("namespace", ""), role=raw["role"], region=raw["region"])
    host, user, password = _REGISTRY_DEFAULTS[kind]
    return Registry(kind, raw.get("host", host), raw.get("namespace", ""), raw.get("username-secret", user),
                    raw.get("password-secret", password))


def load_spec(root: Path, explicit: str | None = None) -> Spec:
    """Find, read, validate and build the spec; raises UserError with every problem found."""
    path = find_spec(root, explicit)
    display = path.relative_to(root).as_posix()  # find_spec keeps the spec under root
    return spec_from_document(read_document(path, display), root)


def spec_from_document(doc: Document, root: Path) -> Spec:
    """Validate a read document and build its Spec (`init` checks the spec it proposes with this)."""
    if not isinstance(doc.data, dict):
        raise UserError([doc.problem((), f"the spec must be a mapping, got {_yaml_type(doc.data)}",
                                     "start with `version: 1` and an `images:` mapping")])
    problems = schema_problems(doc)
    problems += semantic_problems(doc, root, schema_ok=not problems)
    if problems:
        raise UserError(problems)
    return build_spec(doc)
