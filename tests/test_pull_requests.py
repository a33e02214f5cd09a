"""A pull-request run of every generated workflow logs in nowhere, pushes nothing, touches no secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from .conftest import SAMPLE_NAMES, SAMPLES

NOT_ON_PR = "github.event_name != 'pull_request'"
PUSHING = "env.PUSH == 'true'"


def _workflows() -> list[Path]:
    return sorted(p for name in SAMPLE_NAMES for p in (SAMPLES / name / ".github/workflows").glob("*.yml"))


def _false_on_pr(condition: object) -> bool:
    """Whether an expression is false for every pull_request event: `<not a PR> && ...` at the top level."""
    text = str(condition or "").strip()
    text = text.removeprefix("${{").removesuffix("}}").strip()
    return text == NOT_ON_PR or text.startswith(NOT_ON_PR + " && ")


def _load(path: Path) -> dict[str, Any]:
    workflow: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    return workflow


ENGINE = "multiarch.yml"
ENGINE_USES = f"./.github/workflows/{ENGINE}"
CACHE_WRITES = (f"${{{{ matrix.cache && {PUSHING} && ",
                f"${{{{ matrix.cache && ({PUSHING} || inputs.pr-cache == 'write') && ")

CACHE_WRITE_WHEN = ("${{ env.PUSH }}", f"${{{{ {PUSHING} || inputs.pr-cache == 'write' }}}}")


def _is_call(job: dict[str, Any]) -> bool:
    return "uses" in job


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_pull_request_runs_neither_log_in_nor_push(path: Path) -> None:
    """A build workflow only calls the engine; the engine publishes only when PUSH, false on every pull
    request, says so: its logins, secrets and pushes all wait for it."""
    workflow = _load(path)
    assert "pull_request_target" not in workflow["on"], "never run fork code with secrets"
    calls = {job_id: job for job_id, job in workflow["jobs"].items() if _is_call(job)}
    if calls:
        assert calls == workflow["jobs"], "a build workflow holds calls only, no steps of its own"
        assert "env" not in workflow
        for job_id, job in calls.items():
            assert job["uses"] == ENGINE_USES, f"{job_id} calls the engine, nothing else"
            assert "steps" not in job
            for name, value in job.get("secrets", {}).items():
                # `<not a pull request> && secrets.X || ''`: the engine gets it under its own name, and nothing
                # on a pull request's run (DESIGN: pull-request runs read no secret).
                gate, _, handed = str(value).removeprefix("${{ ").removesuffix(" }}").rpartition(" && ")
                assert handed == f"secrets.{name} || ''", f"{job_id} hands the engine its secret {name} by name"
                assert _false_on_pr(gate), f"{job_id} hands the engine {name} on pull requests"
        engine = _load(path.parent / ENGINE)
        assert "workflow_call" in engine["on"], "the engine is only ever called"
        assert _false_on_pr(engine["env"]["PUSH"]), "the engine's PUSH is false on pull requests"
        return
    if "env" in workflow or path.name != "multiarch-check.yml":
        assert _false_on_pr(workflow["env"]["PUSH"]), "PUSH is false on pull requests"
    for job_id, job in workflow["jobs"].items():
        if _false_on_pr(job.get("if")):
            continue
        for step in job["steps"]:
            # (`env.PUSH == 'true' && env.PUSH_TO_<registry> == 'true'`: a registry some publishing runs skip)
            if step.get("if") == PUSHING or str(step.get("if", "")).startswith(f"{PUSHING} && ") \
                    or _false_on_pr(step.get("if")):
                continue
            where = f"{job_id} / {step['name']}"
            uses = step.get("uses", "")
            assert "login" not in uses, f"{where} logs in on pull requests"
            assert "configure-aws-credentials" not in uses, where
            assert "${{ secrets." not in repr(step), f"{where} reads a secret on pull requests"
            inputs = step.get("with", {})
            if "docker/build-push-action" in uses:
                assert inputs.get("push") in (False, "${{ env.PUSH }}", None), where
                outputs = str(inputs.get("outputs", ""))
                assert "push=true" not in outputs, where
                for exporter in filter(None, outputs.splitlines()):  # or a local OCI layout, only when not publishing
                    assert exporter.endswith("push=${{ env.PUSH }}") or (
                        "type=oci," in exporter and "env.PUSH != 'true'" in exporter), where
                cache_to = str(inputs.get("cache-to", ""))
                if cache_to == "${{ steps.cache.outputs.to }}":  # per-branch keys: cache-keys.sh writes on WRITE
                    keys = next(s for s in job["steps"] if s.get("id") == "cache")
                    assert keys["env"]["WRITE"] in CACHE_WRITE_WHEN, where
                    continue
                assert not cache_to or cache_to.startswith(CACHE_WRITES), where


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_the_engine_logs_in_only_when_publishing(sample: str) -> None:
    """Every sample has its engine, and in it every login and secret waits for PUSH (the check above
    would pass vacuously on an engine with no login at all)."""
    engine = _load(SAMPLES / sample / ".github/workflows" / ENGINE)
    logins = [(job_id, step) for job_id, job in engine["jobs"].items() for step in job["steps"]
              if "login" in step.get("uses", "") or "${{ secrets." in repr(step)]
    assert logins, "the engine logs in to publish"
    for job_id, step in logins:
        guarded = step.get("if") == PUSHING or str(step.get("if", "")).startswith(f"{PUSHING} && ")
        assert guarded or _false_on_pr(engine["jobs"][job_id].get("if")), (job_id, step["name"])


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_permissions_are_least_privilege(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"] or job["permissions"] == {}, "every job says what it holds"
        for scope, level in job["permissions"].items():
            assert level in ("read", "write")
            if level == "write":
                assert scope in ("packages", "id-token", "attestations"), scope
        if _is_call(job):
            assert "timeout-minutes" not in job, "a call cannot set one: each engine job has its own"
            continue
        timeout = job.get("timeout-minutes")
        assert isinstance(timeout, int) or timeout == "${{ inputs.timeout }}", "every job has a timeout"
        if isinstance(timeout, str):
            engine = _load(path)
            assert isinstance(engine["on"]["workflow_call"]["inputs"]["timeout"]["default"], int), "and a default"
        for step in job["steps"]:
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False
            uses = step.get("uses")
            if uses:
                ref = uses.split("@", 1)[1]
                assert len(ref) == 40, uses
                assert all(c in "0123456789abcdef" for c in ref), uses


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_every_action_is_pinned_with_its_release_comment(path: Path) -> None:
    import re

    lines = [line.strip() for line in path.read_text().splitlines() if line.strip().startswith(("uses:", "- uses:"))]
    assert lines
    local = [line for line in lines if line.startswith(f"uses: {ENGINE_USES} ")]
    assert all(line.split(" # ", 1)[1].startswith("zizmor: ignore[self-repository] ") for line in local), local
    assert (path.parent / ENGINE).is_file() or not local
    for line in (line for line in lines if line not in local):
        assert re.fullmatch(r"(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line), line
