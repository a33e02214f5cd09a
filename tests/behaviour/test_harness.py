"""How the harness splits a run between act invocations, and how it tells a job act stopped from one
GitHub would skip too. No act here: the grouping and the log reading are called in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from . import harness, scenarios

STACK = {"multiarch-stack.yml": {"jobs": {
    "base": {"name": "stack/base", "uses": "./.github/workflows/multiarch.yml"},
    "base-cuda": {"name": "stack/base-cuda", "uses": "./.github/workflows/multiarch.yml"},
    "devel": {"name": "stack/devel", "needs": "base", "uses": "./.github/workflows/multiarch.yml"},
    "runtime": {"name": "stack/runtime", "needs": ["base"], "uses": "./.github/workflows/multiarch.yml"},
    "runtime-cuda": {"name": "stack/runtime-cuda", "needs": ["base-cuda"], "uses": "./.github/workflows/multiarch.yml"},
}}}


def _ran(call: str, result: str = "success") -> list[dict[str, Any]]:
    """What act logs for a call: its engine's jobs under "<caller name>/<engine name>/<job name>"."""
    return [{"job": f"{call}/Multi-arch build engine/Build linux/amd64", "jobID": "legs", "jobResult": result}]


def test_each_connected_component_of_needs_gets_its_own_act_run() -> None:
    """act stops every later stage after a failed job; GitHub only the jobs that need it."""
    assert harness.act_groups(STACK) == [{"multiarch-stack.yml": ["base", "devel", "runtime"]},
                                         {"multiarch-stack.yml": ["base-cuda", "runtime-cuda"]}]


def test_jobs_alone_share_one_act_run_across_workflows() -> None:
    docs: dict[str, dict[str, Any]] = {
        "a.yml": {"jobs": {"web": {}}}, "b.yml": {"jobs": {"worker": {}, "x": {}, "y": {"needs": "x"}}}}
    assert harness.act_groups(docs) == [{"a.yml": ["web"], "b.yml": ["worker"]}, {"b.yml": ["x", "y"]}]


def test_a_job_act_stopped_is_told_from_a_skipped_dependent() -> None:
    # stack/base failed: devel and runtime are skipped on GitHub too; runtime-cuda should have run.
    log = _ran("stack/base", "failure") + _ran("stack/base-cuda")
    assert harness.stopped_jobs(STACK, log) == ["multiarch-stack.yml: jobs.runtime-cuda (stack/runtime-cuda)"]
    log += _ran("stack/runtime-cuda")
    assert harness.stopped_jobs(STACK, log) == []


def test_a_job_with_a_condition_is_not_called_stopped() -> None:
    docs = {"w.yml": {"jobs": {"build": {}, "publish": {"needs": "build", "if": "github.event_name == 'push'"}}}}
    assert harness.stopped_jobs(docs, [{"job": "build", "jobID": "build", "jobResult": "success"}]) == []


def test_a_merge_group_payload_names_the_queued_commit_on_the_queue_branch() -> None:
    scenario = harness.Scenario("merge-queue", "merge_group")
    payload = harness.event_payload("go-cross", scenario, "a" * 40)
    group = payload["merge_group"]
    assert payload["action"] == "checks_requested"
    assert (group["head_sha"], group["base_ref"]) == ("a" * 40, "refs/heads/main")
    assert group["head_ref"].startswith("refs/heads/gh-readonly-queue/main/pr-42-")
    assert harness.triggered({"on": {"merge_group": None}}, scenario, []), "merge_group has no path filter"


def test_only_a_run_act_itself_crashed_is_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """act's map race (nektos/act#6055) is act's failure, not the workflow's: that run starts again from
    scratch; a run that failed any other way is judged as it is."""
    logs = iter([f"...\n{harness.ACT_CRASH}\n", "a failed step\n", "never\n"])
    calls: list[Path] = []

    def run_scenario(toolkit: object, source: Path, scenario: object, workdir: Path, *args: object) -> Path:
        calls.append(workdir)
        workdir.mkdir(parents=True)
        (workdir / "act.log").write_text(next(logs))
        return workdir

    monkeypatch.setattr(harness, "run_scenario", run_scenario)
    runs = scenarios.Runs(cast(harness.Toolkit, None), tmp_path, workers=1)
    case = scenarios.Case("minimal", harness.Scenario("push-main", "push"), "push")
    try:
        assert runs.submit(case).result() == tmp_path / "minimal-push-main-retry-1"
    finally:
        runs.close()
    assert [p.name for p in calls] == ["minimal-push-main", "minimal-push-main-retry-1"]
