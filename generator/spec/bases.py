"""`from:`: the inputs a build starts from. Each names a build of this spec that builds every platform the
build does, two inputs of one build never share an argument or a context, and no build depends on itself."""

from __future__ import annotations

from typing import Any

from ..errors import Problem
from ..platforms import Platform, parse_platform
from .defaults import IMAGE, build_setting, setting
from .document import Document, Path_
from .schema import did_you_mean
from .units import RawUnit, primary_variant


def _inputs(raw: Any) -> list[tuple[int | None, Any]]:
    """A build's `from:` as (index in the list, or None for the one-input form, the input)."""
    return list(enumerate(raw)) if isinstance(raw, list) else [(None, raw)]


def base_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """Every input `from:` names is a build of this spec that builds each platform the build does; two inputs
    of one build never share an argument or a context (the second would hide the first); and builds must not
    depend on each other in a circle."""
    labels = {u.label: u for u in units}
    images = data["images"]
    defaults = setting(data, "defaults")
    problems: list[Problem] = []
    edges: dict[str, list[str]] = {}

    def platforms(unit: RawUnit) -> list[Platform]:
        return [p for p in map(parse_platform, build_setting(unit.values, defaults, "platforms")) if p is not None]

    for unit in units:
        if "from" not in unit.values:
            continue
        taken: dict[tuple[str, str], str] = {}
        layouts: dict[str, str] = {}  # the build context each input is on runs that publish nothing
        for index, raw in _inputs(unit.values["from"]):
            path = unit.where("from") if index is None else (*unit.where("from"), index)
            target = str(raw["image"] if isinstance(raw, dict) else raw)
            at = (*path, "image") if isinstance(raw, dict) else path
            if "/" not in target and target in images:
                resolved = f"{target}/{primary_variant(target, images[target])}" if images[target].get("variants") \
                    else target
            elif target in labels:
                resolved = target
            else:
                hint = did_you_mean(target, sorted(set(labels) | set(images))) or f"images: {', '.join(sorted(images))}"
                problems.append(doc.problem(
                    at, f'{unit.label}: "from: {target}" names no image or variant of this spec', hint))
                continue
            options = raw if isinstance(raw, dict) else {}
            kind = "build-context" if "build-context" in options else "build-arg"
            name = str(options.get(kind) or setting(options, "build-arg", f"{IMAGE}.from"))
            if (kind, name) in taken:
                where = (*path, kind) if kind in options else at
                problems.append(doc.problem(where, f'{unit.label}: "{target}" and "{taken[kind, name]}" are both '
                                            f"handed over as the {kind} {name}, so one would hide the other",
                                            f"give each input its own `{kind}:`" if kind == "build-context" else
                                            "give each input its own `build-arg:` (or a `build-context:`), and "
                                            "the Dockerfile an ARG for each"))
            elif (layout := _layout_context(kind, name)) in layouts:
                problems.append(doc.problem((*path, kind) if kind in options else at,
                                            f'{unit.label}: "{target}" and "{layouts[layout]}" would both be handed '
                                            f"over as the build context {layout} on runs that publish nothing",
                                            "an input of a build argument arrives there as this-run-<argument, "
                                            "lower-cased, '_' as '-'>-layout: rename one of them"))
            given = [(where, args) for where, args in _build_args(unit) if name in args]
            if kind == "build-arg" and given:
                problems.append(doc.problem((*given[0][0], name), f'{unit.label}: the build argument {name} is set '
                                            f'here and is also how "{target}" is handed over (from:), which wins',
                                            f"remove {name} here, or hand the input over as another `build-arg:`",
                                            key=True))
            taken.setdefault((kind, name), target)
            layouts.setdefault(_layout_context(kind, name), target)
            if resolved == unit.label:
                edges.setdefault(unit.label, []).append(resolved)
                continue
            missing = [p.name for p in platforms(unit) if p not in platforms(labels[resolved])]
            if missing:
                problems.append(doc.problem(at, f'{unit.label} builds {", ".join(missing)}, which its input '
                                            f'"{resolved}" does not build',
                                            f'add {", ".join(missing)} to the platforms of {resolved}, or leave '
                                            f"{'them' if len(missing) > 1 else 'it'} out of {unit.label}'s"))
            edges.setdefault(unit.label, []).append(resolved)
    reported: set[frozenset[str]] = set()
    for start in edges:
        for chain in _circles(edges, start):
            if frozenset(chain) not in reported:
                reported.add(frozenset(chain))
                problems.append(doc.problem(labels[start].where("from"), "builds depend on each other in a circle: "
                                            + " -> ".join([*chain, start]), key=True))
    return problems


def _build_args(unit: RawUnit) -> list[tuple[Path_, dict[str, Any]]]:
    """The build arguments the build sets, with where: its own (its image's) and each platform's."""
    found = [(unit.where("build-args"), unit.values.get("build-args", {}))]
    overrides = unit.values.get("per-platform", {})
    found += [((*unit.where("per-platform"), platform, "build-args"), override["build-args"])
              for platform, override in overrides.items() if "build-args" in override]
    return found


def _layout_context(kind: str, name: str) -> str:
    """The named build context an input is on runs that publish nothing (templates/scripts/resolve-base.sh)."""
    return name if kind == "build-context" else f"this-run-{name.lower().replace('_', '-')}-layout"


def _circles(edges: dict[str, list[str]], start: str) -> list[list[str]]:
    """The shortest path from `start` back to itself, if any (breadth first: linear, whatever the spec)."""
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for current in frontier:
            for child in edges.get(current, []):
                if child == start:
                    chain = [current]
                    while chain[-1] != start:
                        chain.append(parent[chain[-1]])
                    return [chain[::-1]]
                if child not in parent:
                    parent[child] = current
                    following.append(child)
        frontier = following
    return []
