"""The stubs and shims are models of the real tools: these pin down the behaviour they copy (tag
rules as docker/metadata-action v6.2.0 applies them, buildx's refusals, a registry's 404), so a check
that passes under act passes for the right reason. No act here: the models are called in-process."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from . import model, shims, stubs

SHA = "0123456789abcdef0123456789abcdef01234567"


class World:
    """One run's state directory and a step environment to call models with."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "state").mkdir()
        (root / "state/scenario.json").write_text(json.dumps({"permissions": {"w": {"build": {"packages": "write"}}}}))
        self.runner = root / "runner"
        self.runner.mkdir()

    def env(self, **extra: str) -> dict[str, str]:
        event = self.root / "event.json"
        event.write_text(json.dumps({"repository": {"default_branch": "main"}, "number": 42,
                                     "pull_request": {"base": {"ref": "main"}}}))
        for name in ("out", "env"):
            (self.root / name).write_text("")
        return {"BEHAVIOUR_STATE": str(self.root / "state"), "GITHUB_OUTPUT": str(self.root / "out"),
                "GITHUB_ENV": str(self.root / "env"), "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": SHA,
                "GITHUB_REPOSITORY": "Acme-Corp/app", "GITHUB_WORKFLOW": "w", "GITHUB_JOB": "build",
                "RUNNER_TEMP": str(self.runner), "GITHUB_WORKSPACE": str(self.root), **extra}

    def call(self, action: str, inputs: dict[str, str], **env: str) -> tuple[int, dict[str, str], str]:
        environment = {"STUB_INPUTS": json.dumps(inputs), **self.env(**env)}
        with model.serving(environment) as (_, err):
            try:
                stubs.main(action)
                code = 0
            except SystemExit as e:
                code = int(e.code or 0)
            text = "".join(err)
        return code, _outputs(self.root / "out"), text

    def shell(self, command: str, args: list[str], **env: str) -> tuple[int, str, str]:
        with model.serving(self.env(**env)) as (out, err):
            try:
                {"docker": shims.docker, "cosign": shims.cosign}[command](args)
                code = 0
            except SystemExit as e:
                code = int(e.code or 0)
            return code, "".join(out), "".join(err)


def _outputs(path: Path) -> dict[str, str]:
    out, text = {}, path.read_text()
    for m in re.finditer(r"^(\S+)<<(EOF_\w+)\n(.*?)\n\2$", text, re.M | re.S):
        out[m[1]] = m[3]
    return out


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def meta(world: World, ref: str, tags: str, flavor: str = "", event: str = "push") -> list[str]:
    inputs = {"images": "ghcr.io/Acme/App", "tags": tags, "flavor": flavor}
    code, outputs, err = world.call("docker/metadata-action", inputs, GITHUB_REF=ref, GITHUB_EVENT_NAME=event)
    assert code == 0, err
    return [t.split(":", 1)[1] for t in outputs["tags"].splitlines()]


SEMVER = "type=semver,pattern={{version}}\ntype=semver,pattern={{major}}.{{minor}}\ntype=semver,pattern={{major}}"


