"""WorkflowPlan: the plain data a template lays out. No decisions here, only shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Literal:
    """A value the generator wrote itself (an expression, a fixed option): emitted as is, never quoted
    for safety reasons beyond what YAML needs. Everything else is user data and goes through quoting."""

    text: str


Value = str | int | bool | Literal


@dataclass(frozen=True)
class Step:
    name: str
    uses: str = ""  # owner/repo; the renderer adds the pinned commit and release comment
    id: str = ""
    if_: str = ""
    with_: tuple[tuple[str, Value], ...] = ()
    env: tuple[tuple[str, Value], ...] = ()
    shell: str = ""
    working_directory: Value = ""
    run: str = ""
    comment: str = ""  # why this step is here, for the reviewer


@dataclass(frozen=True)
class Permission:
    scope: str
    level: str
    why: str


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    runs_on: Value | tuple[str, ...]
    timeout_minutes: int
    permissions: tuple[Permission, ...]
    steps: tuple[Step, ...]
    needs: tuple[str, ...] = ()
    if_: str = ""
    matrix: tuple[dict[str, Any], ...] = ()  # `include:` entries; empty means no matrix
    fail_fast: bool = True
    comment: str = ""


@dataclass(frozen=True)
class Trigger:
    push_branches: tuple[str, ...]
    push_tags: tuple[str, ...]
    pull_request_branches: tuple[str, ...] | None  # None: no pull_request trigger
    manual: bool  # workflow_dispatch
    manual_push: bool  # with a `push` input: some ref the push triggers name can publish by hand
    schedule: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()  # path filters for branch pushes and pull requests


@dataclass(frozen=True)
class Workflow:
    filename: str  # under .github/workflows/
    name: str
    on: Trigger
    concurrency_group: str
    push_condition: str  # the expression for env.PUSH: does this run publish?
    push_note: str  # when it does not, in words, for the reviewer
    jobs: tuple[Job, ...]
    summary: tuple[str, ...] = field(default=())  # header lines for reviewers: what each image does and why
    builds: tuple[str, ...] = ()  # the keys of the builds it holds


@dataclass(frozen=True)
class CheckWorkflow:
    """The drift guard: `gen-workflows --check` on pull requests that touch what the workflows come from."""

    filename: str
    name: str
    paths: tuple[str, ...]
    command: str  # the whole shell command, generator-made
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class WorkflowPlan:
    spec_path: str
    workflows: tuple[Workflow, ...]
    check: CheckWorkflow | None = None
