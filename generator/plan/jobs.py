"""A group's jobs as data: what each builds, where it runs, when, with which permissions, and which
optional parts it has. The steps themselves are in templates/jobs/<kind>.yml.j2."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..model import RegistryKind, Spec, Strategy, Variant
from ..platforms import info
from ..strategy import X64_RUNNER, Leg
from ..workflow import BaseImage, Job, Literal, Permission, SmokeTest, Value
from .groups import Group
from .matrix import Fields, check_size, leg_matrix
from .values import build_args, build_values, cache_source, image_refs, needs_lowercase

PULL_REQUEST = "github.event_name == 'pull_request'"
PUSHING = "env.PUSH == 'true'"  # steps' guard; the workflow's env says what PUSH means
# A dependent build runs when its base's jobs succeeded or were skipped (a base built in another run).
AFTER_BASE = Literal("${{ !failure() && !cancelled() }}")
MERGE_TIMEOUT = 15

# The per-build values each kind of job reads (a matrix carries only these).
BUILD_KEYS = ("key", "context", "file", "target", "build-args", "images", "tags", "semver", "prerelease", "flavor",
              "platforms", "qemu", "provenance", "sbom", "no-oci-artifact", "cache", "expected", "source")
LEG_KEYS = ("key", "context", "file", "target", "build-args", "images", "names", "provenance", "sbom",
            "no-oci-artifact")
MERGE_KEYS = ("key", "images", "tags", "semver", "prerelease", "flavor", "source", "expected")
SIGN_KEYS = ("key", "images", "sign", "attest")


def push_permissions(spec: Spec, *, checkout: bool = True) -> tuple[Permission, ...]:
    perms = [Permission("contents", "read", "check out the repository")] if checkout else []
    if any(r.kind is RegistryKind.ECR for r in spec.registries):
        perms.append(Permission("id-token", "write", "AWS credentials through OIDC (ECR)"))
    if any(r.kind is RegistryKind.GHCR for r in spec.registries):
        perms.append(Permission("packages", "write", "push to ghcr.io (only when publishing)"))
    return tuple(perms)


def sign_permissions(spec: Spec, group: Group) -> tuple[Permission, ...]:
    perms = [Permission("id-token", "write", "keyless signing and attestations through GitHub's OIDC token")]
    if any(b.attest for b in group.builds):
        perms.append(Permission("attestations", "write", "store the artifact attestation"))
    if any(r.kind is RegistryKind.GHCR for r in spec.registries):
        perms.append(Permission("packages", "write", "push signatures and attestations to ghcr.io"))
    return tuple(perms)


def cache_inputs(source: Value | None, mode: str) -> tuple[Value | None, Value | None]:
    """cache-from and cache-to (None: no cache). By default pull requests read the cache but never write
    it, so a pull request cannot seed the cache a release reads (`pull-request-cache` says otherwise)."""
    if source is None:
        return None, None
    from_if, to_if = {"read": ("", PUSHING), "write": ("", ""), "off": (PUSHING, PUSHING)}[mode]
    return _cache_value(source, from_if, ""), _cache_value(source, to_if, ",mode=max,ignore-error=true")


def _cache_value(source: Value, condition: str, extra: str) -> Value:
    if isinstance(source, Literal):  # a matrix value
        expression = f"format('{{0}}{extra}', matrix.cache)" if extra else "matrix.cache"
        return Literal(f"${{{{ {condition} && {expression} || '' }}}}" if condition else
                       (f"${{{{ {expression} }}}}" if extra else source.text))
    assert isinstance(source, str)
    if not condition:
        return source + extra
    return Literal(f"${{{{ {condition} && '{source}{extra}' || '' }}}}")


def base_image(spec: Spec, group: Group) -> BaseImage | None:
    """The base image by digest, from the artifact its tagging job saved in this run. Pull requests push
    nothing, so there the base's tag for the first pushed branch stands in."""
    if group.base is None:
        return None
    base, ref = group.base, group.builds[0].base
    assert ref is not None
    branch = next((b for b in spec.triggers.branches if not set(b) & set("*?[]!")), "latest")
    fallback = f"{image_refs(spec, base)[0]}:{base.prefix}{branch.replace('/', '-')}{base.suffix}"
    return BaseImage(base.label, base.key, fallback, ref.build_arg, ref.build_context)


