"""Path filters: `defaults.paths` for every image, and a filter dropped because an image of the same
workflow builds from the repository root is said so, in the workflow and in `plan` (issue 16, defect 4)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .conftest import Runner, write_tree
from .unit.plans import plan_of, workflow

FILES = {"base/Dockerfile": "FROM alpine\n", "Dockerfile": "ARG BASE_IMAGE\nFROM $BASE_IMAGE\n"}
# A ROS-like stack: paths: on its base, and a dependent that builds from the repository root.
STACK = """version: 1
defaults: {strategy: qemu}
images:
  base:
    context: base
    paths: [base/**, ros/**]
  stack:
    from: base
    repository: stack
"""
NOTE = ("No path filter: stack builds from the whole repository (context .), so the paths: of base cannot apply "
        "(give stack paths: too, or set defaults.paths)")


def test_a_dropped_filter_is_said_in_the_plan(tmp_path: Path) -> None:
    wf = workflow(plan_of(tmp_path, STACK, FILES), "multiarch-base.yml")
    assert wf.on.paths == (), "the workflow runs stack too, which needs every change"
    assert wf.summary == (NOTE,)


def test_no_note_when_no_image_asked_for_a_filter(tmp_path: Path) -> None:
    wf = workflow(plan_of(tmp_path, STACK.replace("    paths: [base/**, ros/**]\n", ""), FILES), "multiarch-base.yml")
    assert (wf.on.paths, wf.summary) == ((), ()), "the root context's documented default: nothing was dropped"


def test_defaults_paths_apply_to_every_image(tmp_path: Path) -> None:
    spec = STACK.replace("defaults: {strategy: qemu}", "defaults: {strategy: qemu, paths: [src/**, docker/**]}")
    plan = plan_of(tmp_path, spec.replace("    paths: [base/**, ros/**]\n", ""), FILES)
    wf = workflow(plan, "multiarch-base.yml")
    assert wf.on.paths == ("src/**", "docker/**", ".github/multiarch.yaml", ".github/workflows/multiarch.yml",
                           ".github/workflows/multiarch-base.yml"), "the root-context image included"
    assert wf.summary == ()
    own = workflow(plan_of(tmp_path / "own", spec, FILES), "multiarch-base.yml")
    assert own.on.paths[:4] == ("base/**", "ros/**", "src/**", "docker/**"), "an image's own paths: come first"


def test_the_workflow_and_plan_output_say_it(tmp_path: Path, run: Runner) -> None:
    root = write_tree(tmp_path, {".github/multiarch.yaml": STACK, **FILES})
    assert run("-C", str(root)).code == 0
    text = (root / ".github/workflows/multiarch-base.yml").read_text(encoding="utf-8")
    push = text[text.index("  push:\n"):text.index("  pull_request:")]
    assert push.splitlines()[-2] == f"    # {NOTE}", "where the filter would be"
    on = yaml.safe_load(text)[True]
    assert "paths" not in on["push"]
    assert "paths" not in on["pull_request"]
    plan = run("plan", "-C", str(root))
    assert f"  note: {NOTE}\n" in plan.out
    assert plan.out.count("note:") == 1, "on the image whose paths: are dropped"
    rows = {row["image"]: row for row in json.loads(run("plan", "--format", "json", "-C", str(root)).out)}
    assert (rows["base"]["paths_note"], rows["stack"]["paths_note"]) == (NOTE, None)


def test_defaults_paths_are_checked_as_an_images_are(tmp_path: Path, run: Runner) -> None:
    root = write_tree(tmp_path, {".github/multiarch.yaml": "version: 1\ndefaults:\n  paths: [src/, '!x/**']\n"
                                 "images:\n  app: {}\n", "Dockerfile": "FROM alpine\n"})
    result = run("validate", "-C", str(root))
    assert result.code == 2
    assert result.err.startswith('.github/multiarch.yaml:3:11: defaults.paths[0] "src/": a pattern ending in')
