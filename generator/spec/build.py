"""The Spec from a document that passed every check: defaults applied, aliases normalised, variants
resolved over their image."""

from __future__ import annotations

import os
import shlex
from pathlib import PurePosixPath
from typing import Any

from ..model import (
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
from ..platforms import Platform, parse_platform
from .document import Document
from .schema import load_schema
from .units import primary_variant, raw_units, variant_naming

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
