"""What each strategy's workflow does, read from the generated samples the way a reviewer would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from generator.app import plan_spec
from generator.model import Requested
from generator.platforms import parse_platform
from generator.spec import load_spec

from .conftest import SAMPLES
from .shape import ENGINE, Generated, from_texts, generated

NOT_ON_PR = "github.event_name != 'pull_request'"
WRITE = ",mode=max,ignore-error=true"


def _native_samples() -> list[tuple[str, str]]:
    """(sample, image) for every single-build native image."""
    found = []
    for sample in sorted(p.name for p in SAMPLES.iterdir()):
        spec = load_spec(SAMPLES / sample)
        found += [(sample, i.name) for i in spec.images
                  if len(i.variants) == 1 and i.variants[0].strategy is Requested.NATIVE]
    return found


def _call(sample: str, image: str) -> tuple[Generated, str]:
    """The sample's generated files and the id of the image's call (in its own workflow)."""
    out = generated(SAMPLES / sample)
    calls = [call for call in out.calls_in(f"multiarch-{image}.yml") if out.with_(call)["key"] == image]
    assert calls, f"no call for {image} in {sample}"
    return out, calls[0]


def _evaluate(value: str, context: dict[str, str]) -> str:
    """A `${{ }}` value of the engine's cache options, evaluated as GitHub does: `&&` and `||` give one of
    their operands, and '' is false. Names are matrix.x, env.X and inputs.x."""
    match = re.fullmatch(r"\$\{\{ (.*) \}\}", value)
    if not match:
        return value
    expr = re.sub(r"\b(matrix|env|inputs)\.([\w-]+)", lambda m: f"ctx[{m[0]!r}]", match[1])
    expr = expr.replace("&&", " and ").replace("||", " or ")
    assert "!" not in expr.replace("!=", ""), f"no negation expected in {value}"
    result = eval(expr, {"__builtins__": {}}, {"ctx": context, "format": lambda f, *a: f.format(*a)})
    assert isinstance(result, str), f"{value} gives {result!r}, not text"
    return result


def _cache_options(out: Generated, call: str, leg: dict[str, Any], push: bool) -> tuple[str, str]:
    """(cache-from, cache-to) the engine's build step gives a leg of this call."""
    inputs = out.step("legs", "build")["with"]
    context = {"matrix.cache": leg.get("cache", ""), "env.PUSH": "true" if push else "false"}
    if "pr-cache" in out.inputs:
        context["inputs.pr-cache"] = out.input(call, "pr-cache")
    return _evaluate(inputs["cache-from"], context), _evaluate(inputs["cache-to"], context)


NATIVE = _native_samples()


def test_there_are_native_samples() -> None:
    assert {sample for sample, _ in NATIVE} >= {"native-services", "compile-heavy"}


@pytest.mark.parametrize(("sample", "name"), NATIVE)
def test_each_platform_builds_once_on_its_native_runner(sample: str, name: str) -> None:
    spec = load_spec(SAMPLES / sample)
    image = next(i for i in spec.images if i.name == name)
    out, call = _call(sample, name)
    legs = out.legs(call)
    assert [leg["platform"] for leg in legs] == [p.name for p in image.variants[0].platforms], "each platform once"
    job = out.jobs["legs"]
    assert job["strategy"]["fail-fast"] is False
    assert job["strategy"]["matrix"] == {"include": "${{ fromJSON(inputs.legs) }}"}, "a leg per row of the call"
    assert job["runs-on"] == "${{ matrix.runner }}"
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
    qemu_steps = out.uses("legs", "docker/setup-qemu-action")
    assert all(step["if"] == "matrix.qemu" and step["with"]["platforms"] == "${{ matrix.qemu }}"
               for step in qemu_steps), "only the legs whose row names platforms to emulate"
    emulating = [leg for c in out.calls for leg in out.legs(c) if leg.get("qemu")]
    assert bool(qemu_steps) == bool(emulating), "the engine sets up QEMU only if some call emulates"
    assert bool(emulating) >= any(leg.get("qemu") for leg in legs)


@pytest.mark.parametrize(("sample", "name"), NATIVE)
def test_legs_push_by_digest_and_the_merge_tags_after_all_legs(sample: str, name: str) -> None:
    out, call = _call(sample, name)
    assert len(out.legs(call)) > 1, "a leg per platform, each its own engine leg"
    (build_step,) = out.uses("legs", "docker/build-push-action")
    outputs = build_step["with"]["outputs"]
    assert "push-by-digest=true" in outputs
    assert "name-canonical=true" in outputs
    assert "tags" not in build_step["with"], "tags with push-by-digest fail (build-push-action#1117)"
    upload = out.step("legs", "upload-digest")
    assert upload["with"]["if-no-files-found"] == "error"
    assert upload["with"]["retention-days"] == 1
    assert upload["if"] == "env.PUSH == 'true'"
    assert upload["with"]["name"] == "digests-${{ inputs.key }}--${{ matrix.pair }}", "each call's digests apart"

    merge = out.jobs["merge"]
    assert merge["needs"] == "legs", "the merge waits for every leg"
    assert merge["if"].startswith(NOT_ON_PR + " && "), "the merge is skipped on pull requests"
    assert out.step("merge", "download-digests")["with"]["pattern"] == "digests-${{ inputs.key }}--*"
    (meta,) = out.uses("merge", "docker/metadata-action")
    assert meta["with"]["tags"].strip(), "the merge job holds the tag rules"
    assert meta["env"]["DOCKER_METADATA_ANNOTATIONS_LEVELS"] == "index"
    create = next(s for s in merge["steps"] if "imagetools create" in s.get("run", ""))
    assert '(.tags[] | "--tag", .)' in create["run"], "every tag metadata-action computed"
    verify = out.step("merge", "verify")
    assert verify["env"]["LEGS"] == "${{ inputs.legs }}", "verification checks the call's platforms"
    ids = out.ids("merge")
    assert ids.index("verify") < ids.index(create["id"]), "verification comes before any tag"


