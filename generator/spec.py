"""Load the spec with positions, validate it (schema and semantic checks), build the Spec."""

from __future__ import annotations

import datetime
import difflib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import Problem, UserError
from .model import Cache, Image, Registry, RegistryKind, Spec, Strategy, TagRule, Triggers
from .platforms import ACCEPTED, Platform, parse_platform
from .resources import schema_path

SPEC_CANDIDATES = (".github/multiarch.yaml", ".github/multiarch.yml")
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
    if explicit:
        path = root / explicit
        if not path.is_file():
            raise UserError.single(explicit, "spec file not found", hint="check the --spec path")
        return path
    for candidate in SPEC_CANDIDATES:
        if (root / candidate).is_file():
            return root / candidate
    raise UserError.single(
        SPEC_CANDIDATES[0], "no spec found in this repository",
        hint=f"create {SPEC_CANDIDATES[0]} (`gen-workflows init` writes one) or pass --spec FILE",
    )


def read_document(path: Path, display: str) -> Document:
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        raise UserError.single(display, f"the spec is {len(raw)} bytes; the limit is {MAX_BYTES}",
                               line=1, column=1, hint="a spec is usually under 100 lines")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise UserError.single(display, f"the spec is not UTF-8 (byte 0x{raw[exc.start]:02x})",
                               line=line, column=column, hint="save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")

    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML(typ="rt", pure=True)
    try:
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

    doc = Document(display, None)
    if tree is None:
        raise UserError.single(display, "the spec is empty", line=1, column=1,
                               hint="start with `version: 1` and an `images:` mapping")
    walker = _Walker(doc)
    doc.data = walker.plain(tree, (), 0)
    if walker.problems:
        raise UserError(walker.problems)
    return doc


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
                kpos = node.lc.key(key)
                vpos = node.lc.value(key)
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


def _did_you_mean(word: str, choices: list[str]) -> str:
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
            specific = [e for e in error.context if e.validator != "type"]
            yield from convert(best_match(specific or error.context))
            return
        if kind == "additionalProperties" and isinstance(error.instance, dict):
            allowed = sorted(schema.get("properties", {}))
            for extra in sorted(set(error.instance) - set(allowed)):
                hint = _did_you_mean(extra, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else "")
                yield doc.problem((*path, extra), f'unknown key "{extra}" in {where}', hint, key=True)
            return
        if "propertyNames" in error.schema_path and isinstance(error.instance, str):
            # A key, not a value, is wrong: point at the key itself.
            name, key_path = error.instance, (*path, error.instance)
            if kind == "enum":
                hint = _did_you_mean(name, list(ACCEPTED)) or "see `gen-workflows schema` for the platform names"
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
                hint = _did_you_mean(str(error.instance), choices) or \
                    "known platforms: " + ", ".join(c for c in choices if c.startswith("linux/"))
                yield doc.problem(path, f'"{error.instance}" is not a known platform ({where})', hint)
            else:
                hint = _did_you_mean(str(error.instance), choices)
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


def semantic_problems(doc: Document, root: Path) -> list[Problem]:
    """What the schema cannot say. Defensive: runs on data that may have failed the schema."""
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[Problem] = []
    problems += _expression_problems(doc, data, ())
    registries = data.get("registries")
    if isinstance(registries, list):
        problems += _registry_problems(doc, registries)
    images = data.get("images")
    if not isinstance(images, dict):
        return problems
    seen_repositories: dict[str, str] = {}
    for name, image in images.items():
        if not isinstance(image, dict):
            continue
        base = ("images", name)
        problems += _platform_duplicates(doc, image.get("platforms"), (*base, "platforms"))
        context = image.get("context", ".")
        if isinstance(context, str):
            context_problems = _path_problems(doc, root, context, (*base, "context"), want_dir=True,
                                              located="context" in image)
            problems += context_problems
            dockerfile = image.get("dockerfile")
            default_file = str(PurePosixPath(context) / "Dockerfile")
            if isinstance(dockerfile, str) or (dockerfile is None and not context_problems):
                problems += _path_problems(doc, root, dockerfile or default_file, (*base, "dockerfile"),
                                           want_dir=False, located=dockerfile is not None)
        repository = image.get("repository", name)
        if isinstance(repository, str):
            if repository in seen_repositories:
                problems.append(doc.problem(
                    (*base, "repository") if "repository" in image else base,
                    f'images "{seen_repositories[repository]}" and "{name}" push to the same repository '
                    f'"{repository}", so their tags would overwrite each other',
                    "give one of them another `repository:`", key="repository" not in image))
            seen_repositories.setdefault(repository, name)
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        problems += _platform_duplicates(doc, defaults.get("platforms"), ("defaults", "platforms"))
    problems += _registry_cache_problems(doc, data, images)
    problems += _pull_request_cache_problems(doc, data, images)
    return problems


