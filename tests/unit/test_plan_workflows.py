"""plan/workflows.py: which builds share a file, triggers and path filters, when a run publishes, logins,
the drift guard, and outputs that would collide."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.errors import UserError
from generator.plan import plan_data, tags
from generator.plan.engine import NOT_PR
from generator.plan.workflows import CHECK_REQUIREMENTS
from generator.workflow import Literal

from ..conftest import REPO
from .plans import plan_of, planned, workflow

TWO = """version: 1
images:
  base: {strategy: qemu, context: base}
  app: {strategy: qemu, context: app, from: base}
  tool: {strategy: qemu, context: tools, dockerfile: docker/tool.Dockerfile}
"""
TWO_FILES = {"base/Dockerfile": "FROM alpine\n", "app/Dockerfile": "ARG BASE_IMAGE\nFROM $BASE_IMAGE\n",
             "docker/tool.Dockerfile": "FROM alpine\n", "tools/main.go": "package main\n"}


def test_linked_images_share_a_file_and_others_get_their_own(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, TWO, TWO_FILES)
    assert [(wf.filename, wf.name, wf.builds) for wf in plan.workflows] == [
        ("multiarch.yml", "Multi-arch build engine", ()),
        ("multiarch-base.yml", "Images base, app", ("base", "app")), ("multiarch-tool.yml", "Image tool", ("tool",))]
    assert [[job.id for job in wf.jobs] for wf in plan.workflows[1:]] == [["base", "app"], ["tool"]], "a call each"


def test_path_filters_name_what_each_image_is_built_from(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, TWO, TWO_FILES)
    # The engine too: a change to the shared jobs (a tool upgrade) rebuilds every image.
    assert workflow(plan, "multiarch-base.yml").on.paths == (
        "base/**", "app/**", ".github/multiarch.yaml", ".github/workflows/multiarch.yml",
        ".github/workflows/multiarch-base.yml")
    assert workflow(plan, "multiarch-tool.yml").on.paths == (
        "tools/**", "docker/tool.Dockerfile", ".github/multiarch.yaml", ".github/workflows/multiarch.yml",
        ".github/workflows/multiarch-tool.yml")
    whole = plan_of(tmp_path / "whole", "version: 1\nimages:\n  app: {strategy: qemu}\n")
    assert workflow(whole, "multiarch-app.yml").on.paths == (), "a build of the whole repository needs every change"


@pytest.mark.parametrize(("triggers", "condition", "refs"), [
    ("{manual: false}", NOT_PR, ""),
    ("{branches: [main], tags: []}",
     f"{NOT_PR} && (github.event_name != 'workflow_dispatch' || github.event.inputs.push == 'true' "
     "&& (github.ref == 'refs/heads/main'))",
     "^refs/heads/main$"),
    ("{branches: ['release/*'], tags: ['v*.*.*']}", f"{NOT_PR} && github.event_name != 'workflow_dispatch'", ""),
])
def test_when_a_run_publishes(tmp_path: Path, triggers: str, condition: str, refs: str) -> None:
    spec = f"version: 1\ntriggers: {triggers}\nimages:\n  app: {{strategy: native}}\n"
    engine, wf = plan_of(tmp_path, spec).workflows
    assert engine.push_condition.text == wf.push_condition.text == f"${{{{ {condition} }}}}"
    assert engine.publishing_refs == refs
    assert [job.manual_note for job in engine.jobs] == [bool(refs), False], "the note once, in the legs"
    assert wf.on.manual_push is bool(refs), "no push input where a manual run can never publish"
    assert not engine.on.manual_push, "the engine is only called"


def test_logins_are_named_by_registry_kind_numbered_when_it_repeats(tmp_path: Path) -> None:
    spec = """version: 1
registries:
  - {type: generic, host: registry.example.com, namespace: team, username-secret: U1, password-secret: P1}
  - {type: ghcr, namespace: acme}
  - {type: generic, host: mirror.example.com, namespace: team, username-secret: U2, password-secret: P2}
images:
  app: {strategy: qemu}
"""
    engine, wf = plan_of(tmp_path, spec).workflows
    assert engine.secrets == ("U1", "P1", "U2", "P2"), "the engine takes the registries' secrets from its callers"
    (call,) = wf.jobs
    assert (call.secrets, call.secrets_when) == (engine.secrets, NOT_PR), "and only on a run that is no pull request's"
    assert [(login.slug, login.registry.host) for login in engine.logins] == [
        ("generic", "registry.example.com"), ("ghcr", "ghcr.io"), ("generic-2", "mirror.example.com")]


def test_the_drift_guard(tmp_path: Path) -> None:
    spec = "version: 1\ncheck-workflow: true\nimages:\n  app: {strategy: qemu, dockerfile: x/Dockerfile}\n"
    plan = plan_of(tmp_path, spec, {"x/Dockerfile": "FROM alpine\n"})
    check = plan.check
    assert check is not None
    assert check.paths == (".github/multiarch.yaml", ".github/workflows/**", CHECK_REQUIREMENTS, "x/Dockerfile")
    assert check.command == "gen-workflows --check\n"
    script = (REPO / "templates/scripts/install-gen-workflows.sh").read_text()
    assert f"-r {CHECK_REQUIREMENTS}\n" in script, "the script installs from the file the guard watches"


def test_outputs_that_would_overwrite_each_other_are_refused_together(tmp_path: Path) -> None:
    spec = """version: 1