@pytest.mark.parametrize(("ref", "tags", "flavor", "event", "expected"), [
    ("refs/heads/main", "type=ref,event=branch\ntype=sha", "", "push", ["main", "sha-0123456"]),
    ("refs/tags/v1.2.3", SEMVER, "", "push", ["1.2.3", "1.2", "1", "latest"]),
    ("refs/tags/v1.2.3", SEMVER, "latest=false", "push", ["1.2.3", "1.2", "1"]),
    # A pre-release: every semver pattern gives the full version, and latest=auto gives no latest.
    ("refs/tags/v1.2.3-rc.1", SEMVER, "", "push", ["1.2.3-rc.1"]),
    ("refs/tags/v0.4.0", SEMVER, "", "push", ["0.4.0", "0.4", "0", "latest"]),
    ("refs/tags/2025.08.0", SEMVER, "", "push", []),  # not semver (leading zero): no tag at all
    ("refs/tags/v1.2.3", "type=ref,event=tag", "", "push", ["v1.2.3", "latest"]),
    ("refs/heads/main", "type=schedule", "", "schedule", ["nightly"]),
    ("refs/heads/main", "type=schedule", "", "push", []),
    ("refs/heads/main", "type=edge", "", "push", ["edge"]),
    ("refs/heads/dev", "type=edge", "", "push", []),
    ("refs/pull/42/merge", "type=ref,event=pr", "", "pull_request", ["pr-42"]),
    ("refs/heads/main", "type=raw,value=stable,enable={{is_default_branch}}", "", "push", ["stable"]),
    ("refs/heads/dev", "type=raw,value=stable,enable={{is_default_branch}}", "", "push", []),
    ("refs/tags/v1.2.3", SEMVER, "suffix=-cuda,onlatest=true", "push",
     ["1.2.3-cuda", "1.2-cuda", "1-cuda", "latest-cuda"]),
    ("refs/tags/v1.2.3", SEMVER, "prefix=gpu-", "push", ["gpu-1.2.3", "gpu-1.2", "gpu-1", "latest"]),
    # Priority, not input order, picks the version: raw (200) after semver (900).
    ("refs/tags/v1.2.3", "type=raw,value=stable\ntype=semver,pattern={{version}}", "latest=false", "push",
     ["1.2.3", "stable"]),
    ("refs/heads/feature/x", "type=ref,event=branch", "", "push", ["feature-x"]),
])
def test_metadata_tags(world: World, ref: str, tags: str, flavor: str, event: str, expected: list[str]) -> None:
    assert meta(world, ref, tags, flavor, event) == expected


def test_metadata_sets_the_environment_the_scripts_read(world: World) -> None:
    code, outputs, _ = world.call("docker/metadata-action", {"images": "ghcr.io/Acme/App\ndocker.io/acme/app",
                                                             "tags": SEMVER}, GITHUB_REF="refs/tags/v2.0.0",
                                  GITHUB_EVENT_NAME="push", DOCKER_METADATA_ANNOTATIONS_LEVELS="index")
    assert code == 0
    env = _outputs(world.root / "env")
    assert env["DOCKER_METADATA_OUTPUT_VERSION"] == outputs["version"] == "2.0.0"
    data = json.loads(env["DOCKER_METADATA_OUTPUT_JSON"])
    assert data["tags"][0] == "ghcr.io/acme/app:2.0.0"
    assert "docker.io/acme/app:latest" in data["tags"]
    assert all(a.startswith("index:") for a in data["annotations"])


def test_a_required_input_left_empty_fails(world: World) -> None:
    code, _, err = world.call("aws-actions/configure-aws-credentials", {"aws-region": ""})
    assert code == 1
    assert "Input required and not supplied: aws-region" in err


def _build(world: World, **inputs: str) -> tuple[int, dict[str, str], str]:
    return world.call("docker/build-push-action", {"context": ".", "file": "Dockerfile", **inputs})


def test_a_push_needs_a_login_and_tags_never_go_with_push_by_digest(world: World) -> None:
    by_digest = {"platforms": "linux/arm64",
                 "outputs": 'type=image,"name=ghcr.io/acme/app",push-by-digest=true,name-canonical=true,push=true'}
    code, _, err = _build(world, **by_digest)
    assert code == 1
    assert "unauthorized" in err
    assert world.call("docker/login-action", {"registry": "ghcr.io", "username": "u", "password": ""})[0] == 1
    assert world.call("docker/login-action", {"registry": "ghcr.io", "username": "u", "password": "p"})[0] == 0
    code, _, err = _build(world, tags="ghcr.io/acme/app:1.0", **by_digest)
    assert code == 1
    assert "can't push tagged ref" in err
    code, outputs, err = _build(world, **by_digest)
    assert code == 0, err
    registry = model.read_registry(world.root / "state")
    assert registry["repos"]["ghcr.io/acme/app"]["tags"] == {}
    assert outputs["digest"] in registry["repos"]["ghcr.io/acme/app"]["manifests"]


