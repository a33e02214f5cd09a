"""What each strategy's workflow does, read from the generated samples the way a reviewer would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.app import plan_spec
from generator.model import Requested
from generator.platforms import parse_platform
from generator.spec import load_spec

from .conftest import SAMPLES

NOT_ON_PR = "github.event_name != 'pull_request'"


def _workflows(sample: str) -> dict[str, dict[str, Any]]:
    return {p.stem: YAML(typ="safe").load(p.read_text())
            for p in sorted((SAMPLES / sample / ".github/workflows").glob("*.yml"))}


def _steps(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if s.get("uses", "").startswith(action + "@")]


def _native_samples() -> list[tuple[str, str]]:
    """(sample, image) for every single-build native image."""
    found = []
    for sample in sorted(p.name for p in SAMPLES.iterdir()):
        spec = load_spec(SAMPLES / sample)
        found += [(sample, i.name) for i in spec.images
                  if len(i.variants) == 1 and i.variants[0].strategy is Requested.NATIVE]
    return found


def _jobs(sample: str, image: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The build and merge jobs of an image, in its own workflow or in a shared one."""
    for filename, workflow in _workflows(sample).items():
        jobs = workflow["jobs"]
        if f"build-{image}" in jobs:
            return jobs[f"build-{image}"], jobs[f"merge-{image}"]
        if filename == f"multiarch-{image}" and "build" in jobs:
            return jobs["build"], jobs["merge"]
    raise AssertionError(f"no jobs for {image} in {sample}")


NATIVE = _native_samples()


def test_there_are_native_samples() -> None:
    assert {sample for sample, _ in NATIVE} >= {"native-services", "compile-heavy"}


@pytest.mark.parametrize(("sample", "name"), NATIVE)
def test_each_platform_builds_once_on_its_native_runner(sample: str, name: str) -> None:
    spec = load_spec(SAMPLES / sample)
    image = next(i for i in spec.images if i.name == name)
    build, _ = _jobs(sample, name)
    legs = build["strategy"]["matrix"]["include"]
    assert [leg["platform"] for leg in legs] == [p.name for p in image.variants[0].platforms], "each platform once"
    assert build["strategy"]["fail-fast"] is False
    assert build["runs-on"] == "${{ matrix.runner }}"
    for leg in legs:
        platform = parse_platform(leg["platform"])
        assert platform is not None
        if platform.name == "linux/arm64":
            assert leg["runner"] == "ubuntu-24.04-arm"
            assert leg.get("qemu", "") == "", "a leg with a native runner never sets up QEMU"
        if platform.name == "linux/amd64":
            assert leg["runner"] == "ubuntu-24.04"
            assert leg.get("qemu", "") == ""
        if platform.name == "linux/arm/v7":
            assert leg["qemu"] == "arm"
    qemu_steps = _steps(build, "docker/setup-qemu-action")
    assert all(step["if"] == "matrix.qemu != ''" for step in qemu_steps)
    assert bool(qemu_steps) == any(leg.get("qemu") for leg in legs)


@pytest.mark.parametrize(("sample", "name"), NATIVE)
def test_legs_push_by_digest_and_the_merge_tags_after_all_legs(sample: str, name: str) -> None:
    build_job, merge = _jobs(sample, name)
    (build_step,) = _steps(build_job, "docker/build-push-action")
    outputs = build_step["with"]["outputs"]
    assert "push-by-digest=true" in outputs
    assert "name-canonical=true" in outputs
    assert "tags" not in build_step["with"], "tags with push-by-digest fail (build-push-action#1117)"
    (upload,) = _steps(build_job, "actions/upload-artifact")
    assert upload["with"]["if-no-files-found"] == "error"
    assert upload["with"]["retention-days"] == 1
    assert upload["if"] == "env.PUSH == 'true'"

    assert merge["needs"] in (["build"], [f"build-{name}"]), "the merge waits for every leg"
    assert merge["if"].startswith(NOT_ON_PR + " && "), "the merge is skipped on pull requests"
    (meta,) = _steps(merge, "docker/metadata-action")
    assert meta["with"]["tags"].strip(), "the merge job holds the tag rules"
    assert meta["env"]["DOCKER_METADATA_ANNOTATIONS_LEVELS"] == "index"
    create = next(s for s in merge["steps"] if "imagetools create" in s.get("run", ""))
    assert '--tag "$tag"' in create["run"]
    assert "jq -r '.tags[]'" in create["run"], "every tag metadata-action computed"
    assert any("check_index" in s.get("run", "") for s in merge["steps"]), "verification follows the merge"



def test_cache_scopes_are_distinct_per_image_and_platform() -> None:
    scopes: list[str] = []
    for sample, name in NATIVE:
        build, _ = _jobs(sample, name)
        (step,) = _steps(build, "docker/build-push-action")
        assert step["with"]["cache-from"] == "${{ matrix.cache }}"
        assert re.fullmatch(r"\$\{\{ env\.PUSH == 'true' && format\('\{0\},mode=max,ignore-error=true', "
                            r"matrix\.cache\) \|\| '' \}\}", step["with"]["cache-to"]), step["with"]["cache-to"]
        for leg in build["strategy"]["matrix"]["include"]:
            assert leg["pair"] in leg["cache"]
            scopes.append(leg["cache"])
    assert len(scopes) == len(set(scopes)) > 4


