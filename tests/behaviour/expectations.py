"""What a sample's spec promises, as the checks need it: every build (image, variant) with its
repositories, tag affixes, platforms, what each platform is built from, and the build it starts from.

Read from the spec through the spec loader (the tool's input side: defaults applied, aliases
normalised), never from the generated workflows, whose behaviour is what the checks judge.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.spec import load_spec

from . import model

PREVIOUS = "1.3.0"  # the release the seeded registry holds


@dataclass(frozen=True)
class Build:
    label: str  # image or image/variant
    repos: tuple[str, ...]  # canonical repository names, one per registry
    prefix: str
    suffix: str
    platforms: tuple[str, ...]
    recipes: dict[str, tuple[str, str, str, tuple[tuple[str, str], ...]]]  # platform -> context, file, target, args
    inputs: tuple[tuple[str, str, str], ...]  # the builds it starts from: (label, build argument, build context)
    rules: tuple[tuple[str, str], ...]  # tag rules (kind, value)
    test: bool
    sign: bool
    attest: bool
    per_arch_tags: bool
    prerelease_floating: bool

    def floating(self) -> dict[str, bool]:
        """Which floating tags a release moves: latest always; MAJOR and MAJOR.MINOR when a rule asks."""
        semver = {value for kind, value in self.rules if kind == "semver"}
        return {"latest": True, "major": "{{major}}" in semver, "minor": "{{major}}.{{minor}}" in semver}

    def tag(self, name: str) -> str:
        return f"{self.prefix}{name}{self.suffix}"


def _clean(path: str) -> str:
    return os.path.normpath(path or ".").replace(os.sep, "/")


def load(sample: Path, owner: str) -> dict[str, Build]:
    spec = load_spec(sample)
    builds = {}
    for image in spec.images:
        for v in image.variants:
            # A registry without a namespace (GHCR's default) means the repository's owner.
            repos = tuple(model.canonical_repo("/".join(
                part for part in (r.host, owner if r.namespace is None else r.namespace, r.repository(v.repository))
                if part))
                for r in spec.registries)
            recipes = {}
            for platform in v.platforms:
                override = v.override(platform)
                args = dict(v.build_args)
                args.update(dict(override.build_args))
                recipes[str(platform)] = (_clean(v.context), _clean(override.dockerfile or v.dockerfile),
                                          override.target or v.target, tuple(sorted(args.items())))
            builds[v.label] = Build(
                label=v.label, repos=repos, prefix=v.prefix, suffix=v.suffix,
                platforms=tuple(str(p) for p in v.platforms), recipes=recipes,
                inputs=tuple((b.label, b.build_arg, b.build_context) for b in v.bases),
                rules=tuple((r.kind, r.value) for r in v.tags), test=v.test is not None, sign=v.sign,
                attest=v.attest, per_arch_tags=image.per_arch_tags, prerelease_floating=v.prerelease_floating)
    return builds


def dependents(builds: dict[str, Build], label: str) -> set[str]:
    """Every build that starts, directly or not, from `label`."""
    out: set[str] = set()
    frontier = {label}
    while frontier:
        frontier = {b.label for b in builds.values() if any(i[0] in frontier for i in b.inputs)} - out
        out |= frontier
    return out


def match(builds: dict[str, Build], record: dict[str, Any],
          base_of: Callable[[dict[str, Any], str], str] | None = None) -> list[Build]:
    """The builds of the spec a build-push-action call builds: same context, Dockerfile, target and
    arguments (the base's argument aside) for every platform it builds, pushing only to their
    repositories; where that leaves several (runtime and runtime-cuda differ only in their base),
    the one whose inputs are the builds what it was given names (base_of: record, argument or context -> label)."""
    found = []
    args = dict(record.get("build_args", {}))
    names = {model.split_ref(n)[0] for e in record.get("exporters", []) if e["type"] == "image" for n in e["names"]}
    for b in builds.values():
        own = {k: v for k, v in args.items() if k not in {i[1] for i in b.inputs}}
        ok = all(p in b.recipes and b.recipes[p] == (_clean(record["context"]), _clean(record["file"]),
                                                     record["target"], tuple(sorted(own.items())))
                 for p in record["platforms"])
        if ok and (not names or names <= set(b.repos)):
            found.append(b)
    if len(found) > 1 and base_of is not None:
        found = [b for b in found if b.inputs and all(base_of(record, arg or context) == label
                                                      for label, arg, context in b.inputs)]
    return found


def given(record: dict[str, Any], name: str) -> dict[str, Any]:
    """What a build record was given as the input named `name` (its build argument or context), as the
    build-push-action model resolved it: {kind, name, ref, source: registry | oci-layout, digest | builds}."""
    return next((b for b in record.get("bases") or [] if b["name"] == name), {})


def seed(builds: dict[str, Build]) -> dict[str, Any]:
    """The registry after the previous release (v1.3.0 and a main push): every build's usual tags on
    images no build of this run made."""
    reg = model.empty_registry()
    for b in builds.values():
        images = [{"mediaType": model.MANIFEST, "build": f"seed:{b.label}", "platform": model.platform_dict(p),
                   "config": {**model.platform_dict(p), "build": f"seed:{b.label}"}} for p in b.platforms]
        index = {"mediaType": model.INDEX, "schemaVersion": 2, "manifests": [
            {"mediaType": model.MANIFEST, "digest": model.digest_of(i), "platform": i["platform"]} for i in images]}
        for repo in b.repos:
            store = reg["repos"].setdefault(repo, {"manifests": {}, "tags": {}})
            for i in images:
                store["manifests"][model.digest_of(i)] = i
            digest = model.digest_of(index)
            store["manifests"][digest] = index
            for name in ("main", PREVIOUS, "1.3", "1", "latest"):
                store["tags"][b.tag(name)] = digest
    return reg
