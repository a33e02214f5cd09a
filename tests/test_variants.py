"""Variants, image-to-image dependencies, registries and triggers, read from the generated samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.app import plan_spec
from generator.spec import load_spec

from .conftest import SAMPLES

BASE_REF = "${{ steps.base.outputs.ref }}"


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


def test_variants_of_one_shape_share_one_matrix_job() -> None:
    jobs = _workflow("remote-desktop", "multiarch-base.yml")["jobs"]
    assert list(jobs) == ["build-base", "merge-base", "build-apps"]
    legs = jobs["build-apps"]["strategy"]["matrix"]["include"]
    assert len(legs) == 8
    nvidia = [leg for leg in legs if leg["variant"].endswith("-nvidia")]
    assert [leg["platforms"] for leg in nvidia] == ["linux/amd64", "linux/amd64"]
    assert all(leg["platforms"] == "linux/amd64,linux/arm64,linux/arm/v7" for leg in legs if leg not in nvidia)
    inputs = _build_inputs(jobs["build-apps"])
    assert inputs["platforms"] == "${{ matrix.platforms }}"
    assert inputs["context"] == "apps", "what every variant shares stays written out"


def test_no_two_builds_write_the_same_tags() -> None:
    for sample, name, job in (("remote-desktop", "multiarch-base.yml", "build-apps"),
                              ("robotics", "multiarch-stack.yml", None)):
        workflow = _workflow(sample, name)
        seen: set[tuple[str, str]] = set()
        for job_id, body in workflow["jobs"].items():
            if job and job_id != job:
                continue
            entries = body.get("strategy", {}).get("matrix", {}).get("include") or [{}]
            meta = next(s["with"] for s in body["steps"] if s.get("uses", "").startswith("docker/metadata-action@"))
            if "tags" not in meta:
                continue  # a native build leg: its merge job holds the tags
            for entry in entries:
                images = entry.get("images", meta["images"])
                flavor = entry.get("flavor", meta["flavor"])
                key = (images, flavor)
                assert key not in seen, key
                seen.add(key)
        assert len(seen) >= 5


def test_primary_gets_latest_and_the_others_a_suffix() -> None:
    spec = load_spec(SAMPLES / "robotics")
    (stack,) = spec.images
    naming = {v.name: (v.primary, v.suffix) for v in stack.variants}
    assert naming == {"base": (False, "-base"), "base-cuda": (False, "-base-cuda"), "devel": (False, "-devel"),
                      "runtime": (True, ""), "runtime-cuda": (False, "-cuda")}
    merge = _workflow("robotics", "multiarch-stack.yml")["jobs"]["merge-stack-devel"]
    flavors = {e["variant"]: e["flavor"] for e in merge["strategy"]["matrix"]["include"]}
    # latest comes from the floating-tags step (a raw `latest` rule), decorated like every other tag
    assert flavors == {"stack/devel": "latest=false\nsuffix=-devel,onlatest=true\n", "stack/runtime": "latest=false\n"}


def test_dependent_build_gets_its_base_by_digest_after_the_base_is_tagged() -> None:
    jobs = _workflow("remote-desktop", "multiarch-base.yml")["jobs"]
    apps = jobs["build-apps"]
    assert apps["needs"] == ["merge-base"]
    assert apps["if"] == "${{ !failure() && !cancelled() }}", "pull requests skip the merge yet still build apps"
    assert _build_inputs(apps)["build-args"].endswith(f"BASE_IMAGE={BASE_REF}\n")
    download = _step(apps, "download-base")
    assert download["with"]["name"] == "digest-base"
    resolve = _step(apps, "base")
    assert resolve["env"]["FALLBACK"] == "ghcr.io/acme/desk-base:main"
    assert '$(cat "$RUNNER_TEMP/digest/$KEY")' in resolve["run"]

    merge = jobs["merge-base"]
    save = _step(merge, "save-digest")
    assert "--format '{{json .Manifest}}'" in save["run"], "the digest of the index just tagged"
    assert _step(merge, "share-digest")["with"]["name"] == "digest-base"
    order = [s["id"] for s in merge["steps"]]
    assert order.index("verify") < order.index("save-digest")


def test_a_variant_can_start_from_another_variant() -> None:
    jobs = _workflow("robotics", "multiarch-stack.yml")["jobs"]
    assert jobs["build-stack-devel"]["needs"] == ["merge-stack-base"]
    assert jobs["build-stack-runtime-cuda"]["needs"] == ["merge-stack-base"]
    assert _step(jobs["build-stack-runtime-cuda"], "download-base")["with"]["name"] == \
        "digest-stack--base-cuda"
    assert _step(jobs["build-stack-devel"], "base")["env"]["FALLBACK"] == \
        "ghcr.io/acme-robotics/stack:main-base"


def test_independent_images_get_separate_workflows_with_path_filters() -> None:
    names = sorted(p.name for p in (SAMPLES / "native-services/.github/workflows").glob("*.yml"))
    assert names == ["multiarch-api.yml", "multiarch-frontend.yml"]
    api = _workflow("native-services", "multiarch-api.yml")["on"]
    assert api["push"]["paths"] == ["api/**", ".github/multiarch.yaml", ".github/workflows/multiarch-api.yml"]
    assert api["pull_request"]["paths"] == api["push"]["paths"]
    assert _workflow("robotics", "multiarch-stack.yml")["on"]["push"]["paths"][:2] == ["docker/**", "src/**"]
    assert "paths" not in _workflow("minimal", "multiarch-hello.yml")["on"]["push"], "context . needs every change"


def test_schedule_and_manual_triggers() -> None:
    on = _workflow("robotics", "multiarch-stack.yml")["on"]
    assert on["schedule"] == [{"cron": "0 2 * * 1"}]
    assert on["workflow_dispatch"]["inputs"]["push"] == {
        "description": "Push the images (untick to only build them)", "type": "boolean", "default": True}
    merge = _workflow("robotics", "multiarch-stack.yml")["jobs"]["merge-stack-base"]
    meta = _step(merge, "meta")
    assert "type=schedule,pattern=nightly" in meta["with"]["tags"]


def test_every_registry_kind_logs_in_only_when_publishing() -> None:
    job = _workflow("multi-cloud", "multiarch-agent.yml")["jobs"]["build"]
    logins = [s for s in job["steps"] if "login" in s.get("uses", "") or "aws-credentials" in s.get("uses", "")]
    assert [s["id"] for s in logins] == ["login-ghcr", "login-dockerhub", "aws-ecr", "login-ecr", "login-gar",
                                         "login-acr"]
    assert [s["name"] for s in logins] == [
        "Log in to ghcr.io", "Log in to docker.io", "Get AWS credentials (OIDC)",
        "Log in to 123456789012.dkr.ecr.eu-west-1.amazonaws.com", "Log in to europe-docker.pkg.dev",
        "Log in to acme.azurecr.io"]
    assert all(s["if"] == "env.PUSH == 'true'" for s in logins)
    assert job["permissions"]["id-token"] == "write", "ECR's OIDC needs it on the pushing job"
    ids = [s["id"] for s in job["steps"]]
    assert ids.index("login-acr") < ids.index("buildx")
    images = _step(job, "meta")["with"]["images"].split()
    assert images == ["ghcr.io/acme/agent", "docker.io/acme/agent",
                      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/agent",
                      "europe-docker.pkg.dev/acme-prod/images/agent", "acme.azurecr.io/agent"]


def test_no_id_token_without_ecr() -> None:
    for sample in ("minimal", "remote-desktop", "robotics"):
        for path in (SAMPLES / sample / ".github/workflows").glob("*.yml"):
            assert "id-token" not in path.read_text()


def test_per_arch_tags_come_from_the_index(tmp_path: Path) -> None:
    merge = _workflow("remote-desktop", "multiarch-base.yml")["jobs"]["merge-base"]
    step = _step(merge, "per-arch-tags")
    assert "imagetools inspect --raw" in step["run"]
    assert 'imagetools create --tag "$tag-$arch" "$source@$digest"' in step["run"]
    assert "docker/build-push-action" not in repr(merge), "never a separate build"


@pytest.mark.parametrize("sample", ["remote-desktop", "robotics"])
def test_dependency_order_is_respected_by_needs(sample: str) -> None:
    plan = plan_spec(SAMPLES / sample).plan
    for workflow in plan.workflows:
        seen: set[str] = set()
        for job in workflow.jobs:
            assert set(job.needs) <= seen, f"{job.id} needs a job defined later"
            seen.add(job.id)