def test_buildx_sample_is_one_build_for_six_platforms_without_qemu() -> None:
    (workflow,) = _workflows("go-cross").values()
    assert list(workflow["jobs"]) == ["build", "sign"]
    job = workflow["jobs"]["build"]
    (build,) = _steps(job, "docker/build-push-action")
    assert build["with"]["platforms"].split(",") == [
        "linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x", "linux/riscv64"]
    assert _steps(job, "docker/setup-qemu-action") == []


def test_qemu_sample_emulates_only_foreign_platforms() -> None:
    workflow = _workflows("minimal")["multiarch-hello"]
    (qemu,) = _steps(workflow["jobs"]["build"], "docker/setup-qemu-action")
    assert qemu["with"]["platforms"] == "arm64"
    assert qemu["with"]["image"].startswith("tonistiigi/binfmt:qemu-v")


@pytest.mark.parametrize(("labels", "emulated"), [
    ("[self-hosted, linux, arm64]", False),
    ("my-arm-box", False),  # an unreadable label is native for the platform it was given for
    ("ubuntu-24.04", True),
])
def test_runner_labels_decide_emulation(tmp_path: Path, labels: str, emulated: bool) -> None:
    (tmp_path / ".github").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    (tmp_path / ".github/multiarch.yaml").write_text(
        f"version: 1\nimages:\n  app:\n    strategy: native\n    runners:\n      linux/arm64: {labels}\n")
    planned = plan_spec(tmp_path)
    (image,) = planned.spec.images
    arm = next(leg for leg in planned.decisions[image.variants[0].key].legs if leg.platform.name == "linux/arm64")
    assert bool(arm.qemu) is emulated


def _build_step(tmp_path: Path, image_yaml: str) -> dict[str, Any]:
    from generator.render import render_files

    (tmp_path / ".github").mkdir(exist_ok=True)
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    (tmp_path / ".github/multiarch.yaml").write_text(f"version: 1\nimages:\n  app:\n{image_yaml}")
    (text,) = render_files(plan_spec(tmp_path).plan, "0").values()
    (step,) = [s for s in YAML(typ="safe").load(text)["jobs"]["build"]["steps"] if s["id"] == "build"]
    (tmp_path / ".github/workflows").mkdir(exist_ok=True)
    return dict(step["with"])


@pytest.mark.parametrize(("mode", "cache_from", "cache_to"), [
    ("read", "${{ matrix.cache }}",
     "${{ env.PUSH == 'true' && format('{0},mode=max,ignore-error=true', matrix.cache) || '' }}"),
    ("write", "${{ matrix.cache }}", "${{ format('{0},mode=max,ignore-error=true', matrix.cache) }}"),
    ("off", "${{ env.PUSH == 'true' && matrix.cache || '' }}",
     "${{ env.PUSH == 'true' && format('{0},mode=max,ignore-error=true', matrix.cache) || '' }}"),
])
def test_pull_request_cache_modes(tmp_path: Path, mode: str, cache_from: str, cache_to: str) -> None:
    native = _build_step(tmp_path, f"    strategy: native\n    pull-request-cache: {mode}\n")
    assert native["cache-from"] == cache_from
    assert native["cache-to"] == cache_to
    single = _build_step(tmp_path, f"    strategy: qemu\n    pull-request-cache: {mode}\n")
    source = "type=gha,scope=app"
    expected = {"read": (source, f"${{{{ env.PUSH == 'true' && '{source},mode=max,ignore-error=true' || '' }}}}"),
                "write": (source, f"{source},mode=max,ignore-error=true"),
                "off": (f"${{{{ env.PUSH == 'true' && '{source}' || '' }}}}",
                        f"${{{{ env.PUSH == 'true' && '{source},mode=max,ignore-error=true' || '' }}}}")}[mode]
    assert (single["cache-from"], single["cache-to"]) == expected


def test_no_cache_means_no_cache_options(tmp_path: Path) -> None:
    inputs = _build_step(tmp_path, "    cache: none\n")
    assert "cache-from" not in inputs
    assert "cache-to" not in inputs


def test_build_arguments_keep_the_text_the_spec_writes(tmp_path: Path) -> None:
    """YAML reads `1.20` as the number 1.2; a build argument is text for the Dockerfile, so it stays as
    written, in block and flow style alike, and true/false and strings stay as they were."""
    with_ = _build_step(tmp_path, "    strategy: qemu\n    build-args:\n      GO_VERSION: 1.20\n      HEX: 0x10\n"
                                  "      LEAD: 012\n      BIG: 1e400\n      ON: true\n      S: '1.20'\n"
                                  "    per-platform: {}\n")
    assert with_["build-args"] == "GO_VERSION=1.20\nHEX=0x10\nLEAD=012\nBIG=1e400\nON=true\nS=1.20\n"
    flow = _build_step(tmp_path, "    strategy: qemu\n    build-args: {PY: 3.10, N: 7}\n")
    assert flow["build-args"] == "PY=3.10\nN=7\n"
