"""The shared engine and the calls to it: every build of a spec runs the same jobs (legs pushed by digest,
a merge that verifies before it tags, signing), so they are written once, in a reusable workflow, and
each build is a short call that says what differs (images, tags, platforms and runners, base).

The engine holds only the parts some build of the spec uses; a part not every build uses runs on a
condition of the call's inputs. A call passes only the inputs that differ from the engine's defaults."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePosixPath

from .. import cachekey
from ..contract import SPEC_CANDIDATES
from ..model import Cache, RegistryKind, Spec, Strategy, Variant
from ..platforms import info
from ..spec.defaults import IMAGE, schema_default
from ..strategy import X64_RUNNER, BuildDecision, Decisions, Leg
from ..workflow import BaseImage, EngineInput, Job, Literal, Login, Permission, SmokeTest, Trigger, Value, Workflow
from .values import (
    build_args,
    cache_source,
    engine_image,
    image_ref,
    needs_lowercase,
    release_rules,
    renamed_input,
    run_kinds,
)

ENGINE_FILENAME = "multiarch.yml"  # the default spec's engine (engine_filename)
ENGINE_USES = f"./.github/workflows/{ENGINE_FILENAME}"
CHECK_FILENAME = "multiarch-check.yml"  # the default spec's drift guard (check_filename)
PULL_REQUEST = "github.event_name == 'pull_request'"
MERGE_GROUP = "github.event_name == 'merge_group'"
NOT_PR = "github.event_name != 'pull_request'"
NOT_MERGE_GROUP = "github.event_name != 'merge_group'"
MERGE_TIMEOUT = 15


def engine_filename(spec_path: str) -> str:
    """The default spec's engine is multiarch.yml; another spec's is named after its file
    (`.github/tools.yaml`: multiarch.tools.yml), so two specs in one repository each get their own. No
    build workflow (multiarch-<image>.yml) can take either name."""
    return ENGINE_FILENAME if spec_path in SPEC_CANDIDATES else f"multiarch.{_stem(spec_path)}.yml"


def check_filename(spec_path: str) -> str:
    """The drift guard's file: multiarch-check.yml for the default spec, multiarch.<stem>.check.yml for
    another, so two specs can each have one; neither name is an engine's or a build workflow's."""
    return CHECK_FILENAME if spec_path in SPEC_CANDIDATES else f"multiarch.{_stem(spec_path)}.check.yml"


def _stem(spec_path: str) -> str:
    stem = PurePosixPath(spec_path).stem.lower()
    return "".join(c if c.isalnum() else "-" for c in stem).strip("-") or "spec"


def _input(name: str) -> Literal:
    return Literal(f"${{{{ inputs.{name} }}}}")


def legs_rows(spec: Spec, build: Variant, decided: BuildDecision) -> list[dict[str, object]]:
    """The call's `legs`: one row per runner. Native: a row per platform; qemu and buildx: one row on an
    x86 runner for every platform (QEMU for the foreign ones)."""
    stand_ins = spec.triggers.pull_requests or spec.triggers.merge_queue
    if not decided.legs_apart:
        qemu = ",".join(sorted({leg.qemu for leg in decided.legs if leg.qemu}))
        row: dict[str, object] = {"platform": ",".join(p.name for p in build.platforms), "runner": X64_RUNNER,
                                  "pair": "all"}
        if qemu:
            row["qemu"] = qemu
        if build.cache is not Cache.NONE:
            row["cache"] = cache_source(spec, build)
        return [row]
    rows = []
    for leg in decided.legs:
        row = {"platform": leg.platform.name, "runner": leg.runner_value, "pair": leg.platform.pair}
        if stand_ins and leg.pr_runner:
            row["pr-runner"] = leg.pr_runner[0]
        if leg.qemu:
            row["qemu"] = leg.qemu
        override = build.override(leg.platform)
        if override.dockerfile:
            row["file"] = override.dockerfile
        if override.target:
            row["target"] = override.target
        if override.build_args:
            row["build-args"] = build_args(tuple((dict(build.build_args) | dict(override.build_args)).items()))
        if build.cache is not Cache.NONE:
            row["cache"] = cache_source(spec, build, leg.platform.pair, leg.platform)
        rows.append(row)
    return rows


def legs_text(rows: Sequence[dict[str, object]]) -> str:
    """JSON, a row per line: adding a platform adds a line."""
    body = ",\n ".join(json.dumps(row, ensure_ascii=False, separators=(", ", ": ")) for row in rows)
    return f"[{body}]\n"


def tag_inputs(spec: Spec, build: Variant) -> tuple[str, str]:
    """The build's tag rules for metadata-action, and its semver rules when they wait for the floating-tags
    decision (a workflow that runs on version tags)."""
    return release_rules(spec, build.tags, build.prefix, build.name)


def call_defaults(spec: Spec) -> dict[str, str | int | bool]:
    """The engine's defaults: what a build that sets nothing gets (the spec's `defaults:`, else the
    schema's), so a call passes only what its build sets, and a new build never changes another's call."""
    found: dict[str, str | int | bool] = {k: v for k, v in DEFAULTS.items() if v is not None}
    common = spec.defaults
    if common is None:
        return found
    found["tags"], found["semver"] = release_rules(spec, common.tags)
    found |= {
        "timeout": common.timeout_minutes,
        "provenance": "false" if common.provenance == "false" else f"mode={common.provenance}",
        "pr-cache": common.pull_request_cache, "prerelease": common.prerelease_floating, "sbom": common.sbom,
        "sign": common.sign, "attest": common.attest,
    }
    return found


def call_inputs(spec: Spec, build: Variant, decided: BuildDecision, ids: dict[str, str],
                defaults: dict[str, str | int | bool], apart: dict[str, bool],
                logins: tuple[Login, ...] = ()) -> dict[str, Value]:
    """What one call passes: the inputs whose value differs from the engine's default (`ids`: every
    build's call id; `apart`: whether a build's legs build a platform each), and the repository's name in
    each registry (of `logins`) that names it otherwise."""
    tags, semver = tag_inputs(spec, build)
    test = build.test
    values: dict[str, Value] = {
        "key": build.key,
        "repository": build.repository,
        "context": build.context,
        "file": build.dockerfile,
        "target": build.target,
        "build-args": build_args(build.build_args),
        "tags": tags,
        "semver": semver,
        "prerelease": build.prerelease_floating,
        "prefix": build.prefix,
        "suffix": build.suffix,
        "provenance": "false" if build.provenance == "false" else f"mode={build.provenance}",
        "sbom": build.sbom,
        "no-oci-artifact": not build.oci_artifacts,
        "pr-cache": build.pull_request_cache,
        "timeout": decided.timeout_minutes,
        "legs": legs_text(legs_rows(spec, build, decided)),
        "per-arch-tags": next(i for i in spec.images if i.name == build.image).per_arch_tags,
        "sign": build.sign,
        "attest": build.attest,
    }
    # Each input's `ref` output: its index by digest; on runs that publish nothing (no merge, no ref), the
    # artifacts of its legs' OCI layouts (upload-layout): one for all platforms, or a platform each.
    for kind in ("arg", "context"):
        handed = [f"{name}=${{{{ needs.{ids[key]}.outputs.ref || 'layout-{key}--{'*' if apart[key] else 'all'}' }}}}"
                  for b in build.bases if (name := getattr(b, f"build_{kind}"))
                  and (key := spec.variant(b.image, b.variant).key)]
        if handed:
            values[f"base-{kind}s"] = Literal("\n".join(handed) + ("\n" if len(handed) > 1 else ""))
    values["dependents"] = any(spec.variant(b.image, b.variant).key == build.key
                               for image in spec.images for other in image.variants for b in other.bases)
    if test is not None:
        values |= {"test": json.dumps(list(test.command)), "expect-exit": test.expect_exit,
                   "expect-output": test.expect_output, "test-timeout": test.timeout_seconds}
    renamed: dict[str, Value] = {renamed_input(login.slug): login.registry.repository(build.repository)
                                 for login in logins if login.registry.repository(build.repository) != build.repository}
    return {k: v for k, v in values.items() if k in REQUIRED or v != defaults[k]} | renamed


# The engine's inputs: name -> default (None: every call passes it). Where the spec has a default, the
# engine's is the schema's, so a build that keeps it passes nothing.
DEFAULTS: dict[str, str | bool | int | None] = {
    "key": None, "repository": None, "legs": None, "tags": "", "prefix": "", "suffix": "",
    "context": schema_default(f"{IMAGE}.context"), "file": "Dockerfile", "target": "", "build-args": "",
    "semver": "", "prerelease": False, "provenance": f"mode={schema_default(f'{IMAGE}.provenance')}",
    "sbom": False, "no-oci-artifact": False, "pr-cache": schema_default(f"{IMAGE}.pull-request-cache"),
    "timeout": schema_default(f"{IMAGE}.timeout-minutes"), "per-arch-tags": False, "sign": False,
    "attest": False, "dependents": False, "base-args": "", "base-contexts": "", "test": "",
    "expect-exit": schema_default(f"{IMAGE}.test.expect-exit"), "expect-output": "",
    "test-timeout": schema_default(f"{IMAGE}.test.timeout-seconds"),
}
REQUIRED = {k for k, v in DEFAULTS.items() if v is None}
GROUPS = ({"test", "expect-exit", "expect-output", "test-timeout"}, {"prefix", "suffix"})
WHY = {
    "key": "names the digest artifacts",
    "repository": "under each registry's namespace",
    "legs": "JSON: a row per runner (platform, runner, pair, qemu, cache ...)",
    "semver": "release rules that wait for the floating-tags decision",
    "pr-cache": "read, write or off: what pull requests do with the cache",
    "dependents": "builds start from it: runs that publish nothing hand it over as OCI layouts",
    "base-args": "ARG=<an input's call's ref output>, a line each (base-contexts: name=...)",
    "test": "JSON: the smoke test's arguments",
}


def engine_workflow(spec: Spec, calls: Sequence[tuple[Variant, dict[str, Value]]],
                    logins: tuple[Login, ...], push_condition: Literal, push_note: str,
                    publishing_refs: str, defaults: dict[str, str | int | bool]) -> Workflow:
    """The reusable workflow every build's call runs, with only the parts some build uses."""
    # An input some call passes, or whose default the spec changed (`defaults: {sign: true}`: calls pass none).
    used = {k for _, values in calls for k in values} | {k for k, v in DEFAULTS.items() if defaults.get(k, v) != v}
    for group in GROUPS:  # inputs the same steps read: declared together
        if used & group:
            used |= group
    rows = [row for _, values in calls for row in json.loads(str(values["legs"]))]
    inputs = tuple(EngineInput(k, None if k in REQUIRED else defaults[k], WHY.get(k, ""))
                   for k in DEFAULTS if k in REQUIRED or k in used)
    floating = "semver" in used
    # A build whose one leg builds several platforms, from an input built a leg per platform: that leg joins
    # the input's layouts into one (on runs that publish nothing).
    pairs = {build.key: [row["pair"] for row in json.loads(str(values["legs"]))] for build, values in calls}
    joins = any(pairs[build.key] == ["all"] and len(build.platforms) > 1
                and pairs[spec.variant(b.image, b.variant).key] != ["all"] for build, _ in calls for b in build.bases)
    base = BaseImage("base-args" in used, "base-contexts" in used, joins) if used & {"base-args", "base-contexts"} \
        else None
    test = SmokeTest(_input("test").text, _input("expect-exit").text, _input("expect-output").text,
                     _input("test-timeout").text) if "test" in used else None
    values: dict[str, Value | None] = {k: (_input(k) if k in used or k in REQUIRED else None) for k in DEFAULTS}
    for key in ("file", "target", "build-args"):
        if any(key in row for row in rows):
            values[key] = Literal(f"${{{{ matrix.{key} || inputs.{key} }}}}")
            if key not in used:
                used.add(key)
                inputs += (EngineInput(key, defaults[key]),)
    stand_ins = any("pr-runner" in row for row in rows)
    cache = any("cache" in row for row in rows)
    # Per-branch keys: a step of the legs reads {branch} and the default branch's, writes {branch} alone.
    branch_keys = any(cachekey.BRANCH in str(row.get("cache", "")) for row in rows)
    sign, attest = "sign" in used, "attest" in used
    legs = Job(
        kind="legs", id="legs", name="Build ${{ matrix.platform }}",
        runs_on=Literal(f"${{{{ {stand_in_condition(spec)} && matrix.pr-runner || matrix.runner }}}}" if stand_ins
                        else "${{ matrix.runner }}"),
        timeout_minutes=_input("timeout") if "timeout" in used else int(defaults["timeout"]),
        permissions=push_permissions(spec), values=values,
        matrix=(), fail_fast=False, qemu=any("qemu" in row for row in rows), qemu_per_row=True,
        base=base, hand_over="dependents" in used, lowercase=needs_lowercase(spec),
        cache_from=_cache_from("pr-cache" in used, branch_keys) if cache else None,
        cache_to=_cache_to("pr-cache" in used, branch_keys) if cache else None, cache_keys=branch_keys,
        smoke_test=test, stand_ins=stand_in_events(spec) if stand_ins else "",
        manual_note=bool(publishing_refs),
    )
    environment = held_environment(logins)
    merge = Job(
        kind="merge", id="merge", name="Verify and tag", needs=("legs",), environment=environment,
        if_=Literal(push_condition.text.removeprefix("${{ ").removesuffix(" }}")),
        runs_on=X64_RUNNER, timeout_minutes=MERGE_TIMEOUT, permissions=push_permissions(spec, checkout=floating),
        values=values, floating=floating, per_arch_tags="per-arch-tags" in used,
    )
    jobs = [legs, merge]
    if sign or attest:
        jobs.append(Job(
            kind="sign", id="sign", name="Sign", needs=("merge",),
            if_=Literal(" || ".join(f"inputs.{k}" for k, on in (("sign", sign), ("attest", attest)) if on)),
            runs_on=X64_RUNNER, timeout_minutes=MERGE_TIMEOUT, permissions=sign_permissions(spec, attest),
            environment=environment,
            values=values, sign=sign, sign_per_row=sign, attest=attest, attest_per_row=attest,
        ))
    renamed = tuple(login.slug for login in logins if renamed_input(login.slug) in used)
    inputs += tuple(EngineInput(renamed_input(slug), "", f"the repository's name in {slug}, when it differs")
                    for slug in renamed)
    images = "".join(f"{engine_image(login.registry, login.slug, login.slug in renamed, login.condition)}\n"
                     for login in logins)
    return Workflow(
        images=images,
        filename=engine_filename(spec.path), name="Multi-arch build engine", on=Trigger((), (), None, False, False),
        push_condition=push_condition, push_note=push_note, logins=logins, jobs=tuple(jobs),
        publishing_refs=publishing_refs, template="engine.yml.j2", inputs=inputs, secrets=registry_secrets(logins),
        renamed=renamed, held="\n".join(f"{image_ref(r, '')}/" for r in spec.registries if r.environment),
    )


