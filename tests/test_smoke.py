"""Per-platform overrides and smoke tests that gate the tags (read from the samples, and the scripts run
against a stand-in `docker`)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from .conftest import REPO, SAMPLES

SCRIPTS = REPO / "templates/scripts"


def _workflow(sample: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((SAMPLES / sample / ".github/workflows" / name).read_text())
    return data


def _ids(job: dict[str, Any]) -> list[str]:
    return [s["id"] for s in job["steps"]]


def _step(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s["id"] == step_id)


def test_one_dockerfile_per_architecture_merges_into_one_tag() -> None:
    jobs = _workflow("per-arch-dockerfiles", "multiarch-infer.yml")["jobs"]
    legs = jobs["build"]["strategy"]["matrix"]["include"]
    assert [(leg["platform"], leg["file"], leg["runner"]) for leg in legs] == [
        ("linux/amd64", "Dockerfile.amd64", "ubuntu-24.04"), ("linux/arm64", "Dockerfile.arm64", "ubuntu-24.04-arm")]
    assert legs[1]["build-args"] == "L4T=r36.2.0\n"
    build = _step(jobs["build"], "build")
    assert build["with"]["file"] == "${{ matrix.file }}"
    assert jobs["merge"]["needs"] == ["build"]
    assert "imagetools create" in next(s for s in jobs["merge"]["steps"] if "run" in s and "create" in s["run"])["run"]


def test_every_leg_runs_the_smoke_test_before_the_merge_even_on_pull_requests() -> None:
    jobs = _workflow("smoke-test", "multiarch-hello.yml")["jobs"]
    legs = jobs["build"]["strategy"]["matrix"]["include"]
    assert [leg["platform"] for leg in legs] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    assert [leg["qemu"] for leg in legs] == ["", "", "arm"], "only the emulated leg sets up QEMU"
    ids = _ids(jobs["build"])
    assert ids.index("build") < ids.index("smoke-test") < ids.index("upload-digest")
    for step_id in ("smoke-load", "smoke-test"):
        assert "if" not in _step(jobs["build"], step_id), "runs on pull requests"
    load = _step(jobs["build"], "smoke-load")["with"]
    assert (load["load"], load["platforms"], load.get("push", False)) == (True, "${{ matrix.platform }}", False)
    test = _step(jobs["build"], "smoke-test")
    assert test["env"]["COMMAND"] == '["--version"]'
    assert test["env"]["EXPECT_OUTPUT"] == r"^hello [0-9]+\.[0-9]+\.[0-9]+"
    assert jobs["merge"]["needs"] == ["build"], "the merge needs every leg, tests included"


def test_every_native_leg_checks_its_platform_before_the_merge() -> None:
    for sample, name in (("smoke-test", "multiarch-hello.yml"), ("native-services", "multiarch-api.yml")):
        build = _workflow(sample, name)["jobs"]["build"]
        ids = _ids(build)
        assert ids.index("platform-check") < ids.index("upload-digest")


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


@pytest.mark.parametrize(("config", "platform", "passes"), [
    ('{"os": "linux", "architecture": "arm64", "variant": "v8"}', "linux/arm64", True),
    ('{"linux/arm/v7": {"os": "linux", "architecture": "arm", "variant": "v7"}}', "linux/arm/v7", True),
    ('{"os": "linux", "architecture": "amd64"}', "linux/arm64", False),
])
def test_the_platform_check_script(tmp_path: Path, config: str, platform: str, passes: bool) -> None:
    env = _stub_docker(tmp_path, f"echo '{config}'")
    env |= {"NAMES": "ghcr.io/Acme/app,docker.io/acme/app", "DIGEST": "sha256:abc", "PLATFORM": platform}
    proc = _run_script((SCRIPTS / "platform-check.sh").read_text(), env)
    assert (proc.returncode == 0) is passes, proc.stdout + proc.stderr
    if not passes:
        assert "::error title=Wrong platform::the linux/arm64 leg pushed an image built for linux/amd64" in proc.stdout