def test_imagetools_answers_from_the_registry_and_refuses_unknown_refs(world: World) -> None:
    world.call("docker/login-action", {"registry": "ghcr.io", "username": "u", "password": "p"})
    digests = {}
    for platform in ("linux/amd64", "linux/arm/v7"):
        code, outputs, err = _build(world, platforms=platform, provenance="false",
                                    outputs="type=image,name=ghcr.io/acme/app,push-by-digest=true,push=true")
        assert code == 0, err
        digests[platform] = outputs["digest"]
    code, _, err = world.shell("docker", ["buildx", "imagetools", "create", "--tag", "ghcr.io/acme/app:1.0",
                                          "ghcr.io/acme/app@sha256:" + "0" * 64])
    assert code == 1
    assert "not found" in err
    sources = [f"ghcr.io/acme/app@{d}" for d in digests.values()]
    assert world.shell("docker", ["buildx", "imagetools", "create", "-t", "ghcr.io/acme/app:1.0", *sources])[0] == 0
    code, out, _ = world.shell("docker", ["buildx", "imagetools", "inspect", "--raw", "ghcr.io/acme/app:1.0"])
    index = json.loads(out)
    assert sorted(m["digest"] for m in index["manifests"]) == sorted(digests.values())
    code, out, _ = world.shell("docker", ["buildx", "imagetools", "inspect", "ghcr.io/acme/app:1.0",
                                          "--format", "{{json .Image}}"])
    assert json.loads(out)["linux/arm/v7"]["variant"] == "v7"
    code, out, _ = world.shell("docker", ["buildx", "imagetools", "inspect", "ghcr.io/acme/app:1.0",
                                          "--format", "{{json .Manifest}}"])
    assert json.loads(out)["digest"].startswith("sha256:")
    assert world.shell("docker", ["buildx", "imagetools", "inspect", "--raw", "ghcr.io/acme/app:2.0"])[0] == 1
    assert world.shell("docker", ["buildx", "imagetools", "inspect", "--raw", "ghcr.io/Acme/app:1.0"])[0] == 1


def test_docker_run_runs_only_what_this_job_loaded(world: World) -> None:
    scenario: dict[str, Any] = json.loads((world.root / "state/scenario.json").read_text())
    scenario["programs"] = [{"args": ["--version"], "output": "hello 1.0", "exit": 0}]
    (world.root / "state/scenario.json").write_text(json.dumps(scenario))
    assert world.shell("docker", ["run", "--rm", "smoke:amd64", "--version"])[0] == 125
    assert _build(world, platforms="linux/amd64", load="true", tags="smoke:amd64")[0] == 0
    assert world.shell("docker", ["run", "--rm", "--platform", "linux/arm64", "smoke:amd64", "--version"])[0] == 125
    assert world.shell("docker", ["run", "--rm", "--platform", "linux/amd64", "smoke:amd64", "--version"]) == (
        0, "hello 1.0\n", "")
    other = world.root / "other-runner"
    other.mkdir()
    assert world.shell("docker", ["run", "--rm", "smoke:amd64", "--version"], RUNNER_TEMP=str(other))[0] == 125


def test_cosign_signs_only_what_was_pushed(world: World) -> None:
    scenario = json.loads((world.root / "state/scenario.json").read_text())
    scenario["permissions"]["w"]["build"]["id-token"] = "write"
    (world.root / "state/scenario.json").write_text(json.dumps(scenario))
    world.call("docker/login-action", {"registry": "ghcr.io", "username": "u", "password": "p"})
    code, outputs, _ = _build(world, platforms="linux/amd64", push="true", tags="ghcr.io/acme/app:1.0")
    assert code == 0
    assert world.shell("cosign", ["sign", "--yes", f"ghcr.io/acme/app@{outputs['digest']}"])[0] == 0
    assert world.shell("cosign", ["sign", "--yes", "ghcr.io/acme/app@sha256:" + "1" * 64])[0] == 1


def test_an_injected_failure_breaks_the_whole_multi_platform_build(world: World) -> None:
    scenario = json.loads((world.root / "state/scenario.json").read_text())
    scenario["fail_builds"] = [{"platform": "linux/arm64", "context": ".", "file": "Dockerfile"}]
    (world.root / "state/scenario.json").write_text(json.dumps(scenario))
    world.call("docker/login-action", {"registry": "ghcr.io", "username": "u", "password": "p"})
    code, _, err = _build(world, platforms="linux/amd64,linux/arm64", push="true", tags="ghcr.io/acme/app:1.0")
    assert code == 1
    assert "injected failure on linux/arm64" in err
    assert model.read_registry(world.root / "state")["repos"] == {}
