"""plan/jobs.py: each kind of job as data: needs, when it runs, permissions and why, cache refs, flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.plan.jobs import AFTER_BASE, PUSHING, cache_inputs
from generator.workflow import Literal, Permission

from .plans import jobs, plan_of

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


def test_publishing_jobs_run_on_the_publish_condition_after_the_builds(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, SIGNED)
    (wf,) = plan.workflows
    found = {job.id: job for job in wf.jobs}
    assert list(found) == ["build", "merge", "sign"]
    assert (found["merge"].needs, found["sign"].needs) == (("build",), ("merge",))
    condition = wf.push_condition.text.removeprefix("${{ ").removesuffix(" }}")
    assert found["merge"].if_ == found["sign"].if_ == Literal(condition)
    assert found["build"].if_ is None, "pull requests build too"


def test_permissions_and_their_reasons(tmp_path: Path) -> None:
    found = jobs(plan_of(tmp_path, SIGNED))
    assert found["build"].permissions == (
        Permission("contents", "read", "check out the repository"),
        Permission("id-token", "write", "AWS credentials through OIDC (ECR)"),
        Permission("packages", "write", "push to ghcr.io (only when publishing)"))
    assert found["merge"].permissions == found["build"].permissions, "it checks out the tags (floating tags)"
    untagged = jobs(plan_of(tmp_path, SIGNED.replace("images:", "triggers: {tags: []}\nimages:")))
    assert [p.scope for p in untagged["merge"].permissions] == ["id-token", "packages"], "nothing to check out"
    assert found["sign"].permissions == (
        Permission("id-token", "write", "keyless signing and attestations through GitHub's OIDC token"),
        Permission("attestations", "write", "store the artifact attestation"),
        Permission("packages", "write", "push signatures and attestations to ghcr.io"))


def test_signing_only_the_builds_that_ask(tmp_path: Path) -> None:
    sign = jobs(plan_of(tmp_path, SIGNED))["sign"]
    assert (sign.sign, sign.sign_per_row, sign.attest, sign.attest_per_row) == (True, True, True, True)
    assert [(row["variant"], row["sign"], row["attest"]) for row in sign.matrix] == [
        ("app/main", "true", "true"), ("app/debug", "false", "false")]


def test_optional_parts_of_a_native_group(tmp_path: Path) -> None:
    found = jobs(plan_of(tmp_path, SIGNED))
    legs, merge = found["build"], found["merge"]
    assert (legs.kind, legs.qemu, legs.qemu_per_row, legs.lowercase) == ("legs", True, True, False)
    assert (merge.per_arch_tags, merge.dependents, merge.floating) == (True, True, True)
    assert legs.runners == ("ubuntu-24.04", "ubuntu-24.04-arm")
    assert len(legs.matrix) == 2 * 3, "a leg per build and platform"


def test_a_dependent_build_runs_after_its_base_unless_that_failed(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  base: {strategy: qemu, context: base}\n"
            "  app: {strategy: qemu, context: app, from: base}\n")
    found = jobs(plan_of(tmp_path, spec, {"base/Dockerfile": "FROM alpine\n",
                                          "app/Dockerfile": "ARG BASE_IMAGE\nFROM $BASE_IMAGE\n"}))
    assert (found["build-app"].needs, found["build-app"].if_) == (("build-base",), AFTER_BASE)
    assert found["build-base"].dependents, "its digest goes to the dependent build"
    assert not found["build-app"].dependents
    base = found["build-app"].base
    assert base is not None
    assert (base.build_arg, base.build_context, base.fallback) == (
        "BASE_IMAGE", "", "ghcr.io/${{ github.repository_owner }}/base:main")


def test_one_job_builds_with_qemu_only_when_a_platform_needs_it(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  app:\n    strategy: qemu\n    variants:\n"
            "      x86: {platforms: [amd64]}\n      arm: {platforms: [amd64, arm64]}\n")
    (job,) = jobs(plan_of(tmp_path, spec)).values()
    assert (job.kind, job.qemu, job.qemu_per_row, job.cross) == ("build", True, True, False)
    assert [row.get("qemu") for row in job.matrix] == ["", "arm64"]
    assert job.values["qemu"] == Literal("${{ matrix.qemu }}")


def test_buildx_cross_compiles_without_qemu(tmp_path: Path) -> None:
    (job,) = jobs(plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: buildx}\n")).values()
    assert (job.qemu, job.cross) == (False, True)
    assert job.values["platforms"] == "linux/amd64,linux/arm64"


def test_a_smoke_test_and_stand_in_runners_on_pull_requests(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  app:\n    strategy: native\n    platforms: [amd64, arm64]\n"
            "    runners: {linux/arm64: [self-hosted, arm64]}\n"
            "    test: {command: [--version], expect-output: '^app ', timeout-seconds: 30}\n")
    legs = jobs(plan_of(tmp_path, spec))["build"]
    assert legs.smoke_test is not None
    test = legs.smoke_test
    assert (test.command, test.expect_exit, test.expect_output, test.timeout) == ('["--version"]', "0", "^app ", "30")
    assert legs.stand_ins == "pull requests"
    assert legs.runs_on == Literal("${{ github.event_name == 'pull_request' && matrix.pr-runner || matrix.runner }}")
    assert [row.get("pr-runner") for row in legs.matrix] == [None, "ubuntu-24.04-arm"]


@pytest.mark.parametrize(("mode", "expected"), [
    ("read", ("type=gha,scope=app",
              Literal(f"${{{{ {PUSHING} && 'type=gha,scope=app,mode=max,ignore-error=true' || '' }}}}"))),
    ("write", ("type=gha,scope=app", "type=gha,scope=app,mode=max,ignore-error=true")),
    ("off", (Literal(f"${{{{ {PUSHING} && 'type=gha,scope=app' || '' }}}}"),
             Literal(f"${{{{ {PUSHING} && 'type=gha,scope=app,mode=max,ignore-error=true' || '' }}}}"))),
])
def test_pull_requests_read_the_cache_but_write_it_only_when_allowed(mode: str,
                                                                     expected: tuple[object, object]) -> None:
    assert cache_inputs("type=gha,scope=app", mode) == expected


def test_a_cache_per_leg_reads_the_matrix() -> None:
    assert cache_inputs(Literal("${{ matrix.cache }}"), "write") == (
        Literal("${{ matrix.cache }}"), Literal("${{ format('{0},mode=max,ignore-error=true', matrix.cache) }}"))
    assert cache_inputs(None, "read") == (None, None)


def test_legs_keep_a_cache_each_and_leave_out_what_no_build_sets(tmp_path: Path) -> None:
    legs = jobs(plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: native}\n"))["build"]
    assert [row["cache"] for row in legs.matrix] == ["type=gha,scope=app--linux-amd64",
                                                     "type=gha,scope=app--linux-arm64"]
    assert legs.cache_from == Literal("${{ matrix.cache }}")
    assert (legs.values["target"], legs.values["build-args"], legs.values["sbom"]) == (None, None, None)