def held_environment(logins: tuple[Login, ...]) -> Value:
    """The environment the merge and signing enter (validation saw to it that registries name one): only on
    the runs that publish to a registry it holds the secrets of, so its protection rules (deployment tags,
    reviewers) guard those pushes and no other publish waits for them. A name that evaluates to '' enters
    none. The condition is the registries' own (their flags' expressions: `env` is not read at job level)."""
    held = [login for login in logins if login.registry.environment]
    if not held:
        return ""
    name = held[0].registry.environment
    if not all(login.condition for login in held):
        return name
    # Each registry's kinds of run, once (validation refuses skip-without-secret, whose secret no job-level
    # expression may read, beside an environment: the kinds are the whole condition).
    condition = " || ".join(dict.fromkeys(kind for login in held for kind in run_kinds(login.registry)))
    condition = f"({condition})" if " || " in condition else condition  # `&&` binds before `||`
    return Literal(f"${{{{ {condition} && '{name}' || '' }}}}")


def registry_secrets(logins: tuple[Login, ...]) -> tuple[str, ...]:
    """The secrets the logins read (GHCR's token and the OIDC logins need none): what a call hands the engine."""
    found: list[str] = []
    for login in logins:
        reg = login.registry
        if reg.oidc or reg.kind is RegistryKind.GHCR:
            continue
        found += (reg.password_secret,) if reg.kind is RegistryKind.GAR else (reg.username_secret, reg.password_secret)
    return tuple(dict.fromkeys(found))


