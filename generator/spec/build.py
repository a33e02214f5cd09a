"""The Spec from a document that passed every check: defaults applied, aliases normalised, variants
resolved over their image."""

from __future__ import annotations

import os
import shlex
from typing import Any

from ..model import (
    BaseRef,
    Cache,
    Defaults,
    Image,
    Objective,
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
from .defaults import IMAGE, REGISTRY, REGISTRY_HOSTS, build_setting, default_dockerfile, setting, trigger_tags
from .document import Document
from .units import primary_variant, raw_units, variant_naming

_SHORTHAND_TAGS = {
    "branch": TagRule("ref", "branch"),
    "tag": TagRule("ref", "tag"),
    "variant": TagRule("variant"),
    "pr": TagRule("ref", "pr"),
    "sha": TagRule("sha"),
    "edge": TagRule("edge"),
    "schedule": TagRule("schedule", "nightly"),
    "version": TagRule("semver", "{{version}}"),
    "major.minor": TagRule("semver", "{{major}}.{{minor}}"),
    "major": TagRule("semver", "{{major}}"),
}


def build_spec(doc: Document) -> Spec:
    """The Spec from a document that passed every check: defaults applied, variants resolved."""
    data: dict[str, Any] = doc.data
    defaults = setting(data, "defaults")
    registries = tuple(_build_registry(r) for r in setting(data, "registries"))
    trig = setting(data, "triggers")
    triggers = Triggers(
        branches=tuple(setting(trig, "branches", "triggers")),
        tags=tuple(trigger_tags(trig)),
        pull_requests=setting(trig, "pull-requests", "triggers"),
        manual=setting(trig, "manual", "triggers"),
        schedule=tuple(setting(trig, "schedule", "triggers")),
        self_hosted_pull_requests=setting(trig, "self-hosted-pull-requests", "triggers"),
        releases=setting(trig, "releases", "triggers"),
        merge_queue=setting(trig, "merge-queue", "triggers"),
    )
    global_runners = _runner_map(setting(data, "runners"))
    units: dict[str, list[Variant]] = {}
    for unit in raw_units(data):
        values = unit.values

        def pick(key: str, values: dict[str, Any] = values) -> Any:
            return build_setting(values, defaults, key)

        naming = variant_naming(unit.image, data["images"][unit.image])[unit.variant]
        context = _clean(setting(values, "context", IMAGE))
        units.setdefault(unit.image, []).append(Variant(
            image=unit.image,
            name=unit.variant,
            repository=naming.repository,
            prefix=naming.prefix,
            suffix=naming.suffix,
            primary=naming.primary,
            context=context,
            dockerfile=_clean(values.get("dockerfile") or default_dockerfile(context)),
            platforms=tuple(_platform(p) for p in pick("platforms")),
            strategy=Requested(pick("strategy")),
            **_cache(pick("cache")),
            pull_request_cache=pick("pull-request-cache"),
            provenance=pick("provenance"),
            timeout_minutes=int(pick("timeout-minutes")),
            build_args=_build_args(setting(values, "build-args", IMAGE)),
            target=values.get("target", ""),
            tags=tuple(_tag_rule(r) for r in pick("tags")),
            prerelease_floating=pick("prerelease-floating"),
            sbom=pick("sbom"),
            sign=pick("sign"),
            attest=pick("attest"),
            oci_artifacts=pick("oci-artifact-attestations"),
            runners=tuple(sorted({**global_runners, **_runner_map(setting(values, "runners", IMAGE))}.items())),
            bases=_build_bases(values.get("from"), data["images"]),
            per_platform=tuple(sorted((_platform(p), _override(o)) for p, o in
                                      setting(values, "per-platform", IMAGE).items())),
            test=_smoke_test(values.get("test")),
            target_at=doc.at(unit.where("target")) if "target" in values else (0, 0),
            objective=Objective(pick("objective")),
        ))
    images = tuple(
        # No `paths:` (its own, else `defaults.paths`) leaves the filters to be derived from the build's files
        # (an empty tuple says so).
        Image(name, tuple(units[name]), tuple(raw.get("paths", defaults.get("paths", ()))),
              bool(setting(raw, "per-arch-tags", IMAGE)),
              doc.at(("images", name), key=True))
        for name, raw in data["images"].items()
    )
    pins = {action: (row["release"], row["commit"]) for action, row in setting(data, "actions").items()}
    def common(key: str) -> Any:
        return build_setting({}, defaults, key)

    shared = Defaults(tags=tuple(_tag_rule(r) for r in common("tags")), timeout_minutes=int(common("timeout-minutes")),
                      provenance=common("provenance"), pull_request_cache=common("pull-request-cache"),
                      prerelease_floating=common("prerelease-floating"), sbom=common("sbom"), sign=common("sign"),
                      attest=common("attest"))
    return Spec(path=doc.file, version=data["version"], registries=registries, triggers=triggers, images=images,
                action_pins=pins, check_workflow=setting(data, "check-workflow"), defaults=shared)


def _cache(raw: str | dict[str, str]) -> dict[str, Any]:
    """`cache:` as a Variant's fields: a kind, or a repository of its own with its key template."""
    if isinstance(raw, str):
        return {"cache": Cache(raw)}
    return {"cache": Cache.REPOSITORY, "cache_repository": raw["repository"],
            "cache_key": setting(raw, "key", "defaults.cache")}


def _override(raw: dict[str, Any]) -> PlatformOverride:
    runner = raw.get("runner", ())
    return PlatformOverride(
        dockerfile=_clean(raw["dockerfile"]) if "dockerfile" in raw else "",
        build_args=_build_args(setting(raw, "build-args", f"{IMAGE}.per-platform.<name>")),
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
        expect_exit=int(setting(raw, "expect-exit", f"{IMAGE}.test")),
        expect_output=raw.get("expect-output", ""),
        timeout_seconds=int(setting(raw, "timeout-seconds", f"{IMAGE}.test")),
    )


def _build_bases(raw: Any, images: dict[str, Any]) -> tuple[BaseRef, ...]:
    return tuple(_build_base(one, images) for one in ([] if raw is None else raw if isinstance(raw, list) else [raw]))


def _build_base(raw: Any, images: dict[str, Any]) -> BaseRef:
    options = raw if isinstance(raw, dict) else {"image": raw}
    image, _, variant = str(options["image"]).partition("/")
    if not variant and images[image].get("variants"):
        variant = primary_variant(image, images[image])
    context = options.get("build-context", "")
    return BaseRef(image, variant, "" if context else setting(options, "build-arg", f"{IMAGE}.from"), context)


def _clean(rel: str) -> str:
    return os.path.normpath(rel).replace(os.sep, "/")


def _platform(name: str) -> Platform:
    platform = parse_platform(name)
    assert platform is not None, name  # the schema's enum admitted it
    return platform


def _runner_map(raw: dict[str, Any]) -> dict[Platform, tuple[str, ...]]:
    return {_platform(k): (v,) if isinstance(v, str) else tuple(v) for k, v in raw.items()}


def _build_args(raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, _scalar_text(v)) for k, v in raw.items())


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tag_rule(raw: str | dict[str, str]) -> TagRule:
    if isinstance(raw, str):
        return _SHORTHAND_TAGS[raw]
    ((kind, value),) = [(k, v) for k, v in raw.items() if k != "on"]
    if kind == "sha":
        return TagRule("sha", "" if value == "short" else value)
    return TagRule(kind, value, raw.get("on", ""))