check-workflow: true
registries:
  - {type: ghcr, namespace: acme}
images:
  check: {strategy: qemu}
  app:
    strategy: qemu
    cache: registry
    tags: [branch, {raw: buildcache}]
"""
    with pytest.raises(UserError) as raised:
        plan_of(tmp_path, spec)
    messages = [p.message for p in raised.value.problems]
    assert any("multiarch-check.yml, which the drift guard" in m for m in messages), messages
    assert any("ghcr.io/acme/app:buildcache, which is also a tag" in m for m in messages), messages


RELEASES_AND_QUEUE = """version: 1
triggers: {releases: true, merge-queue: true, tags: []}
runners: {linux/arm64: [self-hosted, arm64]}
images:
  app: {platforms: [linux/amd64, linux/arm64], strategy: native, tags: [branch, version, major, sha]}
"""


def test_a_release_publishes_its_tag_and_a_merge_queue_group_builds_like_a_pull_request(tmp_path: Path) -> None:
    engine, wf = plan_of(tmp_path, RELEASES_AND_QUEUE).workflows
    assert (wf.on.release, wf.on.merge_group, wf.on.push_tags) == (True, True, ())
    # A release is no pull request: it publishes; a merge queue's group never does, nor logs in.
    condition = (f"{NOT_PR} && github.event_name != 'merge_group' && (github.event_name != 'workflow_dispatch' "
                 "|| github.event.inputs.push == 'true' && (github.ref == 'refs/heads/main'))")
    assert engine.push_condition.text == wf.push_condition.text == f"${{{{ {condition} }}}}"
    assert "never on pull requests, merge queues," in engine.push_note
    (call,) = wf.jobs
    assert call.secrets_when == f"{NOT_PR} && github.event_name != 'merge_group'", "a group gets no secret either"
    legs, merge = engine.jobs
    # A group holds the queued pull requests' code (forks' too): never on a self-hosted runner.
    assert legs.runs_on == Literal("${{ (github.event_name == 'merge_group' || github.event_name == 'pull_request') "
                                   "&& matrix.pr-runner || matrix.runner }}")
    assert legs.stand_ins == "pull requests and merge queues"
    # Its ref is the release's tag: the semver rules wait for the floating-tags decision, as on a tag push.
    assert merge.floating
    assert "semver" in {i.name for i in engine.inputs}


def test_a_merge_queue_keeps_self_hosted_runners_from_its_groups_even_with_the_opt_in(tmp_path: Path) -> None:
    spec = RELEASES_AND_QUEUE.replace("merge-queue: true,", "merge-queue: true, self-hosted-pull-requests: true,")
    legs = plan_of(tmp_path, spec).workflows[0].jobs[0]
    assert legs.runs_on == Literal(
        "${{ (github.event_name == 'merge_group' || github.event_name == 'pull_request' && "
        "github.event.pull_request.head.repo.full_name != github.repository) && matrix.pr-runner || matrix.runner }}")


def test_without_the_new_triggers_nothing_changes(tmp_path: Path) -> None:
    engine, wf = plan_of(tmp_path, RELEASES_AND_QUEUE.replace("releases: true, merge-queue: true, ", "")).workflows
    assert (wf.on.release, wf.on.merge_group) == (False, False)
    assert "merge_group" not in engine.push_condition.text
    assert "merge_group" not in str(engine.jobs[0].runs_on)
    assert not engine.jobs[1].floating, "no version tag runs the workflow"


def test_the_tag_table_has_the_release_and_merge_queue_runs(tmp_path: Path) -> None:
    stages = planned(tmp_path, RELEASES_AND_QUEUE)
    plan = plan_data(stages.spec, stages.decisions)
    engine = plan.workflows[0]
    defaults = {i.name: i.default for i in engine.inputs if i.default is not None}
    inputs = {"app": {**defaults, **plan.workflows[1].jobs[0].values}}
    table = {event.label: written for event, _, written in tags.table(stages.spec, inputs)}
    assert set(table["release v1.4.0 (the highest release)"]) == {"app:1.4.0", "app:1", "app:latest", "app:sha-<sha>"}
    assert set(table["release v1.2.1 (a fix below the highest)"]) == {"app:1.2.1", "app:sha-<sha>"}, "latest stays"
    assert set(table["release v1.4.0-rc.1 (a pre-release)"]) == {"app:1.4.0-rc.1", "app:sha-<sha>"}
    assert table["merge queue group"] == table["pull request"] == ()