def _cache_from(modes: bool, branch_keys: bool = False) -> Literal:
    """With `pull-request-cache: off`, runs that push nothing do not even read the cache. With per-branch
    keys, the cache-keys step decides (the same rules)."""
    if branch_keys:
        return Literal("${{ steps.cache.outputs.from }}")
    return Literal("${{ (env.PUSH == 'true' || inputs.pr-cache != 'off') && matrix.cache || '' }}" if modes
                   else "${{ matrix.cache }}")


def _cache_to(modes: bool, branch_keys: bool = False) -> Literal:
    """Pull requests read the cache but never write it unless `pull-request-cache` says so, so a pull
    request cannot seed the cache a release reads."""
    if branch_keys:
        return Literal("${{ steps.cache.outputs.to }}")
    write = "format('{0},mode=max,ignore-error=true', matrix.cache)"
    return Literal(f"${{{{ matrix.cache && (env.PUSH == 'true' || inputs.pr-cache == 'write') && {write} || '' }}}}"
                   if modes else f"${{{{ matrix.cache && env.PUSH == 'true' && {write} || '' }}}}")


def push_permissions(spec: Spec, *, checkout: bool = True) -> tuple[Permission, ...]:
    perms = [Permission("contents", "read", "check out the repository")] if checkout else []
    oidc = {r.kind: _OIDC_CLOUDS[r.kind] for r in spec.registries if r.oidc}
    if oidc:
        perms.append(Permission("id-token", "write", f"{', '.join(oidc.values())} credentials through OIDC "
                                f"({', '.join(k.value.upper() for k in oidc)})"))
    if any(r.kind is RegistryKind.GHCR for r in spec.registries):
        perms.append(Permission("packages", "write", "push to ghcr.io (only when publishing)"))
    return tuple(perms)


