"""Registry caches in a repository of their own (`cache: {repository, key}`): the key template
(generator/cachekey.py), each leg's reference (plan/values.py), and cache-keys.sh, which fills in the
branch: read the branch's key and the default branch's, write only the branch's, only when allowed."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from generator import cachekey
from generator.plan.engine import legs_rows
from generator.plan.values import cache_source
from generator.platforms import parse_platform

from ..conftest import REPO
from .plans import planned

ARM64, ARMV7 = parse_platform("linux/arm64"), parse_platform("linux/arm/v7")
SCRIPT = REPO / "templates/scripts/cache-keys.sh"


@pytest.mark.parametrize(("template", "variant", "key"), [
    ("{image}-{variant}-{platform}-{branch}", "humble", "ros-humble-linux-arm64-{branch}"),
    ("{image}-{variant}-{platform}-{branch}", "", "ros-linux-arm64-{branch}"),  # no variant: its separator goes
    ("{image}-{arch}-{variant}", "", "ros-arm64"),
    ("{variant}_{arch}", "", "arm64"),
    ("{image}.{arch}", "jazzy", "ros.arm64"),
])
def test_a_template_filled_in_for_a_build_and_platform(template: str, variant: str, key: str) -> None:
    assert cachekey.render(template, "ros", variant, ARM64) == key


def test_a_leg_of_every_platform_is_all_and_arm_variants_stay_apart() -> None:
    assert cachekey.render("{image}-{platform}-{arch}", "app", "", None) == "app-all-all"
    assert [p.arch for p in (ARM64, ARMV7, parse_platform("linux/arm/v6"), parse_platform("amd64"))] == [
        "arm64", "armv7", "armv6", "amd64"]
    assert cachekey.placeholders("{image}-x-{brnch}") == ["image", "brnch"]


SPEC = """version: 1
registries: [{type: ghcr, namespace: acme}]
images:
  ros:
    strategy: native
    platforms: [amd64, arm64]
    cache: {repository: ghcr.io/acme/cache, key: "{variant}-{arch}-{branch}"}
    variants: {humble: {}, jazzy: {}}
  tool:
    strategy: qemu
    platforms: [amd64, arm64]
    cache: {repository: ghcr.io/acme/cache}