def _registry_cache_problems(doc: Document, data: dict[str, Any], images: dict[str, Any]) -> list[Problem]:
    """A registry cache lives beside the image in the first registry, so its name must be known (and
    lower-case) when the workflow is written: GHCR's run-time owner namespace will not do."""
    registries = data.get("registries", [{"type": "ghcr"}])
    first = registries[0] if isinstance(registries, list) and registries else None
    if not isinstance(first, dict) or "namespace" in first:
        return []
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    places: list[Path_] = [("images", name, "cache") for name, image in images.items()
                           if isinstance(image, dict) and image.get("cache") == "registry"]
    if defaults.get("cache") == "registry" and any(isinstance(i, dict) and "cache" not in i for i in images.values()):
        places.append(("defaults", "cache"))
    return [doc.problem(place, 'cache "registry" needs a namespace on the first registry',
                        "set registries[0].namespace, or use cache: gha") for place in places]


def _pull_request_cache_problems(doc: Document, data: dict[str, Any], images: dict[str, Any]) -> list[Problem]:
    """Pull requests never log in, so they cannot write a cache that lives in a registry."""
    defaults = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    problems = []
    for name, image in images.items():
        if not isinstance(image, dict):
            continue
        cache = image.get("cache", defaults.get("cache"))
        mode = image.get("pull-request-cache", defaults.get("pull-request-cache"))
        if cache == "registry" and mode == "write":
            where = ("images", name, "pull-request-cache") if "pull-request-cache" in image else \
                ("defaults", "pull-request-cache")
            problems.append(doc.problem(where, f'image "{name}": pull requests cannot write a registry cache '
                                        "(they never log in)", "use pull-request-cache: read, or cache: gha"))
    return problems