_OIDC_CLOUDS = {RegistryKind.ECR: "AWS", RegistryKind.GAR: "Google Cloud", RegistryKind.ACR: "Azure"}


def sign_permissions(spec: Spec, attest: bool) -> tuple[Permission, ...]:
    perms = [Permission("id-token", "write", "keyless signing and attestations through GitHub's OIDC token")]
    if attest:
        perms.append(Permission("attestations", "write", "store the artifact attestation"))
    if any(r.kind is RegistryKind.GHCR for r in spec.registries):
        perms.append(Permission("packages", "write", "push signatures and attestations to ghcr.io"))
    return tuple(perms)


def call_permissions(spec: Spec) -> tuple[Permission, ...]:
    """What every call grants: the most any engine job holds (each job then takes its own). GitHub checks the
    called jobs against the call when the run starts, a job `if:` skips included (actions/runner#4151), so a
    build that does not sign grants what the engine's signing job requests, or its workflow never starts."""
    perms = {p.scope: p for p in push_permissions(spec)}
    builds = [build for image in spec.images for build in image.variants]
    # As the engine's `used`: a build's own value, or the spec's default (a call passes none then).
    sign, attest = (any(getattr(b, key) for b in builds) or bool(spec.defaults and getattr(spec.defaults, key))
                    for key in ("sign", "attest"))
    if sign or attest:
        for p in sign_permissions(spec, attest):
            perms.setdefault(p.scope, p)
    order = ("contents", "id-token", "attestations", "packages")
    return tuple(sorted(perms.values(), key=lambda p: order.index(p.scope)))


