"""The checks a schema cannot express: paths that exist inside the repository, registries complete for
their type, filters and schedules GitHub would accept, tags no two builds share, bases without cycles,
runs that would write no tag (tag_triggers.py), cache keys of their own (cache_keys.py), and no spec value
that could become a GitHub expression or a second line."""

from __future__ import annotations

import json
import os
import re
import shlex
import unicodedata
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import Problem
from ..filters import cron_problem, glob_problem, path_problem
from ..platforms import Platform, parse_platform
from ..source import note_checked
from .bases import base_problems
from .cache_keys import cache_key_problems
from .defaults import IMAGE, build_setting, default_dockerfile, setting, trigger_tags
from .document import Document, Path_, describe
from .registries import registry_problems
from .schema import did_you_mean
from .tag_triggers import untagged_trigger_problems
from .units import RawUnit, raw_units, variant_naming


def semantic_problems(doc: Document, root: Path, *, schema_ok: bool) -> list[Problem]:
    """What the schema cannot say. Defensive: runs on data that may have failed the schema; the checks
    that need every value well-typed run only when the schema passed."""
    data = doc.data if isinstance(doc.data, dict) else {}
    problems: list[Problem] = []
    problems += _expression_problems(doc, data, ())
    registries = data.get("registries")
    if isinstance(registries, list):
        problems += registry_problems(doc, registries)
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        problems += _platform_duplicates(doc, defaults.get("platforms"), ("defaults", "platforms"))
        if isinstance(defaults.get("paths"), list):
            problems += _paths_problems(doc, defaults["paths"], ("defaults", "paths"))
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
        problems += _tag_rule_problems(doc, data, units)
        problems += _naming_problems(doc, data)
        problems += base_problems(doc, data, units)
        problems += _registry_cache_problems(doc, data, units)
        problems += _pull_request_cache_problems(doc, data, units)
        problems += cache_key_problems(doc, data, units)
        problems += _primary_problems(doc, data)
        problems += untagged_trigger_problems(doc, data, units)
        problems += _release_twice_problems(doc, setting(data, "triggers"))
    return problems


def _release_twice_problems(doc: Document, triggers: dict[str, Any]) -> list[Problem]:
    """Publishing a GitHub release pushes its tag (or its tag was pushed before): with `tags:` patterns too,
    the tag push and the release each build and tag it, two runs racing for the same tags."""
    tags = trigger_tags(triggers)
    if not setting(triggers, "releases", "triggers") or not any(not t.startswith("!") for t in tags):
        return []
    named = ", ".join(json.dumps(t) for t in tags)
    return [doc.problem(("triggers", "releases"), f"triggers.releases beside triggers.tags {named}: every release "
                        "whose tag these match builds twice, once for the tag push and once for the release",
                        "drop `tags:` (or set it to []) to publish from releases only, or drop `releases: true` to "
                        "publish from tag pushes")]


def _unit_path_problems(doc: Document, root: Path, unit: RawUnit, seen: set[tuple[str, str]]) -> list[Problem]:
    """The build context and Dockerfile exist inside the repository. A value inherited by several
    variants is reported once, where it is written."""
    context = setting(unit.values, "context", IMAGE)
    dockerfile = unit.values.get("dockerfile")
    if not isinstance(context, str) or not isinstance(dockerfile, str | None):
        return []
    checks = [(context, True, "context" in unit.values, unit.where("context") if "context" in unit.values
               else unit.node)]
    default = default_dockerfile(context)
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
    platforms = build_setting(unit.values, defaults, "platforms")
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
        strategy = build_setting(unit.values, defaults, "strategy")
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


_TAG_KINDS = ("semver", "raw", "schedule", "sha", "date")


def _tag_rule_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """A tag rule mapping names one kind (the schema allows two keys, for `on:`), and `on:` goes with `raw`
    or `date` only. Each list is checked once, where it is written."""
    lists: dict[Path_, list[Any]] = {}
    defaults = data.get("defaults")
    if isinstance(defaults, dict) and "tags" in defaults:
        lists[("defaults", "tags")] = defaults["tags"]
    for unit in units:
        if "tags" in unit.values:
            lists.setdefault(unit.where("tags"), unit.values["tags"])
    problems = []
    for where, rules in lists.items():
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            kinds = [k for k in rule if k in _TAG_KINDS]
            if len(kinds) != 1:
                problems.append(doc.problem(
                    (*where, i), f"{describe((*where, i))} names {' and '.join(kinds) or 'no kind of tag'}: "
                    "a tag rule is one of " + ", ".join(_TAG_KINDS),
                    "write each rule as its own list item" if kinds else "add raw: <tag> or date: YYYYMMDD"))
            elif "on" in rule and kinds[0] not in ("raw", "date"):
                problems.append(doc.problem(
                    (*where, i, "on"), f"{describe((*where, i))}: `on:` applies to raw and date rules, not {kinds[0]}",
                    "remove `on:`; for a fixed tag on one kind of run write raw: <tag> with on:", key=True))
    return problems


