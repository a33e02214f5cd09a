"""WorkflowPlan: the plain data the templates lay out. Decisions only (what each job builds, where, when it
publishes, which optional parts it has); the YAML shape, step order, names and scripts are in templates/."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from .model import Registry
from .record import record


@record
class Literal:
    """A value the generator wrote itself (an expression, a fixed option): emitted as is, never quoted
    for safety reasons beyond what YAML needs. Everything else is user data and goes through quoting."""

    text: str


Value = str | int | bool | Literal
# A job's values by matrix key: one written out when every build of the job shares it, else the Literal
# `${{ matrix.<key> }}` (the rows hold the values). None: an optional input that no build of the job sets.
Values = Mapping[str, Value | None]


@record
class Permission:
    scope: str
    level: str
    why: str


@record
class Login:
    """A registry the jobs log in to; the template writes the login its kind needs."""

    slug: str  # unique among the spec's registries: names the steps (login-<slug>, attest-<slug>)
    registry: Registry  # as the spec gives it (kind, host, secrets; role and region for ECR)
    flag: str = ""  # a conditional registry: the engine's env variable saying whether this run publishes there
    condition: str = ""  # that variable's expression
    note: str = ""  # when the run publishes there, in words, for its comment


@record
class BaseImage:
    """The engine's part that starts a build from its inputs (each input call's `ref` output): how some call
    takes them, as build arguments, build contexts, or both across calls; and whether some leg joins an
    input's per-platform OCI layouts into one (runs that publish nothing)."""

    build_arg: bool
    build_context: bool
    join: bool = False


@record
class SmokeTest:
    """The spec's test, as the smoke-test step's environment."""

    command: str  # the arguments as a JSON list
    expect_exit: str
    expect_output: str
    timeout: str


@record
class StepOutline:
    """A step as its job's template laid it out (read back from a render): where actions.step_actions
    finds the actions a bot may bump, and what `plan --format mermaid` says a job does."""

    id: str
    name: str
    uses: str  # owner/repo, "" for a script


@record
class Job:
    """One job. `kind` picks its template (templates/jobs/<kind>.yml.j2); the flags say which optional
    parts it has. A flag that does not apply to a kind stays at its default."""

    kind: str  # engine: "legs" (a leg per runner, pushed by digest), "merge" (verify, then tag), "sign"; "call"
    id: str
    name: str
    runs_on: Value | tuple[str, ...]
    timeout_minutes: int | Literal
    permissions: tuple[Permission, ...]
    values: Values
    needs: tuple[str, ...] = ()
    if_: Literal | None = None  # when the job runs
    matrix: tuple[dict[str, Any], ...] = ()  # `include:` rows; empty means no matrix
    fail_fast: bool = True
    title: str = ""  # the builds the job holds, for its comment
    manual_note: bool = False  # a manual run checks its ref exactly, or says why it does not publish (first job)
    floating: bool = False  # release tags go through the floating-tags step (checks out the tags)
    qemu: bool = False  # sets up QEMU
    qemu_per_row: bool = False  # only for the matrix rows whose `qemu` is set
    cross: bool = False  # buildx cross-compiles for a platform the runner cannot run
    base: BaseImage | None = None
    hand_over: bool = False  # legs: on runs that publish nothing, a build's dependents get its OCI layouts
    lowercase: bool = False  # image names hold the repository owner, lower-cased by a step first
    cache_from: Value | None = None
    cache_to: Value | None = None
    cache_keys: bool = False  # legs: a step fills in the branch of per-branch cache keys (cache-keys.sh)
    smoke_test: SmokeTest | None = None
    per_arch_tags: bool = False
    dependents: bool = False  # later jobs (dependent builds, signing) read the pushed digest from an artifact
    runners: tuple[str, ...] = ()  # legs: the runners, for the comment
    stand_ins: str = ""  # legs: on which events a GitHub-hosted runner stands in for a self-hosted one
    sign: bool = False  # sign: signs with Cosign
    sign_per_row: bool = False  # only the matrix rows whose `sign` is "true"
    attest: bool = False  # sign: attests the build provenance
    attest_per_row: bool = False
    steps: tuple[StepOutline, ...] = ()  # filled from the render (generator.render.outline), not by the plan
    secrets: tuple[str, ...] = ()  # call: the registry secrets it hands the engine
    secrets_when: str = ""  # call: the runs it hands them on (never a pull request's, which publishes nothing)
    comment: str = ""  # call: what the build is and why, for its reviewer
    uses: str = ""  # call: the engine's file name under .github/workflows/
    environment: Value = ""  # merge, sign: the environment holding registry secrets, on the runs that push there


@record
class EngineInput:
    name: str
    default: str | bool | int | None  # None: required
    why: str = ""  # the comment beside it


@record
class Trigger:
    push_branches: tuple[str, ...]
    push_tags: tuple[str, ...]
    pull_request_branches: tuple[str, ...] | None  # None: no pull_request trigger
    manual: bool  # workflow_dispatch
    manual_push: bool  # with a `push` input: some ref the push triggers name can publish by hand
    schedule: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # path filters for branch pushes and pull requests
    release: bool = False  # a published GitHub release
    merge_group: bool = False  # a merge queue's groups, built like pull requests


@record
class Workflow:
    filename: str  # under .github/workflows/
    name: str
    on: Trigger
    push_condition: Literal  # the expression for env.PUSH: does this run publish?
    push_note: str  # when it does not, in words, for the reviewer
    logins: tuple[Login, ...]
    jobs: tuple[Job, ...]
    publishing_refs: str = ""  # a manual run's publishing refs: exact regular expressions, the last match deciding
    summary: tuple[str, ...] = field(default=())  # header lines for reviewers: what each image does and why
    builds: tuple[str, ...] = ()  # the keys of the builds it holds
    template: str = "workflow.yml.j2"  # "engine.yml.j2": the shared engine every build workflow calls
    inputs: tuple[EngineInput, ...] = ()  # engine: what a call may pass
    secrets: tuple[str, ...] = ()  # engine: the registry secrets a call may pass
    images: str = ""  # engine: each registry's reference, for ${{ inputs.repository }}
    renamed: tuple[str, ...] = ()  # engine: the slugs of the registries some call names its repository for
    held: str = ""  # engine: the registries an environment holds the secrets of (their references' prefixes)


@record
class CheckWorkflow:
    """The drift guard: `gen-workflows --check` on pull requests that touch what the workflows come from."""

    filename: str
    name: str
    paths: tuple[str, ...]
    requirements: str  # the hashed requirements file it installs gen-workflows from
    command: str  # the whole shell command, generator-made
    steps: tuple[StepOutline, ...] = ()  # filled from the render, like Job.steps


@record
class WorkflowPlan:
    spec_path: str
    workflows: tuple[Workflow, ...]
    check: CheckWorkflow | None = None