"""


def test_each_leg_carries_its_key_with_the_branch_left_for_the_run(tmp_path: Path) -> None:
    stages = planned(tmp_path, SPEC)
    humble, tool = stages.spec.variant("ros", "humble"), stages.spec.variant("tool")
    rows = legs_rows(stages.spec, humble, stages.decisions[humble.key])
    assert [row["cache"] for row in rows] == ["type=registry,ref=ghcr.io/acme/cache:humble-amd64-{branch}",
                                             "type=registry,ref=ghcr.io/acme/cache:humble-arm64-{branch}"]
    (row,) = legs_rows(stages.spec, tool, stages.decisions[tool.key])  # one leg builds both: `all`
    assert row["cache"] == "type=registry,ref=ghcr.io/acme/cache:tool-all-{branch}"
    assert cache_source(stages.spec, tool, "linux-arm64", ARM64) == \
        "type=registry,ref=ghcr.io/acme/cache:tool-linux-arm64-{branch}"


def keys(tmp_path: Path, branch: str, default: str = "main", read: str = "true", write: str = "true",
         cache: str = "type=registry,ref=r/cache:app-arm64-{branch}") -> tuple[list[str], str]:
    output = tmp_path / "output"
    output.write_text("", encoding="utf-8")
    env = {"PATH": os.environ["PATH"], "GITHUB_OUTPUT": str(output), "CACHE": cache, "BRANCH": branch,
           "DEFAULT_BRANCH": default, "READ": read, "WRITE": write}
    subprocess.run(["bash", "-e", str(SCRIPT)], env=env, check=True, capture_output=True)
    lines = output.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "from<<CACHE_FROM_END", lines
    assert lines[-2] == "CACHE_FROM_END", lines
    return [line for line in lines[1:-2] if line], lines[-1].removeprefix("to=")


def test_a_branch_reads_its_key_and_the_default_branchs_and_writes_its_own(tmp_path: Path) -> None:
    assert keys(tmp_path, "release/1.x") == (
        ["type=registry,ref=r/cache:app-arm64-release-1.x", "type=registry,ref=r/cache:app-arm64-main"],
        "type=registry,ref=r/cache:app-arm64-release-1.x,mode=max,ignore-error=true")


def test_the_default_branch_reads_one_key(tmp_path: Path) -> None:
    assert keys(tmp_path, "main") == (["type=registry,ref=r/cache:app-arm64-main"],
                                      "type=registry,ref=r/cache:app-arm64-main,mode=max,ignore-error=true")


def test_a_run_that_may_not_write_only_reads(tmp_path: Path) -> None:
    assert keys(tmp_path, "feature", write="false") == (
        ["type=registry,ref=r/cache:app-arm64-feature", "type=registry,ref=r/cache:app-arm64-main"], "")
    assert keys(tmp_path, "feature", read="false", write="false") == ([], "")


def test_a_hostile_branch_name_becomes_tag_characters(tmp_path: Path) -> None:
    hostile = 'x"$(touch pwned)`id`\\;a=b,push=true/' + "y" * 80
    (from_, *_), to = keys(tmp_path, hostile)
    key = from_.removeprefix("type=registry,ref=r/cache:app-arm64-")
    assert len(key) == 40
    assert set(key) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    assert not (tmp_path / "pwned").exists()
    assert to.count(",") == 3, "no option of the branch's own reaches cache-to"


def test_without_a_branch_placeholder_every_run_shares_one_key(tmp_path: Path) -> None:
    assert keys(tmp_path, "feature", cache="type=gha,scope=app") == (["type=gha,scope=app"],
                                                                     "type=gha,scope=app,mode=max,ignore-error=true")


def test_a_branch_that_starts_the_key_never_starts_it_with_a_dot_or_dash(tmp_path: Path) -> None:
    """Git takes `#12-fix` and `+x` as branch names; their first character becomes `-`, which no tag may
    start with (cache-from and cache-to would name no image): it becomes `_`, so the name stays its own."""
    cache = "type=registry,ref=r/cache:{branch}-arm64"
    assert keys(tmp_path, "#12-fix", cache=cache) == (
        ["type=registry,ref=r/cache:_12-fix-arm64", "type=registry,ref=r/cache:main-arm64"],
        "type=registry,ref=r/cache:_12-fix-arm64,mode=max,ignore-error=true")
    assert keys(tmp_path, "-main", cache=cache) == (
        ["type=registry,ref=r/cache:_main-arm64", "type=registry,ref=r/cache:main-arm64"],
        "type=registry,ref=r/cache:_main-arm64,mode=max,ignore-error=true")


@pytest.mark.parametrize("branch", ["+", "+main", "@main", "фича", "-main"])
def test_no_other_branch_writes_the_default_branchs_key(tmp_path: Path, branch: str) -> None:
    """Whatever a branch's name comes out as, it writes its own key: never main's, which main's next build
    reuses (a branch that publishes must not poison it)."""
    for cache in ("type=registry,ref=r/cache:{branch}-arm64", "type=registry,ref=r/cache:app-arm64-{branch}"):
        written = keys(tmp_path, branch, cache=cache)[1]
        assert written, branch
        assert written != cache.replace("{branch}", "main") + ",mode=max,ignore-error=true", branch


def test_a_branch_whose_name_comes_out_as_the_default_branchs_only_reads_it(tmp_path: Path) -> None:
    assert keys(tmp_path, "release/1.x", default="release-1.x") == (
        ["type=registry,ref=r/cache:app-arm64-release-1.x"], "")
    assert keys(tmp_path, "release-1.x", default="release-1.x")[1].endswith("release-1.x,mode=max,ignore-error=true")
    assert f"cut -c1-{cachekey.BRANCH_MAX};" in SCRIPT.read_text(encoding="utf-8"), "validate's longest branch"