def _naming_problems(doc: Document, data: dict[str, Any]) -> list[Problem]:
    """No two builds may write the same tags: same repository, same prefix and suffix. Docker Hub
    repositories have one level under the namespace."""
    seen: dict[tuple[str, str, str], str] = {}
    problems = []
    registries = setting(data, "registries")
    # Docker Hub's names for the builds' repositories (its `repositories:` renames some).
    hubs = [r.get("repositories", {}) for r in registries if r.get("type") == "dockerhub"]
    repositories: set[str] = set()
    for name, image in data["images"].items():
        for vname, naming in variant_naming(name, image).items():
            label = f"{name}/{vname}" if vname else name
            repositories.add(naming.repository)
            # (a name a hub's `repositories:` gives it is checked there)
            if "/" in naming.repository and any(naming.repository not in hub for hub in hubs):
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
    for i, reg in enumerate(registries):
        for repository, there in reg.get("repositories", {}).items():
            where_key: Path_ = ("registries", i, "repositories", repository)
            if repository not in repositories:
                problems.append(doc.problem(where_key,
                                            f'registries[{i}].repositories: no build pushes to "{repository}"',
                                            did_you_mean(repository, sorted(repositories))
                                            or "name a build's repository: " + ", ".join(sorted(repositories)),
                                            key=True))
            elif reg.get("type") == "dockerhub" and "/" in there:
                problems.append(doc.problem(where_key, f"registries[{i}].repositories: Docker Hub repositories "
                                            f"cannot hold a '/' (\"{there}\")",
                                            "use a name such as " + there.replace("/", "-")))
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


def _registry_cache_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """A registry cache lives beside the image in the first registry, so its name must be known (and
    lower-case) when the workflow is written: GHCR's run-time owner namespace will not do."""
    registries = setting(data, "registries")
    first = registries[0]
    if "namespace" in first or first.get("type") != "ghcr":
        return []
    defaults = setting(data, "defaults")
    places = {unit.where("cache") if "cache" in unit.values else ("defaults", "cache") for unit in units
              if build_setting(unit.values, defaults, "cache") == "registry"}
    return [doc.problem(place, 'cache "registry" needs a namespace on the first registry',
                        "set registries[0].namespace, or use cache: gha") for place in sorted(places, key=str)]


def _pull_request_cache_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """Pull requests never log in, so they cannot write a cache that lives in a registry."""
    defaults = setting(data, "defaults")
    problems = []
    for unit in units:
        cache = build_setting(unit.values, defaults, "cache")
        mode = build_setting(unit.values, defaults, "pull-request-cache")
        if (cache == "registry" or isinstance(cache, dict)) and mode == "write":
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
    # Characters that change how a value reads without being seen, Unicode's format characters (Cf): the
    # bidirectional controls (a reviewer reads the text reordered: "Trojan Source"), zero-width ones (two names
    # that look the same, are not), the tag characters U+E0020-E007F (hidden ASCII) ... ASCII holds none.
    if not text.isascii() and (found := next((c for c in text if unicodedata.category(c) == "Cf"), None)):
        return [doc.problem(path, f"{where}: invisible character U+{ord(found):04X} (bidirectional control, "
                            "zero width or another format character)",
                            "it makes the value read differently from what it is: type it again without it", key=key)]
    return []


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
    if os.path.normpath(rel).startswith("-") or rel != rel.strip():
        # buildx takes the context as its one positional argument, so "-x" would read as an option; and
        # the actions trim their inputs, so " app" would build another directory than the one checked.
        return [doc.problem(where, f'{describe(where)}: {what} {json.dumps(rel)} starts with "-" or has spaces at '
                                   "either end",
                            "rename the directory or file: the build tools would read it otherwise", key=key)]
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
