"""Plans made from a spec written in a test: the stages up to the plan's data, no templates."""

from __future__ import annotations

from pathlib import Path

from generator.app import Planned, plan_spec
from generator.plan import plan_data
from generator.workflow import Job, Workflow, WorkflowPlan

from ..conftest import write_tree


def planned(root: Path, spec: str, files: dict[str, str] | None = None) -> Planned:
    """Load, analyse, decide and plan `spec` in a repository holding a Dockerfile (and `files`)."""
    write_tree(root, {".github/multiarch.yaml": spec, "Dockerfile": "FROM alpine:3.22\n", **(files or {})})
    return plan_spec(root)


def plan_of(root: Path, spec: str, files: dict[str, str] | None = None) -> WorkflowPlan:
    """The plan's data as the plan stage makes it (before any template lays it out)."""
    stages = planned(root, spec, files)
    return plan_data(stages.spec, stages.decisions)


def workflow(plan: WorkflowPlan, filename: str) -> Workflow:
    return next(wf for wf in plan.workflows if wf.filename == filename)


def jobs(plan: WorkflowPlan) -> dict[str, Job]:
    """Every job of a plan with a single workflow, by id."""
    (wf,) = plan.workflows
    return {job.id: job for job in wf.jobs}
