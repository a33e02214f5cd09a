"""Variants, image-to-image dependencies, registries and triggers, read from the generated samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.app import plan_spec
from generator.spec import load_spec

from .conftest import SAMPLES

BASE_REF = "${{ steps.base.outputs.args }}"  # BASE_IMAGE=<ref>, written by the resolve-base step


def _workflow(sample: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((SAMPLES / sample / ".github/workflows" / name).read_text())
    return data


def _step(job: dict[str, Any], step_id: str) -> dict[str, Any]:
    return next(s for s in job["steps"] if s["id"] == step_id)


def _build_inputs(job: dict[str, Any]) -> dict[str, Any]:
    return next(s["with"] for s in job["steps"] if s.get("uses", "").startswith("docker/build-push-action@"))


def test_specs_stay_short() -> None:
    for sample in ("remote-desktop", "robotics"):
        assert len((SAMPLES / sample / ".github/multiarch.yaml").read_text().splitlines()) < 80


def _with(sample: str, name: str, call: str) -> dict[str, Any]:
    inputs: dict[str, Any] = _workflow(sample, name)["jobs"][call]["with"]
    return inputs


def _legs(inputs: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(inputs["legs"])
    return rows


APPS = ["firefox", "chromium", "thunderbird", "vlc", "gimp", "libreoffice", "firefox-nvidia", "chromium-nvidia"]


def test_each_variant_is_its_own_call_that_says_what_differs() -> None:
    jobs = _workflow("remote-desktop", "multiarch-base.yml")["jobs"]
    assert list(jobs) == ["base"] + [f"apps-{app}" for app in APPS], "a call per build, named after it"
    assert [job["name"] for job in jobs.values()] == ["base"] + [f"apps/{app}" for app in APPS]
    platforms = {app: [leg["platform"] for leg in _legs(jobs[f"apps-{app}"]["with"])] for app in APPS}
    assert all(platforms[app] == ["linux/amd64"] for app in APPS if app.endswith("-nvidia"))
    # light work, faster in a leg per platform (objective: time)
    assert all(platforms[app] == ["linux/amd64", "linux/arm64", "linux/arm/v7"] for app in APPS if "nvidia" not in app)
    assert all(jobs[f"apps-{app}"]["with"]["context"] == "apps" for app in APPS), "each call says its context"
    assert jobs["apps-firefox"]["with"]["build-args"] == "APP=firefox-esr\n"
    engine = _workflow("remote-desktop", "multiarch.yml")["jobs"]["legs"]
    inputs = _build_inputs(engine)
    assert (inputs["platforms"], inputs["context"]) == ("${{ matrix.platform }}", "${{ inputs.context }}")


def test_no_two_builds_write_the_same_tags() -> None:
    for sample, name in (("remote-desktop", "multiarch-base.yml"), ("robotics", "multiarch-stack.yml")):
        seen: set[tuple[str, str, str]] = set()
        for call in _workflow(sample, name)["jobs"].values():
            inputs = call["with"]
            key = (inputs["repository"], inputs.get("prefix", ""), inputs.get("suffix", ""))
            assert key not in seen, key
            seen.add(key)
        assert len(seen) >= 5
    meta = _step(_workflow("robotics", "multiarch.yml")["jobs"]["merge"], "meta")["with"]
    assert "prefix=${{ inputs.prefix }},onlatest=true" in meta["flavor"], "the tags are the call's own"
    assert "suffix=${{ inputs.suffix }},onlatest=true" in meta["flavor"]
    assert meta["images"] == "${{ env.IMAGES }}"


def test_primary_gets_latest_and_the_others_a_suffix() -> None:
    spec = load_spec(SAMPLES / "robotics")
    (stack,) = spec.images
    naming = {v.name: (v.primary, v.suffix) for v in stack.variants}
    assert naming == {"base": (False, "-base"), "base-cuda": (False, "-base-cuda"), "devel": (False, "-devel"),
                      "runtime": (True, ""), "runtime-cuda": (False, "-cuda")}
    assert _with("robotics", "multiarch-stack.yml", "stack-devel")["suffix"] == "-devel"
    assert "suffix" not in _with("robotics", "multiarch-stack.yml", "stack-runtime"), "the primary: no suffix"
    meta = _step(_workflow("robotics", "multiarch.yml")["jobs"]["merge"], "meta")["with"]
    # latest comes from the floating-tags step (a raw `latest` rule), decorated like every other tag
    assert "latest=${{ inputs.semver && 'false' || 'auto' }}" in meta["flavor"]
    assert "${{ steps.floating.outputs.tags }}" in meta["tags"]


def test_dependent_build_gets_its_base_by_digest_after_the_base_is_tagged() -> None:
    jobs = _workflow("remote-desktop", "multiarch-base.yml")["jobs"]
    apps = jobs["apps-firefox"]
    assert apps["needs"] == "base", "after the base's call: its legs, verification and tags"
    assert "if" not in apps, "pull requests skip the base's merge, yet its call succeeds and the apps build"
    assert apps["with"]["base-args"] == "BASE_IMAGE=${{ needs.base.outputs.ref || 'layout-base--*' }}", \
        "by digest; on runs that publish nothing (no merge, no ref), the layouts of the base's legs, a platform each"
    assert jobs["base"]["with"]["dependents"] is True, "its legs hand the image over on runs that publish nothing"
    engine = _workflow("remote-desktop", "multiarch.yml")
    assert engine["on"]["workflow_call"]["outputs"]["ref"]["value"] == "${{ jobs.merge.outputs.ref }}"
    legs, merge = engine["jobs"]["legs"], engine["jobs"]["merge"]
    assert _build_inputs(legs)["build-args"].endswith(f"{BASE_REF}\n"), "BASE_IMAGE=<the base by digest>"
    assert _build_inputs(legs)["build-contexts"] == "${{ steps.base.outputs.contexts }}", "or its layout, by name"
    resolve = _step(legs, "base")
    assert (resolve["if"], resolve["env"]["ARGS"]) == ("inputs.base-args", "${{ inputs.base-args }}")
    assert "FALLBACK" not in str(_step(legs, "names")), "no tag stands in for a base"
    upload = _step(legs, "upload-layout")
    assert upload["if"] == "inputs.dependents && env.PUSH != 'true'"
    assert upload["with"]["retention-days"] == 1
    assert _step(legs, "download-base")["with"]["pattern"] == "${{ steps.base.outputs.pattern }}"
    tag = _step(merge, "create-tags")
    run = tag["run"]  # the digest of the index just tagged, from the bytes pushed, never through a tag
    assert run.index("imagetools create --dry-run") < run.index("sha256sum") < run.index('imagetools create "')
    assert 'imagetools inspect --raw "$source@$digest"' in run, "which the registry must hold"
    assert "json .Manifest" not in run
    assert merge["outputs"]["ref"] == "${{ steps.create-tags.outputs.ref }}"
    order = [s["id"] for s in merge["steps"]]
    assert order.index("verify") < order.index("create-tags")


def test_a_variant_can_start_from_another_variant() -> None:
    jobs = _workflow("robotics", "multiarch-stack.yml")["jobs"]
    assert jobs["stack-devel"]["needs"] == "stack-base"
    assert jobs["stack-runtime-cuda"]["needs"] == "stack-base-cuda"
    assert jobs["stack-runtime-cuda"]["with"]["base-args"] == \
        "BASE_IMAGE=${{ needs.stack-base-cuda.outputs.ref || 'layout-stack--base-cuda--*' }}"


def test_independent_images_get_separate_workflows_with_path_filters() -> None:
    names = sorted(p.name for p in (SAMPLES / "native-services/.github/workflows").glob("*.yml"))
    assert names == ["multiarch-api.yml", "multiarch-frontend.yml", "multiarch.yml"], "and the shared engine"
    api = _workflow("native-services", "multiarch-api.yml")["on"]
    assert api["push"]["paths"] == ["api/**", ".github/multiarch.yaml", ".github/workflows/multiarch.yml",
                                    ".github/workflows/multiarch-api.yml"], "the engine too: its change rebuilds"
    assert api["pull_request"]["paths"] == api["push"]["paths"]
    assert _workflow("robotics", "multiarch-stack.yml")["on"]["push"]["paths"][:2] == ["docker/**", "src/**"]
    assert "paths" not in _workflow("minimal", "multiarch-hello.yml")["on"]["push"], "context . needs every change"


def test_schedule_and_manual_triggers() -> None:
    on = _workflow("robotics", "multiarch-stack.yml")["on"]
    assert on["schedule"] == [{"cron": "0 2 * * 1"}]
    assert on["workflow_dispatch"]["inputs"]["push"] == {
        "description": "Push the images (untick to only build them)", "type": "boolean", "default": True}
    engine = _workflow("robotics", "multiarch.yml")["on"]["workflow_call"]["inputs"]
    assert "type=schedule,pattern=nightly" in engine["tags"]["default"]
    merge = _workflow("robotics", "multiarch.yml")["jobs"]["merge"]
    assert "${{ inputs.tags }}" in _step(merge, "meta")["with"]["tags"]


def test_every_registry_kind_logs_in_only_when_publishing() -> None:
    job = _workflow("multi-cloud", "multiarch.yml")["jobs"]["legs"]
    logins = [s for s in job["steps"] if "login" in s.get("uses", "") or "aws-credentials" in s.get("uses", "")]
    assert [s["id"] for s in logins] == ["login-ghcr", "login-dockerhub", "aws-ecr", "login-ecr", "login-gar",
                                         "azure-acr", "login-acr"]
    assert [s["name"] for s in logins] == [
        "Log in to ghcr.io", "Log in to docker.io", "Get AWS credentials (OIDC)",
        "Log in to 123456789012.dkr.ecr.eu-west-1.amazonaws.com", "Log in to europe-docker.pkg.dev",
        "Log in to Azure (OIDC)", "Log in to acme.azurecr.io"]
    # Docker Hub only where its token is set (skip-without-secret), the others on every publishing run.
    assert [s["if"] for s in logins] == ["env.PUSH == 'true'", "env.PUSH == 'true' && env.PUSH_TO_DOCKERHUB == 'true'",
                                         *["env.PUSH == 'true'"] * 5]
    assert job["permissions"]["id-token"] == "write", "ECR's and ACR's OIDC need it on the pushing job"
    ids = [s["id"] for s in job["steps"]]
    assert ids.index("login-acr") < ids.index("buildx")
    images = _workflow("multi-cloud", "multiarch.yml")["env"]["IMAGES"].replace(" ", "").split()
    assert _step(job, "meta")["with"]["images"] == "${{ env.IMAGES }}"
    assert [i.replace("${{inputs.repository}}", "agent") for i in images] == [
        "ghcr.io/acme/agent", "${{secrets.DOCKERHUB_TOKEN!=''&&format('docker.io/acme/{0}',inputs.repository)||''}}",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/agent",
        "europe-docker.pkg.dev/acme-prod/images/agent", "acme.azurecr.io/agent"]


def test_no_id_token_without_ecr() -> None:
    for sample in ("minimal", "remote-desktop", "robotics"):
        for path in (SAMPLES / sample / ".github/workflows").glob("*.yml"):
            assert "id-token" not in path.read_text()


def test_per_arch_tags_come_from_the_index(tmp_path: Path) -> None:
    assert _with("remote-desktop", "multiarch-base.yml", "base")["per-arch-tags"] is True
    merge = _workflow("remote-desktop", "multiarch.yml")["jobs"]["merge"]
    step = _step(merge, "per-arch-tags")
    assert step["if"] == "inputs.per-arch-tags"
    assert "imagetools inspect --raw" in step["run"]
    assert step["env"] == {"INDEX": "${{ steps.create-tags.outputs.ref }}"}, "the index pushed, never a tag"
    assert 'imagetools inspect --raw "$INDEX"' in step["run"]
    assert 'imagetools create --tag "$tag-$arch" "${INDEX%@*}@$digest"' in step["run"]
    assert "docker/build-push-action" not in repr(merge), "never a separate build"


@pytest.mark.parametrize("sample", ["remote-desktop", "robotics"])
def test_dependency_order_is_respected_by_needs(sample: str) -> None:
    plan = plan_spec(SAMPLES / sample).plan
    for workflow in plan.workflows:
        seen: set[str] = set()
        for job in workflow.jobs:
            assert set(job.needs) <= seen, f"{job.id} needs a job defined later"
            seen.add(job.id)