def _fields(spec: Spec, group: Group) -> Fields:
    return Fields([build_values(spec, b, group.decided(b)) for b in group.builds])


def _label(group: Group, matrix: Sequence[object]) -> str:
    return "${{ matrix.variant }}" if matrix else group.builds[0].label


def _set(value: Value) -> bool:
    """Whether some build sets a value whose "unset" is "" (or "false")."""
    return isinstance(value, Literal) or value not in ("", "false")


def build_job(spec: Spec, group: Group, needs: tuple[str, ...], dependents: bool) -> Job:
    """qemu and buildx: one job per build, one build-push-action for every platform."""
    f = _fields(spec, group)
    values = f.values(BUILD_KEYS)
    matrix = f.matrix(BUILD_KEYS)
    cache_from, cache_to = cache_inputs(values["cache"], group.builds[0].pull_request_cache)
    return Job(
        kind="build",
        id=group.job_id("build"),
        name=f"Build {_label(group, matrix)}",
        runs_on=X64_RUNNER,
        timeout_minutes=max(b.timeout_minutes for b in group.builds),
        permissions=push_permissions(spec),
        values=values,
        needs=needs,
        if_=AFTER_BASE if needs else None,
        matrix=matrix,
        fail_fast=False,
        title=group.title,
        floating=values["semver"] is not None,
        qemu=_set(f("qemu")),
        qemu_per_row="qemu" in f.varying,
        cross=any(group.decided(b).strategy is Strategy.BUILDX and any(info(p).host != "x64" for p in b.platforms)
                  for b in group.builds),
        base=base_image(spec, group),
        cache_from=cache_from,
        cache_to=cache_to,
        per_arch_tags=group.image.per_arch_tags,
        dependents=dependents,
    )


def _leg_values(spec: Spec, build: Variant, leg: Leg, unit: dict[str, Value]) -> dict[str, Value]:
    """One leg's values: the build's, with what its platform overrides."""
    override = build.override(leg.platform)
    values = {k: unit[k] for k in LEG_KEYS}
    if override.dockerfile:
        values["file"] = override.dockerfile
    if override.target:
        values["target"] = override.target
    if override.build_args:
        values["build-args"] = build_args(tuple((dict(build.build_args) | dict(override.build_args)).items()))
    values["cache"] = cache_source(spec, build, leg.platform.pair)
    return values


def stand_in_condition(spec: Spec) -> str:
    """When a leg builds on its GitHub-hosted stand-in: every pull request, or with the spec's opt-in
    only those from forks (whose head repository is not this one)."""
    if spec.triggers.self_hosted_pull_requests:
        return f"{PULL_REQUEST} && github.event.pull_request.head.repo.full_name != github.repository"
    return PULL_REQUEST


def stand_in_events(spec: Spec) -> str:
    return "pull requests from forks" if spec.triggers.self_hosted_pull_requests else "pull requests"