def _expression_problems(doc: Document, node: Any, path: Path_) -> list[Problem]:
    """Refuse `${{`: a spec value must never become a GitHub expression in the generated workflow."""
    found: list[Problem] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if "${{" in key:
                found.append(doc.problem((*path, key), f"{describe((*path, key))}: GitHub expressions are not "
                                         "allowed in the spec", key=True))
            found += _expression_problems(doc, value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _expression_problems(doc, value, (*path, i))
    elif isinstance(node, str) and "${{" in node:
        found.append(doc.problem(path, f"{describe(path)}: GitHub expressions (`${{{{ ... }}}}`) are not allowed "
                                 "in the spec", "spec values are data; the generator writes the expressions it needs"))
    return found


def _registry_problems(doc: Document, registries: list[Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, str], int] = {}
    for i, reg in enumerate(registries):
        if not isinstance(reg, dict) or not isinstance(reg.get("type"), str):
            continue
        kind, path = reg["type"], ("registries", i)
        if kind == "generic":
            for key in ("host", "namespace", "username-secret", "password-secret"):
                if key not in reg:
                    problems.append(doc.problem(path, f'registries[{i}] (generic) needs "{key}"'))
        if kind == "dockerhub" and "namespace" not in reg:
            problems.append(doc.problem(path, f'registries[{i}] (dockerhub) needs "namespace"',
                                        "your Docker Hub user or organisation name"))
        if kind in ("ghcr", "dockerhub") and "host" in reg:
            problems.append(doc.problem((*path, "host"), f'registries[{i}]: "host" is only for generic registries',
                                        key=True))
        if kind == "ghcr":
            for key in ("username-secret", "password-secret"):
                if key in reg:
                    problems.append(doc.problem((*path, key), f'registries[{i}]: ghcr logs in with GITHUB_TOKEN; '
                                                f'"{key}" is not used', key=True))
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


def _path_problems(doc: Document, root: Path, rel: str, path: Path_, *, want_dir: bool,
                   located: bool) -> list[Problem]:
    what = "build context" if want_dir else "Dockerfile"
    where = path if located else path[:-1]
    pure = PurePosixPath(rel)
    if "\\" in rel or pure.is_absolute() or rel.startswith("~"):
        return [doc.problem(where, f'{what} "{rel}" must be a relative path with forward slashes',
                            "paths are relative to the repository root", key=not located)]
    if ".." in pure.parts:
        normal = os.path.normpath(rel)
        if normal == ".." or normal.startswith("../"):
            return [doc.problem(where, f'{what} "{rel}" leaves the repository', key=not located)]
    target = root / rel
    resolved = target.resolve()
    if not resolved.is_relative_to(root.resolve()):
        return [doc.problem(where, f'{what} "{rel}" resolves outside the repository (through a symlink)',
                            key=not located)]
    exists = resolved.is_dir() if want_dir else resolved.is_file()
    if not exists:
        default = "" if located else " (the default: set `dockerfile:` if it lives elsewhere)"
        return [doc.problem(where, f'{what} "{rel}" not found{default}', key=not located)]
    return []


# ------------------------------------------------------------------------------------------ building


_SHORTHAND_TAGS = {
    "branch": TagRule("ref", "branch"),
    "sha": TagRule("sha"),
    "edge": TagRule("edge"),
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
    data: dict[str, Any] = doc.data
    defaults = data.get("defaults", {})
    image_schema = ("$defs", "image", "properties")

    def pick(image: dict[str, Any], key: str) -> Any:
        if key in image:
            return image[key]
        if key in defaults:
            return defaults[key]
        return _schema_default(*image_schema, key)

    registries = tuple(_build_registry(r) for r in data.get("registries", _schema_default("properties", "registries")))
    trig = data.get("triggers", {})
    trig_schema = ("properties", "triggers", "properties")
    triggers = Triggers(
        branches=tuple(trig.get("branches", _schema_default(*trig_schema, "branches"))),
        tags=tuple(trig.get("tags", _schema_default(*trig_schema, "tags"))),
        pull_requests=trig.get("pull-requests", True),
        manual=trig.get("manual", True),
    )
    global_runners = data.get("runners", {})
    images = []
    for name, image in data["images"].items():
        context = _clean(image.get("context", "."))
        runners = {**_runner_map(global_runners), **_runner_map(image.get("runners", {}))}
        images.append(Image(
            name=name,
            repository=image.get("repository", name),
            context=context,
            dockerfile=_clean(image.get("dockerfile") or str(PurePosixPath(context) / "Dockerfile")),
            platforms=tuple(_platform(p) for p in pick(image, "platforms")),
            strategy=Strategy(pick(image, "strategy")),
            cache=Cache(pick(image, "cache")),
            pull_request_cache=pick(image, "pull-request-cache"),
            provenance=pick(image, "provenance"),
            timeout_minutes=pick(image, "timeout-minutes"),
            build_args=tuple((k, _scalar_text(v)) for k, v in image.get("build-args", {}).items()),
            target=image.get("target", ""),
            tags=tuple(_tag_rule(r) for r in pick(image, "tags")),
            runners=tuple(sorted(runners.items())),
        ))
    return Spec(path=doc.file, version=data["version"], registries=registries, triggers=triggers,
                images=tuple(images))


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


def _build_registry(raw: dict[str, Any]) -> Registry:
    kind = RegistryKind(raw["type"])
    if kind is RegistryKind.GHCR:
        return Registry(kind, "ghcr.io", raw.get("namespace"))
    if kind is RegistryKind.DOCKERHUB:
        return Registry(kind, "docker.io", raw["namespace"], raw.get("username-secret", "DOCKERHUB_USERNAME"),
                        raw.get("password-secret", "DOCKERHUB_TOKEN"))
    return Registry(kind, raw["host"], raw["namespace"], raw["username-secret"], raw["password-secret"])


def load_spec(root: Path, explicit: str | None = None) -> Spec:
    """Find, read, validate and build the spec; raises UserError with every problem found."""
    path = find_spec(root, explicit)
    try:
        display = path.relative_to(root).as_posix()
    except ValueError:
        display = str(path)
    doc = read_document(path, display)
    problems = schema_problems(doc) if isinstance(doc.data, dict) else [
        doc.problem((), f"the spec must be a mapping, got {_yaml_type(doc.data)}",
                    "start with `version: 1` and an `images:` mapping")]
    problems += semantic_problems(doc, root)
    if problems:
        raise UserError(problems)
    return build_spec(doc)
