"""The generated files read by their shape: a spec's engine (`multiarch.yml` for the default spec, else
`multiarch.<spec file's stem>.yml`; a reusable workflow holding every step in its jobs `legs`, `merge` and
`sign`, with `env.PUSH` and `env.IMAGES` at its top) and its build workflows, whose jobs only call the
engine (`uses:`, `with:`, `secrets:`, no steps)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ENGINE = "multiarch.yml"  # the default spec's engine
WORKFLOWS = ".github/workflows"


def load(text: str) -> dict[str, Any]:
    workflow: dict[str, Any] = YAML(typ="safe").load(text)
    return workflow


def is_call(job: Mapping[str, Any]) -> bool:
    return "uses" in job and "steps" not in job


@dataclass(frozen=True)
class Generated:
    """Every workflow of one spec, by file name (`multiarch.yml`, `multiarch-web.yml` ...)."""

    workflows: dict[str, dict[str, Any]]

    @property
    def engine_name(self) -> str:
        """The file name of the engine: the one workflow that is only ever called."""
        (name,) = [name for name, workflow in self.workflows.items() if "workflow_call" in workflow["on"]]
        return name

    @property
    def engine(self) -> dict[str, Any]:
        return self.workflows[self.engine_name]

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        """The engine's jobs: legs, merge and sign."""
        jobs: dict[str, dict[str, Any]] = self.engine["jobs"]
        return jobs

    @property
    def inputs(self) -> dict[str, Any]:
        """The engine's declared inputs."""
        inputs: dict[str, Any] = self.engine["on"]["workflow_call"]["inputs"]
        return inputs

    def steps(self, job_id: str) -> list[dict[str, Any]]:
        steps: list[dict[str, Any]] = self.jobs[job_id]["steps"]
        return steps

    def step(self, job_id: str, step_id: str) -> dict[str, Any]:
        (step,) = [s for s in self.steps(job_id) if s.get("id") == step_id]
        return step

    def ids(self, job_id: str) -> list[str]:
        return [s["id"] for s in self.steps(job_id)]

    def uses(self, job_id: str, action: str) -> list[dict[str, Any]]:
        """The steps of an engine job that run `action` (owner/name, any pin)."""
        return [s for s in self.steps(job_id) if s.get("uses", "").startswith(action + "@")]

    @property
    def builds(self) -> dict[str, dict[str, Any]]:
        """The build workflows (every file but the engine and a drift guard), by file name."""
        return {name: workflow for name, workflow in self.workflows.items()
                if name != self.engine_name and any(is_call(job) for job in workflow["jobs"].values())}

    @property
    def calls(self) -> dict[str, dict[str, Any]]:
        """Every call of the engine, by job id (a build's key, unique in the spec)."""
        found: dict[str, dict[str, Any]] = {}
        for name, workflow in self.builds.items():
            for job_id, job in workflow["jobs"].items():
                assert is_call(job), f"{name}: {job_id} holds steps; a build workflow only calls the engine"
                assert job["uses"] == f"./{WORKFLOWS}/{self.engine_name}", f"{name}: {job_id} calls {job['uses']}"
                assert job_id not in found, f"{job_id} twice"
                found[job_id] = job
        return found

    def calls_in(self, filename: str) -> dict[str, dict[str, Any]]:
        jobs: dict[str, dict[str, Any]] = self.workflows[filename]["jobs"]
        return jobs

    def with_(self, call: str) -> dict[str, Any]:
        inputs: dict[str, Any] = self.calls[call].get("with", {})
        return inputs

    def legs(self, call: str) -> list[dict[str, Any]]:
        """The call's rows for the engine's legs matrix."""
        rows: list[dict[str, Any]] = json.loads(self.with_(call)["legs"])
        return rows

    def input(self, call: str, name: str) -> Any:
        """What the engine gets for `name` from this call: the call's value, else the input's default."""
        given = self.with_(call)
        return given[name] if name in given else self.inputs[name].get("default")


def from_texts(files: Mapping[str, str]) -> Generated:
    """From render_files' answer, or any {path: text} whose paths end in the workflow file name."""
    return Generated({Path(path).name: load(text) for path, text in files.items()})


def generated(root: Path) -> Generated:
    """The workflows generated into a repository (a sample, or a copy of one)."""
    return Generated({p.name: load(p.read_text(encoding="utf-8")) for p in sorted((root / WORKFLOWS).glob("*.yml"))})