def native_jobs(spec: Spec, group: Group, publishing: Literal, needs: tuple[str, ...],
                dependents: bool) -> tuple[Job, Job]:
    """native: a matrix leg per build and platform on its own runner, pushed by digest; then a merge job
    per build that writes every tag at once, so a failed leg can never leave a tag on a partial image."""
    f = _fields(spec, group)
    legs = [(i, leg) for i, build in enumerate(group.builds) for leg in group.decided(build).legs]
    emulated = any(leg.qemu for _, leg in legs)
    stand_ins = spec.triggers.pull_requests and any(leg.pr_runner for _, leg in legs)
    per_leg = Fields([_leg_values(spec, group.builds[i], leg, f.rows[i]) for i, leg in legs], per_row=("cache",))
    matrix = leg_matrix([(group.builds[i].label, leg) for i, leg in legs], per_leg, labelled=len(group.builds) > 1,
                        stand_ins=stand_ins, emulated=emulated)
    check_size(spec.path, group.image, len(matrix))
    values = per_leg.values((*LEG_KEYS, "cache"))
    if emulated:
        values["qemu"] = Literal("${{ matrix.qemu }}")
    cache_from, cache_to = cache_inputs(values["cache"], group.builds[0].pull_request_cache)
    test = group.builds[0].test
    label = "${{ matrix.variant }}, " if len(group.builds) > 1 else f"{group.builds[0].label} ("
    build = Job(
        kind="legs",
        id=group.job_id("build"),
        name=f"Build {label}${{{{ matrix.platform }}}}{')' if len(group.builds) == 1 else ''}",
        runs_on=Literal(f"${{{{ {stand_in_condition(spec)} && matrix.pr-runner || matrix.runner }}}}" if stand_ins
                        else "${{ matrix.runner }}"),
        timeout_minutes=max(b.timeout_minutes for b in group.builds),
        permissions=push_permissions(spec),
        values=values,
        needs=needs,
        if_=AFTER_BASE if needs else None,
        matrix=matrix,
        fail_fast=False,
        title=group.title,
        qemu=emulated,
        qemu_per_row=emulated,
        base=base_image(spec, group),
        lowercase=needs_lowercase(spec),
        cache_from=cache_from,
        cache_to=cache_to,
        smoke_test=SmokeTest(json.dumps(list(test.command)), str(test.expect_exit), test.expect_output,
                             str(test.timeout_seconds)) if test else None,
        runners=tuple(sorted({", ".join(leg.runner) for _, leg in legs})),
        stand_ins=stand_in_events(spec) if stand_ins else "",
    )
    return build, _merge_job(spec, group, f, publishing, build.id, dependents)


def _merge_job(spec: Spec, group: Group, f: Fields, publishing: Literal, build_id: str, dependents: bool) -> Job:
    values = f.values(MERGE_KEYS)
    floating = values["semver"] is not None
    matrix = f.matrix(MERGE_KEYS)
    return Job(
        kind="merge",
        id=group.job_id("merge"),
        name=f"Tag {_label(group, matrix)}",
        needs=(build_id,),
        if_=publishing,
        runs_on=X64_RUNNER,
        timeout_minutes=MERGE_TIMEOUT,
        permissions=push_permissions(spec, checkout=floating),
        values=values,
        matrix=matrix,
        fail_fast=False,
        title=group.title,
        floating=floating,
        per_arch_tags=group.image.per_arch_tags,
        dependents=dependents,
    )


def sign_job(spec: Spec, group: Group, publishing: Literal, tagging: str) -> tuple[Job, ...]:
    """Keyless Cosign signatures and GitHub artifact attestations for the pushed digests, in a job of
    their own: the only one holding `id-token: write` (and `attestations: write`)."""
    if not any(b.sign or b.attest for b in group.builds):
        return ()
    f = _fields(spec, group)
    matrix = f.matrix(SIGN_KEYS)
    return (Job(
        kind="sign",
        id=group.job_id("sign"),
        name=f"Sign {_label(group, matrix)}",
        needs=(tagging,),
        if_=publishing,
        runs_on=X64_RUNNER,
        timeout_minutes=MERGE_TIMEOUT,
        permissions=sign_permissions(spec, group),
        values=f.values(SIGN_KEYS),
        matrix=matrix,
        fail_fast=False,
        title=group.title,
        sign=_set(f("sign")),
        sign_per_row=isinstance(f("sign"), Literal),
        attest=_set(f("attest")),
        attest_per_row=isinstance(f("attest"), Literal),
    ),)