def not_pull_requests(spec: Spec) -> str:
    """A run that is not a pull request's: nor a merge queue's group, whose code is the queued pull requests'."""
    return f"{NOT_PR} && {NOT_MERGE_GROUP}" if spec.triggers.merge_queue else NOT_PR


def stand_in_condition(spec: Spec) -> str:
    """When a leg builds on its GitHub-hosted stand-in: every pull request, or with the spec's opt-in
    only those from forks (whose head repository is not this one); and every merge queue group, whose
    code is the queued pull requests', forks' included, on a branch of this repository."""
    found = PULL_REQUEST
    if spec.triggers.self_hosted_pull_requests:
        found = f"{PULL_REQUEST} && github.event.pull_request.head.repo.full_name != github.repository"
    return f"({MERGE_GROUP} || {found})" if spec.triggers.merge_queue else found


def stand_in_events(spec: Spec) -> str:
    found = "pull requests from forks" if spec.triggers.self_hosted_pull_requests else "pull requests"
    return f"{found} and merge queues" if spec.triggers.merge_queue else found


def call_job(spec: Spec, build: Variant, decisions: Decisions, ids: dict[str, str],
             logins: tuple[Login, ...], defaults: dict[str, str | int | bool]) -> tuple[Job, dict[str, Value]]:
    """One build's call of the engine (`ids`: every build's call id; `defaults`: call_defaults)."""
    call_id = ids[build.key]
    decided = decisions[build.key]
    values = call_inputs(spec, build, decided, ids, defaults, {k: d.legs_apart for k, d in decisions.items()}, logins)
    needs = tuple(dict.fromkeys(ids[spec.variant(b.image, b.variant).key] for b in build.bases))
    job = Job(
        kind="call", id=call_id, name=build.label, runs_on="", timeout_minutes=0,
        permissions=call_permissions(spec), values=values, needs=needs,
        secrets=registry_secrets(logins), secrets_when=not_pull_requests(spec), comment=summary(spec, build, decided),
        uses=engine_filename(spec.path),
    )
    return job, values