def _build_registry(raw: dict[str, Any]) -> Registry:
    """Keys that do not apply to the type are never asked for (the rules refused them): a GAR key file
    has no user name, an OIDC login no secret, and `generic` must name everything itself."""
    kind = RegistryKind(raw["type"])

    def get(key: str) -> Any:
        return setting(raw, key, REGISTRY)

    host = REGISTRY_HOSTS.get(kind) or raw["host"]
    renamed = tuple(raw.get("repositories", {}).items())
    common: dict[str, Any] = {"repositories": renamed, "on": tuple(raw.get("on", ())),
                              "skip_without_secret": bool(raw.get("skip-without-secret")),
                              "environment": raw.get("environment", "")}
    if kind is RegistryKind.GHCR:
        return Registry(kind, host, raw.get("namespace"), **common)  # None: the repository owner, known at run time
    if kind is RegistryKind.ECR:
        return Registry(kind, host, raw.get("namespace", ""), role=raw["role"], region=raw["region"], **common)
    if kind is RegistryKind.GAR and "workload-identity-provider" in raw:
        return Registry(kind, host, raw["namespace"], workload_identity_provider=raw["workload-identity-provider"],
                        service_account=raw["service-account"], **common)
    if kind is RegistryKind.GAR:
        return Registry(kind, host, raw["namespace"], "", get("password-secret"), **common)
    if kind is RegistryKind.ACR and "client-id" in raw:
        return Registry(kind, host, raw.get("namespace", ""), client_id=raw["client-id"], tenant_id=raw["tenant-id"],
                        subscription_id=raw["subscription-id"], **common)
    return Registry(kind, host, raw.get("namespace", ""), get("username-secret"), get("password-secret"), **common)