def test_cache_scopes_are_distinct_per_image_and_platform() -> None:
    scopes: list[str] = []
    for sample, name in NATIVE:
        out, call = _call(sample, name)
        (step,) = out.uses("legs", "docker/build-push-action")
        if step["with"]["cache-from"] == "${{ steps.cache.outputs.from }}":  # keys per branch: cache-keys.sh
            # decides (tests/unit/test_cache_keys.py); each leg's key names its architecture.
            assert all("{branch}" in leg["cache"] for leg in out.legs(call))
            scopes += [leg["cache"] for leg in out.legs(call)]
            continue
        assert step["with"]["cache-from"] == "${{ matrix.cache }}"
        for leg in out.legs(call):
            assert _cache_options(out, call, leg, push=True) == (leg["cache"], leg["cache"] + WRITE)
            assert _cache_options(out, call, leg, push=False) == (leg["cache"], ""), "pull requests only read"
            assert leg["pair"] in leg["cache"]
            scopes.append(leg["cache"])
    assert len(scopes) == len(set(scopes)) > 4


def test_buildx_sample_is_one_build_for_six_platforms_without_qemu() -> None:
    out = generated(SAMPLES / "go-cross")
    assert list(out.workflows) == ["multiarch-server.yml", ENGINE]
    assert list(out.jobs) == ["legs", "merge", "sign"]
    assert list(out.calls) == ["server"]
    (leg,) = out.legs("server")
    assert leg["platform"].split(",") == [
        "linux/amd64", "linux/arm64", "linux/arm/v7", "linux/ppc64le", "linux/s390x", "linux/riscv64"]
    assert "qemu" not in leg
    (build,) = out.uses("legs", "docker/build-push-action")
    assert build["with"]["platforms"] == "${{ matrix.platform }}"
    assert out.uses("legs", "docker/setup-qemu-action") == []


def test_qemu_sample_emulates_only_foreign_platforms() -> None:
    out = generated(SAMPLES / "webapp")  # the worker's light work, `objective: cost`
    (leg,) = out.legs("worker")
    assert (leg["platform"], leg["qemu"]) == ("linux/amd64,linux/arm64", "arm64")
    (qemu,) = out.uses("legs", "docker/setup-qemu-action")
    assert qemu["with"]["platforms"] == "${{ matrix.qemu }}"
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


def _generate(tmp_path: Path, image_yaml: str) -> Generated:
    from generator.render import render_files

    (tmp_path / ".github").mkdir(exist_ok=True)
    (tmp_path / "Dockerfile").write_text("FROM alpine\n")
    (tmp_path / ".github/multiarch.yaml").write_text(f"version: 1\nimages:\n  app:\n{image_yaml}")
    out = from_texts(render_files(plan_spec(tmp_path).plan, "0"))
    assert list(out.calls) == ["app"]
    return out


# What pull requests do with the cache, per mode: (cache-from, cache-to) for a leg whose source is S.
PR_CACHE = {"read": ("S", ""), "write": ("S", "S" + WRITE), "off": ("", "")}


@pytest.mark.parametrize("mode", [
    "read",
    "write",
    "off",
])
@pytest.mark.parametrize("strategy", ["native", "qemu"])
def test_pull_request_cache_modes(tmp_path: Path, strategy: str, mode: str) -> None:
    """Publishing runs read and write the cache; pull requests do what the mode says, in every strategy."""
    out = _generate(tmp_path, f"    strategy: {strategy}\n    pull-request-cache: {mode}\n")
    legs = out.legs("app")
    assert len(legs) == (2 if strategy == "native" else 1)
    for leg in legs:
        source = leg["cache"]
        assert source.startswith("type=gha,scope=app")
        assert _cache_options(out, "app", leg, push=True) == (source, source + WRITE)
        expected = tuple(value.replace("S", source, 1) for value in PR_CACHE[mode])
        assert _cache_options(out, "app", leg, push=False) == expected, mode


def test_no_cache_means_no_cache_options(tmp_path: Path) -> None:
    out = _generate(tmp_path, "    cache: none\n")
    inputs = out.step("legs", "build")["with"]
    assert "cache-from" not in inputs
    assert "cache-to" not in inputs
    assert all("cache" not in leg for leg in out.legs("app"))


def test_build_arguments_keep_the_text_the_spec_writes(tmp_path: Path) -> None:
    """YAML reads `1.20` as the number 1.2; a build argument is text for the Dockerfile, so it stays as
    written, in block and flow style alike, and true/false and strings stay as they were."""
    out = _generate(tmp_path, "    strategy: qemu\n    build-args:\n      GO_VERSION: 1.20\n      HEX: 0x10\n"
                              "      LEAD: 012\n      BIG: 1e400\n      ON: true\n      S: '1.20'\n"
                              "    per-platform: {}\n")
    assert out.with_("app")["build-args"] == "GO_VERSION=1.20\nHEX=0x10\nLEAD=012\nBIG=1e400\nON=true\nS=1.20\n"
    assert "${{ inputs.build-args }}" in out.step("legs", "build")["with"]["build-args"], "the engine passes them on"
    flow = _generate(tmp_path, "    strategy: qemu\n    build-args: {PY: 3.10, N: 7}\n")
    assert flow.with_("app")["build-args"] == "PY=3.10\nN=7\n"
