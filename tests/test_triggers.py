"""Triggers beyond pushes and pull requests (`triggers.releases`, `triggers.merge-queue`): the generated
workflows for a spec using them are clean under every checker the samples pass, and say what runs when."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from .conftest import Runner, write_tree
from .test_samples import _tool

SPEC = """version: 1
triggers: {releases: true, merge-queue: true, tags: []}
registries:
  - {type: ghcr}
  - {type: dockerhub, namespace: example}
runners: {linux/arm64: [self-hosted, arm64]}
images:
  app:
    platforms: [linux/amd64, linux/arm64]
    strategy: native
    tags: [branch, version, major.minor, sha]
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = write_tree(tmp_path_factory.mktemp("triggers"), {".github/multiarch.yaml": SPEC,
                                                              "Dockerfile": "FROM alpine:3.22\n"})
    subprocess.run([sys.executable, "-m", "generator", "-C", str(root)], check=True, capture_output=True)
    return sorted(str(p) for p in (root / ".github/workflows").glob("*.yml"))


def test_the_workflow_runs_on_releases_and_merge_queues(generated: list[str]) -> None:
    doc = YAML(typ="safe").load(Path(next(f for f in generated if f.endswith("multiarch-app.yml"))).read_text())
    on = doc[True] if True in doc else doc["on"]
    assert on["release"] == {"types": ["published"]}, "published fires for pre-releases too"
    assert "merge_group" in on
    assert "tags" not in on["push"]


def test_actionlint_clean(generated: list[str]) -> None:
    proc = subprocess.run([_tool("actionlint"), "-shellcheck", shutil.which("shellcheck") or "", *generated],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
def test_zizmor_clean(generated: list[str], persona: str) -> None:
    proc = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", f"--persona={persona}",
                           "--format=plain", *generated], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_schema_clean(generated: list[str]) -> None:
    proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *generated],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr



@pytest.mark.parametrize(("tags", "said"), [
    ("tags: ['v*'], ", '"v*"'),
    ("tags: ['v*', '!v0*'], ", '"v*", "!v0*"'),
])
def test_releases_beside_tag_pushes_are_refused_alike_by_every_command(tags: str, said: str, tmp_path: Path,
                                                                       run: Runner) -> None:
    """Publishing a release pushes its tag: with `tags:` too, each release would build and tag twice."""
    spec = f"version: 1\ntriggers: {{{tags}releases: true}}\nimages:\n  app: {{tags: [branch, tag, sha]}}\n"
    root = write_tree(tmp_path, {".github/multiarch.yaml": spec, "Dockerfile": "FROM alpine:3.22\n"})
    results = [run(*command, "-C", str(root)) for command in (["validate"], ["plan"], ["generate"])]
    assert {r.code for r in results} == {2}
    assert len({r.err for r in results}) == 1, "validate, plan and generate say the same"
    column = spec.splitlines()[1].index("true") + 1  # at `releases: true`
    assert results[0].err.startswith(f".github/multiarch.yaml:2:{column}: triggers.releases beside "
                                     f"triggers.tags {said}: every release whose tag these match builds twice")
    assert "hint: drop `tags:` (or set it to []) to publish from releases only" in results[0].err
    assert not (root / ".github/workflows").exists()


@pytest.mark.parametrize("tags", ["tags: [], ", ""])
def test_releases_without_tag_patterns_are_accepted(tags: str, tmp_path: Path, run: Runner) -> None:
    """`releases: true` alone publishes from releases only: the tag patterns' default (v*) gives way."""
    spec = f"version: 1\ntriggers: {{{tags}releases: true}}\nimages:\n  app: {{tags: [branch, tag, sha]}}\n"
    root = write_tree(tmp_path, {".github/multiarch.yaml": spec, "Dockerfile": "FROM alpine:3.22\n"})
    assert run("validate", "-C", str(root)).code == 0
    assert run("-C", str(root)).code == 0
    on = YAML(typ="safe").load((root / ".github/workflows/multiarch-app.yml").read_text())["on"]
    assert "tags" not in on["push"]
    assert on["release"] == {"types": ["published"]}