def summary(spec: Spec, build: Variant, decided: BuildDecision) -> str:
    """One line for the reader: the strategy and why, where each platform builds."""
    legs: Sequence[Leg] = decided.legs
    if decided.strategy is Strategy.NATIVE:
        stand_in = stand_in_events(spec)

        def notes(leg: Leg) -> str:
            found = ["QEMU"] if leg.qemu else []
            if leg.pr_runner and (spec.triggers.pull_requests or spec.triggers.merge_queue):
                found.append(f"{stand_in}: {leg.pr_runner[0]}")
            return f" ({'; '.join(found)})" if found else ""

        where = ", ".join(f"{leg.platform.name} on {'+'.join(leg.runner)}{notes(leg)}" for leg in legs)
    else:
        emulated = [leg.platform.name for leg in legs if leg.qemu]
        cross = decided.strategy is Strategy.BUILDX and any(info(p).host != "x64" for p in build.platforms)
        how = f"QEMU for {', '.join(emulated)}" if emulated else "cross-compiling" if cross else "no emulation"
        where = f"{', '.join(p.name for p in build.platforms)} on {X64_RUNNER} ({how})"
    why = f"; {decided.reason}" if decided.reason.startswith("auto: ") else ""
    return f"{decided.strategy.value}: {where}{why}"
