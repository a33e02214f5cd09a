"""A pull-request run of every generated workflow logs in nowhere, pushes nothing, touches no secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from .conftest import SAMPLE_NAMES, SAMPLES

NOT_ON_PR = "github.event_name != 'pull_request'"


def _workflows() -> list[Path]:
    return sorted(p for name in SAMPLE_NAMES for p in (SAMPLES / name / ".github/workflows").glob("*.yml"))


def _skipped_on_pr(condition: str | None) -> bool:
    return bool(condition) and NOT_ON_PR in str(condition) and " || " not in str(condition)


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_pull_request_runs_neither_log_in_nor_push(path: Path) -> None:
    workflow: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    assert "pull_request_target" not in workflow["on"], "never run fork code with secrets"
    for job_id, job in workflow["jobs"].items():
        if _skipped_on_pr(job.get("if")):
            continue
        for step in job["steps"]:
            text = repr(step)
            if _skipped_on_pr(step.get("if")):
                continue
            where = f"{job_id} / {step['name']}"
            assert "docker/login-action" not in step.get("uses", ""), f"{where} logs in on pull requests"
            assert "secrets." not in text, f"{where} reads a secret on pull requests"
            inputs = step.get("with", {})
            if "docker/build-push-action" in step.get("uses", ""):
                assert inputs.get("push") in (False, "${{ " + NOT_ON_PR + " }}", None), where
                outputs = str(inputs.get("outputs", ""))
                assert "push=true" not in outputs, where
                cache_to = str(inputs.get("cache-to", ""))
                assert not cache_to or cache_to.startswith("${{ " + NOT_ON_PR + " && "), where


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_permissions_are_least_privilege(path: Path) -> None:
    workflow: dict[str, Any] = YAML(typ="safe").load(path.read_text())
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert isinstance(job.get("timeout-minutes"), int)
        for scope, level in job["permissions"].items():
            assert level in ("read", "write")
            if level == "write":
                assert scope in ("packages", "id-token", "attestations"), scope
        for step in job["steps"]:
            if "actions/checkout" in step.get("uses", ""):
                assert step["with"]["persist-credentials"] is False
            uses = step.get("uses")
            if uses:
                ref = uses.split("@", 1)[1]
                assert len(ref) == 40, uses
                assert all(c in "0123456789abcdef" for c in ref), uses
