"""plan/values.py: what one build is, as the values its jobs read."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.model import TagRule
from generator.plan.engine import call_defaults, call_inputs, legs_rows
from generator.plan.values import (
    build_args,
    cache_source,
    cache_tag,
    floats,
    image_refs,
    needs_lowercase,
    release_rules,
    tag_line,
)

from .plans import planned


@pytest.mark.parametrize(("rule", "line"), [
    (TagRule("ref", "branch"), "type=ref,event=branch"),
    (TagRule("semver", "{{major}}.{{minor}}"), "type=semver,pattern={{major}}.{{minor}}"),
    (TagRule("raw", "stable"), "type=raw,value=stable"),
    (TagRule("schedule", "nightly"), "type=schedule,pattern=nightly"),
    (TagRule("sha"), "type=sha"),
    (TagRule("edge"), "type=edge"),
])
def test_tag_rules_as_metadata_action_reads_them(rule: TagRule, line: str) -> None:
    assert tag_line(rule) == line


REGISTRIES = """version: 1
registries:
  - type: ghcr
    namespace: acme
  - type: dockerhub
    namespace: acme
images:
  app:
    strategy: qemu
    variants:
      main: {primary: true}
      gpu: {suffix: -gpu, cache: registry, platforms: [amd64]}
      off: {prefix: off-, cache: none}
"""


def test_image_references_per_registry(tmp_path: Path) -> None:
    stages = planned(tmp_path, REGISTRIES)
    assert image_refs(stages.spec, stages.spec.variant("app", "main")) == ("ghcr.io/acme/app", "docker.io/acme/app")
    assert not needs_lowercase(stages.spec), "a namespace the spec writes is lower-case (validated)"


def test_ghcr_defaults_to_the_repository_owner_which_may_hold_capitals(tmp_path: Path) -> None:
    stages = planned(tmp_path, "version: 1\nimages:\n  app: {strategy: qemu}\n")
    assert image_refs(stages.spec, stages.spec.variant("app")) == ("ghcr.io/${{ github.repository_owner }}/app",)
    assert needs_lowercase(stages.spec)


def test_every_build_decorates_every_tag_and_latest_moves_only_through_the_decision(tmp_path: Path) -> None:
    stages = planned(tmp_path, REGISTRIES)
    gpu, off = stages.spec.variant("app", "gpu"), stages.spec.variant("app", "off")
    # The engine's metadata step decorates every tag, latest included, with the prefix and suffix a call passes
    # (tests/test_variants.py reads the flavor it writes); the floating-tags decision alone moves latest.
    defaults = call_defaults(stages.spec)
    for build, decoration in ((gpu, {"suffix": "-gpu"}), (off, {"prefix": "off-"})):
        passed = call_inputs(stages.spec, build, stages.decisions[build.key], {}, defaults, {})
        assert {k: passed[k] for k in ("prefix", "suffix") if k in passed} == decoration
    assert floats(stages.spec, gpu), "the workflow runs on version tags and the build has semver rules"


def test_caches_are_per_build_and_per_platform(tmp_path: Path) -> None:
    stages = planned(tmp_path, REGISTRIES)
    spec = stages.spec
    main, gpu, off = (spec.variant("app", v) for v in ("main", "gpu", "off"))
    assert cache_source(spec, main) == "type=gha,scope=app--main"
    assert cache_source(spec, main, "linux-arm64") == "type=gha,scope=app--main--linux-arm64"
    assert cache_source(spec, gpu) == "type=registry,ref=ghcr.io/acme/app:buildcache-gpu"
    assert cache_tag(gpu, "linux-amd64") == "buildcache-gpu-linux-amd64"
    assert cache_source(spec, off) == ""


def test_the_values_of_a_build(tmp_path: Path) -> None:
    stages = planned(tmp_path, "version: 1\nimages:\n  app:\n    strategy: qemu\n    build-args: {A: '1', B: two}\n"
                               "    tags: [branch, version, {raw: stable}]\n")
    build = stages.spec.variant("app")
    assert build_args(build.build_args) == "A=1\nB=two\n"
    tags, semver = release_rules(stages.spec, build.tags, build.prefix, build.name)
    assert tags == "type=ref,event=branch\ntype=raw,value=stable\n", "semver rules go to the decision"
    assert semver == "type=semver,pattern={{version}}\n"
    (row,) = legs_rows(stages.spec, build, stages.decisions[build.key])  # what verify.sh expects, and where
    assert (row["platform"], row["runner"], row["qemu"]) == ("linux/amd64,linux/arm64", "ubuntu-24.04", "arm64")


def test_the_git_tag_verbatim_waits_for_the_floating_decision(tmp_path: Path) -> None:
    """`tag` goes to the floating-tags decision beside any semver rules, so latest moves only to the
    highest release of its scheme (CalVer 2025.08.0 included), never on every tag as latest=auto would."""
    spec = "version: 1\ntriggers: {releases: true, tags: []}\nimages:\n  app:\n    tags: [tag, sha, version]\n"
    stages = planned(tmp_path, spec)
    build = stages.spec.variant("app")
    assert release_rules(stages.spec, build.tags) == (
        "type=sha\n", "type=ref,event=tag\ntype=semver,pattern={{version}}\n")
    assert floats(stages.spec, build)
