"""plan/engine.py: the shared engine (a reusable workflow: legs, merge, sign) and one call of it per build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from generator.plan.engine import DEFAULTS, ENGINE_FILENAME, ENGINE_USES, REQUIRED, legs_text
from generator.workflow import Job, Literal, Permission, Workflow, WorkflowPlan

from ..conftest import Runner, write_tree
from .plans import plan_of

SIGNED = """version: 1
registries:
  - type: ghcr
    namespace: acme
  - type: ecr
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    role: arn:aws:iam::123456789012:role/push
    region: eu-west-1
images:
  app:
    strategy: native
    platforms: [amd64, arm64, armv7]
    per-arch-tags: true
    variants:
      main: {sign: true, attest: true}
      debug: {suffix: -debug}
"""
BASED = {"base/Dockerfile": "FROM alpine\n", "app/Dockerfile": "ARG BASE_IMAGE\nFROM $BASE_IMAGE\n"}


def engine(plan: WorkflowPlan) -> Workflow:
    wf = plan.workflows[0]
    assert (wf.filename, wf.template) == (ENGINE_FILENAME, "engine.yml.j2"), "the engine comes first"
    return wf


def engine_jobs(plan: WorkflowPlan) -> dict[str, Job]:
    return {job.id: job for job in engine(plan).jobs}


def calls(plan: WorkflowPlan) -> dict[str, Job]:
    """Every call job of every build workflow, by id."""
    found = {job.id: job for wf in plan.workflows[1:] for job in wf.jobs}
    assert {job.kind for job in found.values()} == {"call"}
    return found


def declared(plan: WorkflowPlan) -> list[str]:
    return [i.name for i in engine(plan).inputs]


def rows(call: Job) -> list[dict[str, object]]:
    return json.loads(str(call.values["legs"]))


def test_a_call_passes_only_what_differs_from_the_engine_defaults(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: native}\n")
    (call,) = calls(plan).values()
    assert (call.id, call.name, call.needs) == ("app", "app", ())
    assert set(call.values) == REQUIRED == {"key", "repository", "legs"}, "a spec of defaults passes nothing else"
    assert (call.values["key"], call.values["repository"]) == ("app", "app")
    changed = plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: native, target: runtime, sbom: true}\n")
    (call,) = calls(changed).values()
    assert set(call.values) == REQUIRED | {"target", "sbom"}
    assert (call.values["target"], call.values["sbom"]) == ("runtime", True)


def test_a_call_per_build_each_named_after_what_it_builds(tmp_path: Path) -> None:
    found = calls(plan_of(tmp_path, SIGNED))
    assert [(job.id, job.name) for job in found.values()] == [("app-main", "app/main"), ("app-debug", "app/debug")]
    assert found["app-debug"].values["suffix"] == "-debug"
    assert "suffix" not in found["app-main"].values
    assert (found["app-main"].values["sign"], found["app-main"].values["attest"]) == (True, True)
    assert "sign" not in found["app-debug"].values, "signing is off by default, so only the signed build passes it"


def test_a_dependent_call_needs_its_base_call_and_reads_the_base_from_its_output(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  app: {strategy: qemu, context: app, from: base}\n"
            "  base: {strategy: qemu, context: base}\n")
    plan = plan_of(tmp_path, spec, BASED)
    assert [wf.filename for wf in plan.workflows] == [ENGINE_FILENAME, "multiarch-app.yml"], "linked: one file"
    found = calls(plan)
    assert list(found) == ["base", "app"], "the base's call first, whatever the spec's order"
    assert (found["base"].needs, found["app"].needs) == ((), ("base",))
    assert found["app"].values["base-args"] == Literal("BASE_IMAGE=${{ needs.base.outputs.ref || 'layout-base--all' }}")
    assert "base-args" not in found["base"].values
    assert (found["base"].values["dependents"], "dependents" in found["app"].values) == (True, False)
    legs = engine_jobs(plan)["legs"]
    assert legs.base is not None
    assert legs.hand_over
    assert (legs.base.build_arg, legs.base.build_context) == (True, False), "a build argument, no build context"
    assert not legs.base.join, "one leg each: the base's layout holds every platform"


def test_several_inputs_each_waited_for_and_handed_over_by_its_argument_or_context(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n"
            "  core: {strategy: qemu, context: app,\n"
            "         from: [{image: bin, build-arg: BIN}, {image: ui, build-context: ui}]}\n"
            "  bin: {strategy: native, context: base}\n  ui: {strategy: qemu, context: base}\n")
    plan = plan_of(tmp_path, spec, BASED)
    found = calls(plan)
    assert list(found) == ["bin", "ui", "core"]
    assert found["core"].needs == ("bin", "ui")
    assert found["core"].values["base-args"] == Literal("BIN=${{ needs.bin.outputs.ref || 'layout-bin--*' }}"), \
        "bin's legs built a platform each"
    assert found["core"].values["base-contexts"] == Literal("ui=${{ needs.ui.outputs.ref || 'layout-ui--all' }}")
    legs = engine_jobs(plan)["legs"]
    assert legs.base is not None
    assert (legs.base.build_arg, legs.base.build_context) == (True, True)
    assert legs.base.join, "core's one leg builds both platforms, which bin built a leg each: joined"


def test_two_inputs_of_one_kind_are_written_as_lines_of_one_input(tmp_path: Path, run: Runner) -> None:
    """Two build arguments (or two contexts) make a multi-line `base-args`: written as a block, read back as
    those lines (a plain scalar cannot hold them: generate, validate and plan stopped at exit 3)."""
    spec = ("version: 1\nimages:\n"
            "  core: {strategy: qemu, context: app,\n"
            "         from: [{image: bin, build-arg: BIN}, {image: ui, build-arg: UI},\n"
            "                {image: bin, build-context: b}, {image: ui, build-context: u}]}\n"
            "  bin: {strategy: qemu, context: base}\n  ui: {strategy: qemu, context: base}\n")
    root = write_tree(tmp_path, {".github/multiarch.yaml": spec, **BASED})
    result = run("-C", str(root))
    assert result.code == 0, result.err
    call = yaml.safe_load((root / ".github/workflows/multiarch-core.yml").read_text("utf-8"))["jobs"]["core"]
    assert call["with"]["base-args"] == ("BIN=${{ needs.bin.outputs.ref || 'layout-bin--all' }}\n"
                                         "UI=${{ needs.ui.outputs.ref || 'layout-ui--all' }}\n")
    assert call["with"]["base-contexts"].splitlines() == ["b=${{ needs.bin.outputs.ref || 'layout-bin--all' }}",
                                                          "u=${{ needs.ui.outputs.ref || 'layout-ui--all' }}"]


def test_dotted_image_names_make_valid_call_ids(tmp_path: Path) -> None:
    spec = "version: 1\nimages:\n  a.b: {strategy: qemu, context: a}\n  c: {strategy: qemu, from: a.b, context: c}\n"
    found = calls(plan_of(tmp_path, spec, {"a/Dockerfile": "FROM alpine\n", "c/Dockerfile": "FROM alpine\n"}))
    assert list(found) == ["a_b", "c"]
    assert found["c"].needs == ("a_b",)


def test_native_legs_are_a_row_per_platform_on_its_runner(tmp_path: Path) -> None:
    (call, _) = calls(plan_of(tmp_path, SIGNED)).values()
    assert [(r["platform"], r["runner"], r["pair"], r.get("qemu")) for r in rows(call)] == [
        ("linux/amd64", "ubuntu-24.04", "linux-amd64", None),
        ("linux/arm64", "ubuntu-24.04-arm", "linux-arm64", None),
        ("linux/arm/v7", "ubuntu-24.04", "linux-arm-v7", "arm"),
    ], "armv7 has no runner of its own: QEMU on an x86 runner"
    assert str(call.values["legs"]).count("\n") == 3, "a row per line: adding a platform adds a line"


def test_qemu_and_buildx_are_one_row_on_an_x86_runner(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  app:\n    strategy: qemu\n    variants:\n"
            "      x86: {platforms: [amd64]}\n      arm: {platforms: [amd64, arm64]}\n")
    plan = plan_of(tmp_path, spec)
    found = calls(plan)
    assert rows(found["app-x86"]) == [{"platform": "linux/amd64", "runner": "ubuntu-24.04", "pair": "all",
                                       "cache": "type=gha,scope=app--x86"}], "no QEMU where no platform needs it"
    assert rows(found["app-arm"])[0]["qemu"] == "arm64"
    legs = engine_jobs(plan)["legs"]
    assert (legs.qemu, legs.qemu_per_row, legs.cross) == (True, True, False), "QEMU only for the rows that ask"
    buildx = plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: buildx}\n")
    (call,) = calls(buildx).values()
    assert [(r["platform"], r["runner"], r.get("qemu")) for r in rows(call)] == [
        ("linux/amd64,linux/arm64", "ubuntu-24.04", None)]
    legs = engine_jobs(buildx)["legs"]
    assert legs.qemu is False, "buildx cross-compiles without QEMU"


def test_a_per_platform_override_is_a_value_of_its_row_only(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  app:\n    strategy: native\n    platforms: [amd64, arm64]\n"
            "    build-args: {A: '1'}\n"
            "    per-platform:\n      linux/arm64: {target: arm, build-args: {B: '2'}}\n")
    plan = plan_of(tmp_path, spec)
    (call,) = calls(plan).values()
    amd, arm = rows(call)
    assert ("target" not in amd, "build-args" not in amd) == (True, True)
    assert (arm["target"], arm["build-args"]) == ("arm", "A=1\nB=2\n")
    assert call.values["build-args"] == "A=1\n", "the build's own arguments stay an input"
    values = engine_jobs(plan)["legs"].values
    assert values["target"] == Literal("${{ matrix.target || inputs.target }}")
    assert values["build-args"] == Literal("${{ matrix.build-args || inputs.build-args }}")
    assert "target" in declared(plan), "the engine declares the input the rows fall back on"


def test_the_engine_declares_only_the_inputs_some_call_uses(tmp_path: Path) -> None:
    plain = plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: native}\n")
    names = declared(plain)
    assert set(REQUIRED) <= set(names)
    for unused in ("target", "sign", "attest", "test", "base", "sbom", "per-arch-tags", "suffix"):
        assert unused not in names, unused
    assert list(engine_jobs(plain)) == ["legs", "merge"], "no signing job when no build signs"
    assert engine_jobs(plain)["legs"].values["target"] is None
    signed = plan_of(tmp_path, SIGNED)
    names = declared(signed)
    assert {"sign", "attest", "per-arch-tags", "suffix", "prefix"} <= set(names), "prefix: declared with suffix"
    assert names == [k for k in DEFAULTS if k in names], "in the engine's order"
    sign = engine_jobs(signed)["sign"]
    assert (sign.needs, sign.if_) == (("merge",), Literal("inputs.sign || inputs.attest"))
    tested = plan_of(tmp_path, "version: 1\nimages:\n  app:\n    strategy: native\n"
                               "    test: {command: [--version]}\n")
    assert {"test", "expect-exit", "expect-output", "test-timeout"} <= set(declared(tested)), \
        "the smoke test's inputs come together"
    test = engine_jobs(tested)["legs"].smoke_test
    assert test is not None
    assert (test.command, test.timeout) == ("${{ inputs.test }}", "${{ inputs.test-timeout }}")
    (call,) = calls(tested).values()
    assert call.values["test"] == '["--version"]'
    assert "expect-exit" not in call.values, "the default exit status is not passed"


def test_the_engine_defaults_are_the_tag_rules_most_builds_use(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  a: {strategy: qemu, context: a}\n  b: {strategy: qemu, context: b}\n"
            "  c: {strategy: qemu, context: c, tags: [{raw: edge}]}\n")
    plan = plan_of(tmp_path, spec, {f"{d}/Dockerfile": "FROM alpine\n" for d in "abc"})
    found = calls(plan)
    assert ("tags" in found["a"].values, "tags" in found["b"].values) == (False, False)
    assert found["c"].values["tags"] == "type=raw,value=edge\n"
    (tags,) = (i for i in engine(plan).inputs if i.name == "tags")
    assert tags.default == "type=ref,event=branch\ntype=sha\n"


def test_publishing_jobs_run_on_the_publish_condition_after_the_legs(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, SIGNED)
    found = engine_jobs(plan)
    assert list(found) == ["legs", "merge", "sign"]
    assert (found["merge"].needs, found["sign"].needs) == (("legs",), ("merge",))
    condition = engine(plan).push_condition.text.removeprefix("${{ ").removesuffix(" }}")
    assert found["merge"].if_ == Literal(condition), "never tags on a pull request"
    assert found["legs"].if_ is None, "pull requests build too"
    assert found["legs"].fail_fast is False, "a failed leg does not cancel the others of its build"


def test_engine_permissions_and_their_reasons(tmp_path: Path) -> None:
    found = engine_jobs(plan_of(tmp_path, SIGNED))
    assert found["legs"].permissions == (
        Permission("contents", "read", "check out the repository"),
        Permission("id-token", "write", "AWS credentials through OIDC (ECR)"),
        Permission("packages", "write", "push to ghcr.io (only when publishing)"))
    assert found["merge"].permissions == found["legs"].permissions, "it checks out the tags (floating tags)"
    untagged = engine_jobs(plan_of(tmp_path, SIGNED.replace("images:", "triggers: {tags: []}\nimages:")))
    assert [p.scope for p in untagged["merge"].permissions] == ["id-token", "packages"], "nothing to check out"
    assert found["sign"].permissions == (
        Permission("id-token", "write", "keyless signing and attestations through GitHub's OIDC token"),
        Permission("attestations", "write", "store the artifact attestation"),
        Permission("packages", "write", "push signatures and attestations to ghcr.io"))


@pytest.mark.parametrize("spec", [SIGNED, "version: 1\nimages:\n  app: {strategy: native}\n",
                                  "version: 1\ndefaults: {attest: true}\nimages:\n  app: {attest: false}\n"])
def test_a_call_grants_what_every_engine_job_requests(tmp_path: Path, spec: str) -> None:
    """GitHub checks a called workflow's jobs against the calling job's permissions when the run starts, the
    ones an `if:` would skip included ("The nested job 'sign' is requesting 'id-token: write', but is only
    allowed 'id-token: none'", actions/runner#4151): a call that grants less fails the whole workflow file
    before any job runs. Each engine job still holds only its own permissions."""
    plan = plan_of(tmp_path, spec)
    found = engine_jobs(plan)
    needed = {(p.scope, p.level) for job in found.values() for p in job.permissions}
    for call in calls(plan).values():
        assert {(p.scope, p.level) for p in call.permissions} == needed, call.id


def test_a_smoke_test_and_stand_in_runners_on_pull_requests(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  app:\n    strategy: native\n    platforms: [amd64, arm64]\n"
            "    runners: {linux/arm64: [self-hosted, arm64]}\n"
            "    test: {command: [--version], expect-output: '^app ', timeout-seconds: 30}\n")
    plan = plan_of(tmp_path, spec)
    legs = engine_jobs(plan)["legs"]
    assert legs.stand_ins == "pull requests"
    assert legs.runs_on == Literal("${{ github.event_name == 'pull_request' && matrix.pr-runner || matrix.runner }}")
    (call,) = calls(plan).values()
    assert [r.get("pr-runner") for r in rows(call)] == [None, "ubuntu-24.04-arm"]
    assert [r["runner"] for r in rows(call)] == ["ubuntu-24.04", ["self-hosted", "arm64"]]
    assert (call.values["expect-output"], call.values["test-timeout"]) == ("^app ", 30)


def test_pull_requests_write_the_cache_only_when_a_build_allows_it(tmp_path: Path) -> None:
    legs = engine_jobs(plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: native}\n"))["legs"]
    assert legs.cache_from == Literal("${{ matrix.cache }}")
    assert legs.cache_to == Literal("${{ matrix.cache && env.PUSH == 'true' && "
                                    "format('{0},mode=max,ignore-error=true', matrix.cache) || '' }}")
    plan = plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: native, pull-request-cache: write}\n")
    assert "inputs.pr-cache == 'write'" in engine_jobs(plan)["legs"].cache_to.text  # type: ignore[union-attr]
    (call,) = calls(plan).values()
    assert call.values["pr-cache"] == "write"
    uncached = plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: native, cache: none}\n")
    (call,) = calls(uncached).values()
    assert all("cache" not in r for r in rows(call))
    assert engine_jobs(uncached)["legs"].cache_from is None


def test_legs_text_is_a_row_per_line() -> None:
    assert legs_text([{"platform": "linux/amd64"}, {"platform": "linux/arm64"}]) == (
        '[{"platform": "linux/amd64"},\n {"platform": "linux/arm64"}]\n')
    assert f"./.github/workflows/{ENGINE_FILENAME}" == ENGINE_USES
