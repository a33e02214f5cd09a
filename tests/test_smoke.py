"""Per-platform overrides and smoke tests that gate the tags (read from the samples, and the scripts run
against a stand-in `docker`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from .conftest import REPO, SAMPLES

SCRIPTS = REPO / "templates/scripts"
ENGINE_USES = "./.github/workflows/multiarch.yml"


def _workflow(sample: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((SAMPLES / sample / ".github/workflows" / name).read_text())
    return data


def _ids(job: dict[str, Any]) -> list[str]:
    return [s["id"] for s in job["steps"]]


def _step(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s["id"] == step_id)


def _legs(call: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(call["with"]["legs"])
    return rows


def test_one_dockerfile_per_architecture_merges_into_one_tag() -> None:
    (call,) = _workflow("per-arch-dockerfiles", "multiarch-infer.yml")["jobs"].values()
    assert call["uses"] == ENGINE_USES
    legs = _legs(call)
    assert [(leg["platform"], leg["file"], leg["runner"]) for leg in legs] == [
        ("linux/amd64", "Dockerfile.amd64", "ubuntu-24.04"), ("linux/arm64", "Dockerfile.arm64", "ubuntu-24.04-arm")]
    assert legs[1]["build-args"] == "L4T=r36.2.0\n"
    jobs = _workflow("per-arch-dockerfiles", "multiarch.yml")["jobs"]
    assert jobs["legs"]["strategy"]["matrix"]["include"] == "${{ fromJSON(inputs.legs) }}", "a leg per row"
    build = _step(jobs["legs"], "build")
    assert build["with"]["file"] == "${{ matrix.file || inputs.file }}"
    assert build["with"]["build-args"] == "${{ matrix.build-args || inputs.build-args }}"
    assert jobs["merge"]["needs"] == "legs"
    assert "imagetools create" in _step(jobs["merge"], "create-tags")["run"]


def test_every_leg_runs_the_smoke_test_before_the_merge_even_on_pull_requests() -> None:
    (call,) = _workflow("smoke-test", "multiarch-hello.yml")["jobs"].values()
    legs = _legs(call)
    assert [leg["platform"] for leg in legs] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    assert [leg.get("qemu") for leg in legs] == [None, None, "arm"], "only the emulated leg sets up QEMU"
    assert call["with"]["test"] == '["--version"]'
    assert call["with"]["expect-output"] == r"^hello [0-9]+\.[0-9]+\.[0-9]+"
    jobs = _workflow("smoke-test", "multiarch.yml")["jobs"]
    assert _step(jobs["legs"], "qemu")["if"] == "matrix.qemu"
    ids = _ids(jobs["legs"])
    assert ids.index("build") < ids.index("smoke-test") < ids.index("upload-digest")
    for step_id in ("smoke-load", "smoke-test"):
        assert _step(jobs["legs"], step_id)["if"] == "inputs.test", "runs on pull requests, for the builds with a test"
    load = _step(jobs["legs"], "smoke-load")["with"]
    assert (load["load"], load["platforms"], load.get("push", False)) == (True, "${{ matrix.platform }}", False)
    test = _step(jobs["legs"], "smoke-test")
    assert test["env"]["COMMAND"] == "${{ inputs.test }}"
    assert test["env"]["EXPECT_OUTPUT"] == "${{ inputs.expect-output }}"
    assert jobs["merge"]["needs"] == "legs", "the merge needs every leg, tests included"


@pytest.mark.parametrize("sample", ["smoke-test", "native-services", "minimal", "go-cross"])
def test_the_pushed_platforms_are_verified_before_any_tag(sample: str) -> None:
    """Every strategy pushes by digest, untagged; the merge verifies the digests, then tags (a wrong
    platform fails before any tag moves). The check itself: tests/unit/test_verify.py."""
    jobs = _workflow(sample, "multiarch.yml")["jobs"]
    outputs = _step(jobs["legs"], "build")["with"]["outputs"]
    assert "push-by-digest=true" in outputs
    assert "tags" not in _step(jobs["legs"], "build")["with"]
    ids = _ids(jobs["merge"])
    assert ids.index("download-digests") < ids.index("verify") < ids.index("create-tags")
    assert _step(jobs["merge"], "verify")["run"] == (SCRIPTS / "verify.sh").read_text(), "the tested script"
    assert "if" not in _step(jobs["merge"], "verify"), "never skipped"
    assert not [i for i in ids[:ids.index("verify")] if "tag" in i], "no tagging step before it"


def _stub_docker(tmp_path: Path, script: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f"#!/bin/bash\n{script}\n")
    docker.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _run_script(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert shutil.which("jq"), "jq is on GitHub's runners; install it to run these tests"
    return subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True)


@pytest.mark.parametrize(("output", "code", "passes", "problem"), [
    ("hello 1.4.0 (gcc 14)", 0, True, ""),
    ("hello 1.4.0", 139, False, "exit code 139, expected 0"),
    ("exec format error", 0, False, "the output does not match"),
])
def test_the_smoke_test_script(tmp_path: Path, output: str, code: int, passes: bool, problem: str) -> None:
    env = _stub_docker(tmp_path, f'echo "$@" > "{tmp_path}/args"; echo "{output}"; exit {code}')
    summary = tmp_path / "summary.md"
    env |= {"COMMAND": '["--version", "two words"]', "EXPECT_EXIT": "0", "EXPECT_OUTPUT": r"^hello [0-9]+\.",
            "TIMEOUT": "20", "PLATFORM": "linux/arm/v7", "PAIR": "linux-arm-v7", "GITHUB_STEP_SUMMARY": str(summary)}
    proc = _run_script((SCRIPTS / "smoke-test.sh").read_text(), env)
    assert (proc.returncode == 0) is passes, proc.stdout + proc.stderr
    expected = "run --rm --platform linux/arm/v7 smoke-test:linux-arm-v7 --version two words\n"
    assert (tmp_path / "args").read_text() == expected
    if passes:
        assert summary.read_text() == "Smoke test passed on linux/arm/v7\n"
    else:
        assert f"::error title=Smoke test failed on linux/arm/v7::{problem}" in proc.stdout
        assert summary.read_text().startswith(f"Smoke test failed on linux/arm/v7: {problem}")
