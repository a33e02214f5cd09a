"""`gen-workflows import`: each hand-written shape under tests/data/import/<shape>/ imports into a spec whose
generated workflows build the same images, for the same platforms, into the same repositories, with the
same tag names on every event (the old tags as metadata-action computes them from the old lines, the new
ones from each generated call's inputs, both through generator/plan/tags.py's model of metadata-action)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.importer import find
from generator.importer.compose import tag_rule
from generator.importer.model import Build
from generator.plan import tags
from generator.plan.values import image_refs
from generator.spec import load_spec

from .conftest import Runner, snapshot, write_tree

DATA = Path(__file__).parent / "data" / "import"
SHAPES = sorted(p.name for p in DATA.iterdir() if (p / ".github" / "workflows").is_dir())
# What each shape's import cannot carry, by file:line:col (the report is part of the contract).
EXPECTED_NOTES = {
    "qemu": [".github/workflows/docker.yml:37:13: the tag rule `type=match,pattern=v(\\d+),group=1` is not carried",
             ".github/workflows/docker.yml:67:15: --replace keeps this workflow: the step `aquasecurity/trivy-action` "
             "is not carried",
             ".github/workflows/docker.yml:67:15: the step `aquasecurity/trivy-action` is not carried"],
    "native": [], "variants": [], "reusable": [], "bake": [], "buildx-run": [],
    "github-builder": [],
}
# Hand-written workflows that build no image: left alone by import and by --replace.
LEFT_ALONE = {"qemu": [".github/workflows/lint.yml"]}


def copy(shape: str, tmp_path: Path) -> Path:
    target = tmp_path / shape
    shutil.copytree(DATA / shape, target)
    return target


def calls(repo: Path) -> list[dict[str, Any]]:
    """Each generated build call's inputs over the engine's defaults."""
    yaml = YAML(typ="safe")
    docs = {f.name: yaml.load(f.read_text()) for f in sorted((repo / ".github/workflows").glob("multiarch*.yml"))}
    engine = docs.pop("multiarch.yml")
    defaults = {k: v.get("default", "") for k, v in engine["on"]["workflow_call"]["inputs"].items()}
    return [defaults | job.get("with", {}) for doc in docs.values() for job in doc["jobs"].values()]


def canonical(ref: str) -> str:
    """A reference with its registry host: `acme/app` is Docker Hub's."""
    first = ref.split("/", 1)[0]
    return ref if "." in first or ":" in first or first == "localhost" else f"docker.io/{ref}"


def key(repository: str, prefix: str, suffix: str) -> tuple[str, str, str]:
    return repository, prefix, suffix


def old_written(build: Build, event: tags.Event, default: str) -> set[str]:
    """The tags the old workflow's metadata-action writes on the event (flavor latest=auto, as the fixtures),
    from the rules import carried: the others it reported, located (EXPECTED_NOTES)."""
    carried = [line for line in build.tag_lines if tag_rule(line)[0] is not None]
    inputs = {"tags": "\n".join(carried), "prefix": build.prefix, "suffix": build.suffix}
    return set(tags.written(inputs, event, default))


@pytest.mark.parametrize("shape", SHAPES)
def test_import_builds_the_same_images_platforms_repositories_and_tags(shape: str, tmp_path: Path,
                                                                        run: Runner) -> None:
    repo = copy(shape, tmp_path)
    before = sorted(p.name for p in (repo / ".github/workflows").iterdir())
    result = run("import", "-C", str(repo))
    assert result.code == 0, result.err
    notes = [line.split(" (")[0] for line in result.err.splitlines() if ": " in line and " (" in line
             and not line.startswith(("wrote", "Next"))]
    assert notes == EXPECTED_NOTES[shape], result.err
    for rel in LEFT_ALONE.get(shape, []):
        assert f"{rel}: builds no image; left alone" in result.err
    composed, _ = find(repo)  # the old workflows as import reads them, before they go
    old = {key(p.repository, p.build.prefix, p.build.suffix): p.build for p in composed.placed}
    recognised = set(composed.files)

    plan = run("plan", "-C", str(repo))
    assert plan.code == 0, plan.err
    assert "hand-written workflows still build these images" in plan.out

    result = run("-C", str(repo), "--replace")
    assert result.code == 0, result.err
    after = sorted(p.name for p in (repo / ".github/workflows").iterdir())
    kept = [n for n in before if f".github/workflows/{n}" not in recognised]
    assert [n for n in after if not n.startswith("multiarch")] == kept
    assert all(f".github/workflows/{n}" in recognised for n in before if n not in after)
    if set(composed.sources) <= recognised:  # a workflow that also scans, say, stays and still builds
        assert "hand-written workflows" not in run("plan", "-C", str(repo)).out

    spec = load_spec(repo)
    new = {key(c["repository"], c.get("prefix", ""), c.get("suffix", "")): c for c in calls(repo)}
    assert sorted(new) == sorted(old)
    default = tags.default_branch(spec)
    for k, build in old.items():
        call = new[k]
        variant = next(v for image in spec.images for v in image.variants
                       if (v.repository, v.prefix, v.suffix) == k)
        # the same repositories, in the same registries
        assert sorted(image_refs(spec, variant)) == sorted(map(canonical, build.refs)), k
        # the same platforms
        legs = [p.strip() for row in json.loads(call["legs"]) for p in row["platform"].split(",")]
        assert sorted(legs) == sorted(build.platforms), k
        # the same tag names on every event; on a release below the highest, the new workflows leave the
        # floating tags (the major and latest) where they are, which metadata-action moves back
        for event in tags.events(spec):
            was, now = old_written(build, event, default), set(tags.written(call, event, default))
            if "a fix below the highest" in event.label:
                assert now <= was, (k, event.label)
                assert was - now <= {f"{build.prefix}1{build.suffix}", f"{build.prefix}latest{build.suffix}"}, k
            else:
                assert now == was, (k, event.label, sorted(was), sorted(now))


def test_dry_run_prints_and_writes_nothing(tmp_path: Path, run: Runner) -> None:
    repo = copy("variants", tmp_path)
    files = snapshot(repo)
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 0, result.err
    assert result.out.startswith("# yaml-language-server")
    assert "      alpine:\n" in result.out
    assert 'suffix: "-alpine"' in result.out
    assert "would write .github/multiarch.yaml" in result.err
    assert snapshot(repo) == files


def test_never_overwrites_a_spec_without_force(tmp_path: Path, run: Runner) -> None:
    repo = copy("native", tmp_path)
    write_tree(repo, {".github/multiarch.yaml": "version: 1\nimages:\n  mine: {}\n"})
    result = run("import", "-C", str(repo))
    assert result.code == 2
    assert ".github/multiarch.yaml: a spec already exists; import never overwrites it" in result.err
    assert (repo / ".github/multiarch.yaml").read_text() == "version: 1\nimages:\n  mine: {}\n"
    assert run("import", "-C", str(repo), "--force").code == 0
    assert "  api:\n" in (repo / ".github/multiarch.yaml").read_text()


def test_from_reads_only_the_named_workflows(tmp_path: Path, run: Runner) -> None:
    repo = copy("qemu", tmp_path)
    result = run("import", "-C", str(repo), "--from", ".github/workflows/lint.yml")
    assert result.code == 2
    assert "no workflow here builds and pushes an image" in result.err
    assert ".github/workflows/lint.yml" in result.err
    assert not (repo / ".github/multiarch.yaml").exists()


def test_a_repository_without_image_workflows_is_left_alone(tmp_path: Path, run: Runner) -> None:
    repo = copy("qemu", tmp_path)
    (repo / ".github/workflows/docker.yml").unlink()
    files = snapshot(repo)
    result = run("import", "-C", str(repo))
    assert result.code == 2
    assert "workflows that build no image are left alone: .github/workflows/lint.yml" in result.err
    assert snapshot(repo) == files


def test_generate_without_replace_leaves_the_old_workflows(tmp_path: Path, run: Runner) -> None:
    repo = copy("bake", tmp_path)
    assert run("import", "-C", str(repo)).code == 0
    old = (repo / ".github/workflows/bake.yml").read_bytes()
    assert run("-C", str(repo)).code == 0
    assert (repo / ".github/workflows/bake.yml").read_bytes() == old
    check = run("-C", str(repo), "--replace", "--check")
    assert check.code == 1
    assert ".github/workflows/bake.yml: would remove" in check.err
    assert (repo / ".github/workflows/bake.yml").read_bytes() == old


def test_replace_takes_over_a_hand_written_file_with_a_generated_name(tmp_path: Path, run: Runner) -> None:
    repo = copy("native", tmp_path)
    (repo / ".github/workflows/release.yml").rename(repo / ".github/workflows/multiarch-api.yml")
    assert run("import", "-C", str(repo)).code == 0
    refused = run("-C", str(repo))
    assert refused.code == 2
    assert "was not generated by gen-workflows" in refused.err
    assert run("-C", str(repo), "--replace").code == 0
    assert (repo / ".github/workflows/multiarch-api.yml").read_text().startswith("# Generated by gen-workflows")


def test_plan_compares_old_and_new(tmp_path: Path, run: Runner) -> None:
    repo = copy("native", tmp_path)
    assert run("import", "-C", str(repo)).code == 0
    out = run("plan", "-C", str(repo)).out
    assert "  old  .github/workflows/release.yml:46:9: native (build-push-action, merged with imagetools)" in out
    assert "  linux/arm64    old ubuntu-24.04-arm         new ubuntu-24.04-arm" in out
    assert "  tags old: type=ref,event=branch; type=semver,pattern={{version}}" in out
    data = json.loads(run("plan", "-C", str(repo), "--format", "json").out)
    assert data[0]["was"]["runners"] == {"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"}


UNCARRIED = """\
name: odd
on:
  push:
    branches: [main]
    branches-ignore: [wip]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ./scripts/prepare-assets.sh
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ghcr.io/acme/odd
          tags: |
            type=ref,event=branch
            type=raw,value=stable,enable=${{ github.ref == format('refs/heads/{0}', 'main') }}
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: ${{ steps.meta.outputs.tags }}
          secrets: |
            token=${{ secrets.NPM_TOKEN }}
"""


def test_what_cannot_be_carried_is_reported_located(tmp_path: Path, run: Runner) -> None:
    repo = write_tree(tmp_path / "odd", {".github/workflows/odd.yml": UNCARRIED, "Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo))
    assert result.code == 0, result.err
    f = ".github/workflows/odd.yml"
    assert f"{f}:5:5: `branches-ignore` is not carried (" in result.err
    assert f"{f}:11:14: a custom run step is not carried (" in result.err
    assert f"{f}:18:13: the tag rule `type=raw,value=stable,enable=${{{{ github.ref == format(" in result.err
    assert f"{f}:23:11: `secrets` is not carried (" in result.err
    spec = (repo / ".github/multiarch.yaml").read_text()
    assert "tags: [branch]" in spec
    assert f"  # DECIDE: {f}:11:14: a custom run step is not carried (" in spec


@pytest.mark.parametrize(("name", "text", "message"), [
    ("huge", "# " + "x" * (1024 * 1024 + 10) + "\n", "the limit is"),
    ("deep", "on: push\njobs: " + "[" * 5000 + "]" * 5000 + "\n", "nests deeper than"),
    ("deep-block", "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "v: 1\n", "nests deeper than"),
    ("bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)) + "on: push\njobs: {}\n", "more than"),
    ("broken", "on: push\njobs:\n  a: [\n", "invalid YAML"),
    ("binary", "\udcff", "not UTF-8"),
])
def test_hostile_workflows_give_exit_2(name: str, text: str, message: str, tmp_path: Path, run: Runner) -> None:
    repo = tmp_path / name
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / ".github/workflows/x.yml").write_bytes(text.encode("utf-8", "surrogateescape"))
    result = run("import", "-C", str(repo))
    assert result.code == 2, result.err
    assert result.err.startswith(".github/workflows/x.yml:")
    assert message in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize(("text", "message"), [
    ('target "a" {\n  context = \n', "cannot read the bake file"),
    ('target "a" {\n  args = ' + "{ a = " * 100 + "1" + " }" * 100 + "\n}\n", "nests deeper than"),
])
def test_hostile_bake_files_give_exit_2(text: str, message: str, tmp_path: Path, run: Runner) -> None:
    repo = copy("bake", tmp_path)
    (repo / "docker-bake.hcl").write_text(text)
    result = run("import", "-C", str(repo))
    assert result.code == 2, result.err
    assert result.err.startswith("docker-bake.hcl:")
    assert message in result.err


def test_regeneration_does_not_import_the_importer(sample_copy: Any) -> None:
    import subprocess
    import sys

    repo = sample_copy("minimal")
    code = ("import sys; from generator.cli import main; code = main(['-C', sys.argv[1]]); "
            "print(code, sorted(m for m in sys.modules if m.startswith(('generator.importer', 'hcl2', 'lark'))))")
    out = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, text=True, check=True,
                         env={**os.environ, "GEN_WORKFLOWS_NO_CACHE": "1"})
    assert out.stdout.strip().endswith("0 []"), out.stdout + out.stderr


REFUSED = """\
on:
  push:
    branches: ["feature branch", main]
    tags: ["v*"]
    paths: ["app/**", "c++/x"]
  schedule:
    - cron: "bad cron"
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/setup-qemu-action@v3
      - id: meta
        uses: docker/metadata-action@v5
        with:
          images: ghcr.io/Acme/App
          tags: type=ref,event=branch
      - uses: docker/build-push-action@v6
        with:
          context: app
          push: true
          platforms: linux/amd64,linux/arm64,linux/mips99
          build-args: |
            A B=1
            GOOD=yes
          target: "bad target"
          tags: ${{ steps.meta.outputs.tags }}
"""


def test_what_the_spec_refuses_is_commented_out_and_reported(tmp_path: Path, run: Runner) -> None:
    repo = write_tree(tmp_path / "refused", {".github/workflows/w.yml": REFUSED, "app/Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo))
    assert result.code == 0, result.err
    f = ".github/workflows/w.yml"
    assert f"{f}:1:1: `- feature branch` left out (\"feature branch\" is not a valid value" in result.err
    assert f"{f}:1:1: `- bad cron` left out" in result.err
    assert f"{f}:22:9: `A B: \"1\"` left out (invalid name \"A B\"" in result.err
    assert f"{f}:22:9: `target: bad target` left out" in result.err
    assert f"{f}:9:3: --replace keeps this workflow: job `test` builds no image" in result.err
    spec = (repo / ".github/multiarch.yaml").read_text()
    assert "    # DECIDE: linux/mips99 left out: not a platform the spec knows\n" in spec
    assert "  app:\n" in spec  # ghcr.io/Acme/App, lower-cased as metadata-action does
    assert '      GOOD: "yes"\n' in spec
    assert run("validate", "-C", str(repo)).code == 0
    replaced = run("-C", str(repo), "--replace")
    assert replaced.code == 0, replaced.err
    assert (repo / f).exists()  # it runs a test job too: kept


def test_expressions_that_expand_without_bound_are_left_as_written(tmp_path: Path, run: Runner) -> None:
    refs = "${{ env.B }}" * 400
    workflow = f"""\
on: push
env:
  C: "{'x' * 4000}"
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      B: "{'${{ env.C }}' * 400}"
    steps:
      - uses: docker/build-push-action@v6
        env:
          A: "{refs}"
        with:
          push: true
          build-args: ONE=${{{{ env.A }}}}
          tags: ghcr.io/acme/app:latest
"""
    repo = write_tree(tmp_path / "bomb", {".github/workflows/w.yml": workflow, "Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 0, result.err
    assert len(result.out) < 200_000


def test_a_matrix_too_large_to_read_gives_exit_2(tmp_path: Path, run: Runner) -> None:
    rows = "".join(f"          - n: {i}\n" for i in range(300))
    workflow = ("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
                f"        include:\n{rows}    steps:\n      - run: echo\n")
    repo = write_tree(tmp_path / "big", {".github/workflows/w.yml": workflow})
    result = run("import", "-C", str(repo))
    assert result.code == 2
    assert result.err.startswith(".github/workflows/w.yml:7:9: ")
    assert "the matrix includes 300 rows" in result.err


def test_from_outside_the_repository_or_through_a_symlink_is_refused(tmp_path: Path, run: Runner) -> None:
    repo = copy("qemu", tmp_path)
    outside = tmp_path / "secret.yml"
    outside.write_text("on: push\njobs: {}\n")
    result = run("import", "-C", str(repo), "--from", "../secret.yml")
    assert result.code == 2
    assert "../secret.yml: is outside the repository (--from)" in result.err
    (repo / ".github/workflows/link.yml").symlink_to(outside)
    result = run("import", "-C", str(repo), "--from", ".github/workflows/link.yml")
    assert result.code == 2
    assert ".github/workflows/link.yml: the workflow is a symlink" in result.err


def test_bake_inherits_and_groups_that_fan_out_are_read_once_each(tmp_path: Path, run: Runner) -> None:
    # Each target inherits from the next thirty times over, each group names the next thirty times: read
    # naively that is 30**9 visits (a hang of `import` and of `plan`); each target resolves once.
    n = 9
    hcl = "".join(f'target "t{i}" {{\n  inherits = [{", ".join([chr(34) + f"t{i + 1}" + chr(34)] * 30)}]\n}}\n'
                  f'group "g{i}" {{\n  targets = [{", ".join([chr(34) + f"g{i + 1}" + chr(34)] * 30)}, "t0"]\n}}\n'
                  for i in range(n))
    hcl += f'target "t{n}" {{\n  context = "app"\n  tags = ["ghcr.io/acme/app:1"]\n}}\ngroup "g{n}" {{\n}}\n'
    workflow = ("on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: docker/bake-action@v5\n        with:\n          push: true\n          targets: g0\n")
    repo = write_tree(tmp_path / "fan", {".github/workflows/b.yml": workflow, "docker-bake.hcl": hcl,
                                         "app/Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 0, result.err
    assert "ghcr.io/acme/app" not in result.err


def test_reusable_workflows_that_fan_out_without_steps_are_bounded(tmp_path: Path, run: Runner) -> None:
    # Twenty calls a level, eight levels, and no step anywhere to count: 20**8 calls unless calls count.
    files = {".github/workflows/main.yml": "on: push\njobs:\n" + "".join(
        f"  j{k}:\n    uses: ./.github/workflows/r0.yml\n" for k in range(20))}
    for i in range(8):
        body = "on:\n  workflow_call:\njobs:\n"
        body += "".join(f"  j{k}:\n    uses: ./.github/workflows/r{i + 1}.yml\n" for k in range(20)) if i < 7 else \
            "  b:\n    uses: acme/other/.github/workflows/x.yml@v1\n"
        files[f".github/workflows/r{i}.yml"] = body
    repo = write_tree(tmp_path / "calls", files)
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 2
    assert "steps to read over the matrices and calls" in result.err


BUILD_JOB = """\
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: docker/build-push-action@v6
        with:
          context: app
          push: true
          tags: ghcr.io/acme/app:latest
"""


def test_replace_keeps_a_reusable_workflow_another_kept_workflow_calls(tmp_path: Path, run: Runner) -> None:
    # a.yml only calls r.yml and goes; b.yml runs tests too and stays: the r.yml it calls must stay with it.
    repo = write_tree(tmp_path / "shared", {
        ".github/workflows/r.yml": "on:\n  workflow_call:\njobs:\n  build:\n" + BUILD_JOB,
        ".github/workflows/a.yml": "on: push\njobs:\n  image:\n    uses: ./.github/workflows/r.yml\n",
        ".github/workflows/b.yml": ("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                                    "      - run: make test\n  image:\n    uses: ./.github/workflows/r.yml\n"),
        "app/Dockerfile": "FROM alpine\n"})
    assert run("import", "-C", str(repo)).code == 0
    result = run("-C", str(repo), "--replace")
    assert result.code == 0, result.err
    assert (repo / ".github/workflows/b.yml").exists()
    assert (repo / ".github/workflows/r.yml").exists()  # b.yml still calls it


@pytest.mark.parametrize("step", ["      - run: ./deploy.sh production\n",
                                  "      - uses: acme/deploy-action@v1\n        with: {env: production}\n"])
def test_replace_keeps_a_workflow_whose_build_job_does_more(step: str, tmp_path: Path, run: Runner) -> None:
    # The deployment runs in the build job itself: the spec carries the build, never the deployment.
    repo = write_tree(tmp_path / "more", {".github/workflows/w.yml": "on: push\njobs:\n  build:\n" + BUILD_JOB + step,
                                          "app/Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo))
    assert result.code == 0, result.err
    assert ".github/workflows/w.yml:12:" in result.err
    assert "--replace keeps this workflow" in result.err
    assert run("-C", str(repo), "--replace").code == 0
    assert (repo / ".github/workflows/w.yml").exists()


def test_replace_keeps_a_workflow_with_a_trigger_the_spec_does_not_carry(tmp_path: Path, run: Runner) -> None:
    # A rebuild on `/rebuild` comments: the new workflows would never run on it, so the old one stays.
    workflow = "on:\n  push:\n  issue_comment:\n    types: [created]\njobs:\n  build:\n" + BUILD_JOB
    repo = write_tree(tmp_path / "comment", {".github/workflows/w.yml": workflow, "app/Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo))
    assert result.code == 0, result.err
    assert ".github/workflows/w.yml:3:3: the `issue_comment` trigger is not carried (" in result.err
    assert ".github/workflows/w.yml:3:3: --replace keeps this workflow: the `issue_comment` trigger is not carried (" \
        in result.err
    assert run("-C", str(repo), "--replace").code == 0
    assert (repo / ".github/workflows/w.yml").exists()


def test_uses_and_bake_files_never_read_outside_the_repository(tmp_path: Path, run: Runner) -> None:
    # A pull request's workflow naming a file outside the repository: its text must never reach the spec or a
    # message (the maintainer's other checkouts, home directory files, ...).
    outside = write_tree(tmp_path / "outside", {
        "r.yml": "on:\n  workflow_call:\njobs:\n  build:\n" + BUILD_JOB.replace("acme/app", "secret/leaked"),
        "x.hcl": 'target "default" {\n  context = "app"\n  tags = ["ghcr.io/secret/leaked:1"]\n}\n'})
    repo = write_tree(tmp_path / "repo", {
        ".github/workflows/a.yml": "on: push\njobs:\n  image:\n    uses: ./.github/workflows/../../../outside/r.yml\n",
        ".github/workflows/b.yml": ("on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
                                    "      - uses: docker/bake-action@v5\n        with:\n          push: true\n"
                                    f"          files: |\n            ../outside/x.hcl\n            {outside}/x.hcl\n"
                                    "            link/x.hcl\n"),
        "app/Dockerfile": "FROM alpine\n"})
    (repo / "link").symlink_to(outside)
    result = run("import", "-C", str(repo), "--dry-run")
    assert "leaked" not in result.out + result.err
    assert "Traceback" not in result.err


def test_a_bake_file_is_parsed_once_however_many_rows_read_it(tmp_path: Path, run: Runner, monkeypatch: Any) -> None:
    # A matrix of 256 rows around a bake step would parse a large bake file 256 times (seconds each).
    from generator.importer import recognise

    parsed: list[str] = []
    real = recognise.load_hcl
    monkeypatch.setattr(recognise, "load_hcl", lambda path, display: parsed.append(display) or real(path, display))
    rows = "".join(f"          - n: {i}\n" for i in range(256))
    workflow = ("on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        include:\n"
                f"{rows}    steps:\n      - uses: docker/bake-action@v5\n        with:\n          push: true\n")
    hcl = 'target "default" {\n  context = "app"\n  tags = ["ghcr.io/acme/app:1"]\n}\n'
    repo = write_tree(tmp_path / "rows", {".github/workflows/b.yml": workflow, "docker-bake.hcl": hcl,
                                          "app/Dockerfile": "FROM alpine\n"})
    find(repo)
    assert parsed == ["docker-bake.hcl"]


def test_what_import_reads_is_bounded_in_total(tmp_path: Path, run: Runner, monkeypatch: Any) -> None:
    # Each file under its own bound, but a pull request can add many: parsing them all (seconds a megabyte)
    # would stall import and every `plan`. The total is bounded (made small here to keep the test fast).
    from generator.importer import load, recognise

    assert load.MAX_TOTAL_BYTES == 4 * 1024 * 1024
    monkeypatch.setattr(recognise, "MAX_TOTAL_BYTES", 60_000)
    filler = "# " + "x" * 10_000 + "\non: push\njobs: {}\n"
    repo = write_tree(tmp_path / "many", {f".github/workflows/w{i}.yml": filler for i in range(7)})
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 2, result.err
    assert "import a few at a time with --from" in result.err
    assert result.err.startswith(".github/workflows/w5.yml:1:1: ")


def test_a_workflow_named_with_a_line_break_never_reaches_the_spec(tmp_path: Path, run: Runner) -> None:
    # The spec's `# from <file>` comments name the workflows: a line break in a name would write YAML of the
    # pull request's choosing into the spec (and, here, an exit 3). Such a file is not read.
    name = ".github/workflows/w\ndefaults:\n  sign: true\n#.yml"
    repo = write_tree(tmp_path / "named", {name: "on: push\njobs:\n  b:\n" + BUILD_JOB,
                                           ".github/workflows/ok.yml": "on: push\njobs:\n  b:\n" + BUILD_JOB,
                                           "app/Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 0, result.err
    assert "sign: true" not in result.out
    assert "# Made by `gen-workflows import` from .github/workflows/ok.yml.\n" in result.out
    called = "on: push\njobs:\n  image:\n    uses: \"./.github/workflows/r\\nx.yml\"\n"
    (repo / ".github/workflows/ok.yml").write_text(called)
    (repo / ".github/workflows/r\nx.yml").write_text("on:\n  workflow_call:\njobs:\n  build:\n" + BUILD_JOB)
    assert run("import", "-C", str(repo), "--dry-run").code == 2  # nothing left to import


def test_a_platform_the_spec_does_not_know_is_commented_on_one_line(tmp_path: Path, run: Runner) -> None:
    # A matrix value becomes a `# DECIDE:` comment: a line break in it would write the spec's YAML.
    workflow = ("on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
                '        p: ["linux/amd64", "linux/x\\n    sign: true\\n#"]\n    steps:\n'
                "      - uses: docker/build-push-action@v6\n        with:\n          context: app\n"
                "          platforms: ${{ matrix.p }}\n          push: true\n          tags: ghcr.io/acme/app:latest\n")
    repo = write_tree(tmp_path / "plat", {".github/workflows/w.yml": workflow, "app/Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 0, result.err
    assert "\n    sign: true" not in result.out
    assert "    # DECIDE: linux/x\\n sign: true\\n# left out: not a platform the spec knows\n" in result.out


@pytest.mark.parametrize("link", [".github", ".github/workflows"])
def test_import_never_reads_or_writes_through_a_directory_that_leaves_the_repository(
        link: str, tmp_path: Path, run: Runner) -> None:
    outside = write_tree(tmp_path / "outside", {"workflows/w.yml": "on: push\njobs:\n  b:\n" + BUILD_JOB.replace(
        "acme/app", "secret/leaked")})
    repo = write_tree(tmp_path / "repo", {"app/Dockerfile": "FROM alpine\n"})
    (repo / link).parent.mkdir(parents=True, exist_ok=True)
    (repo / link).symlink_to(outside if link == ".github" else outside / "workflows")
    before = snapshot(outside)
    result = run("import", "-C", str(repo))
    assert result.code == 2, result.err
    assert "leaked" not in result.out + result.err
    assert "is a symlink that leaves the repository" in result.err
    assert snapshot(outside) == before
    assert "leaked" not in run("plan", "-C", str(repo)).out


def test_a_matrix_with_many_excludes_called_many_times_is_bounded(tmp_path: Path, run: Runner) -> None:
    # 256 rows against 20,000 excludes, in a reusable workflow called 300 times: minutes of comparisons.
    values = ", ".join(str(i) for i in range(256))
    excludes = "".join(f"          - {{a: {1000 + i}}}\n" for i in range(20000))
    repo = write_tree(tmp_path / "excl", {
        ".github/workflows/r.yml": ("on:\n  workflow_call:\njobs:\n  t:\n    runs-on: x\n    strategy:\n      matrix:\n"
                                    f"        a: [{values}]\n        exclude:\n{excludes}"
                                    "    steps:\n      - run: echo\n"),
        ".github/workflows/main.yml": "on: push\njobs:\n" + "".join(
            f"  j{k}:\n    uses: ./.github/workflows/r.yml\n" for k in range(300))})
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 2, result.err
    assert ".github/workflows/r.yml:9:9: the matrix excludes 20000 rows; import reads at most 1024" in \
        result.err


def test_env_values_made_of_env_values_are_bounded_in_total() -> None:
    # Each value is bounded (MAX_VALUE), but 15,000 of them each made of a 60 kB one held 900 MB at once.
    from generator.importer.recognise import MAX_SCOPE, Scope

    scope = Scope({"X": "x" * 60_000})
    child = scope.child({f"Y{i}": "${{ env.X }}" for i in range(2000)})
    assert sum(len(v) for v in child.env.values()) <= MAX_SCOPE + 200_000  # not 2000 * 60 kB
    assert child.text("${{ env.Y1 }}")[0] == "x" * 60_000


def test_steps_with_env_in_a_job_with_a_large_env_are_read_without_copying_it(tmp_path: Path, run: Runner) -> None:
    # 20,000 job env entries, copied for each of 30,000 step visits: 6e8 copies, minutes.
    env = "".join(f"      E{i}: v\n" for i in range(20000))
    steps = "".join(f"      - run: echo {i}\n        env: {{A: b}}\n" for i in range(3000))
    workflow = (f"on: push\njobs:\n  b:\n    runs-on: x\n    strategy:\n      matrix:\n        n: "
                f"[{', '.join(map(str, range(10)))}]\n    env:\n{env}    steps:\n{steps}")
    repo = write_tree(tmp_path / "env", {".github/workflows/w.yml": workflow})
    assert run("import", "-C", str(repo), "--dry-run").code == 2  # builds no image


def test_inputs_made_of_env_values_are_bounded_in_total(tmp_path: Path, run: Runner, monkeypatch: Any) -> None:
    # A call's `with:` resolved the same way: 2,000 inputs each a 60 kB env value, held at once.
    from generator.importer import recognise

    sizes: list[int] = []
    real = recognise.Recogniser.jobs

    def jobs(self: Any, doc: Any, jobs: Any, scope: Any, found: Any) -> None:
        sizes.append(sum(len(str(v)) for v in scope.inputs.values()))
        real(self, doc, jobs, scope, found)

    monkeypatch.setattr(recognise.Recogniser, "jobs", jobs)
    with_ = "".join(f"      I{i}: ${{{{ env.X }}}}\n" for i in range(2000))
    repo = write_tree(tmp_path / "inputs", {
        ".github/workflows/main.yml": (f"on: push\nenv:\n  X: \"{'x' * 60_000}\"\njobs:\n  a:\n"
                                       f"    uses: ./.github/workflows/r.yml\n    with:\n{with_}"),
        ".github/workflows/r.yml": "on:\n  workflow_call:\njobs:\n  build:\n" + BUILD_JOB})
    run("import", "-C", str(repo), "--dry-run")
    assert max(sizes) <= recognise.MAX_SCOPE + 200_000


def test_more_builds_than_a_spec_can_hold_give_exit_2(tmp_path: Path, run: Runner) -> None:
    # 256 matrix rows with a prefix each, called 120 times: 30,720 builds made import's placing quadratic.
    values = ", ".join(f"v{i}" for i in range(256))
    called = ("on:\n  workflow_call:\n    inputs:\n      n: {type: string}\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
              f"    strategy:\n      matrix:\n        v: [{values}]\n    steps:\n      - id: meta\n"
              "        uses: docker/metadata-action@v5\n        with:\n          images: ghcr.io/acme/app\n"
              "          flavor: prefix=${{ matrix.v }}-${{ inputs.n }}-\n      - uses: docker/build-push-action@v6\n"
              "        with:\n          context: app\n          push: true\n"
              "          tags: ${{ steps.meta.outputs.tags }}\n")
    main = "on: push\njobs:\n" + "".join(f"  j{k}:\n    uses: ./.github/workflows/r.yml\n    with: {{n: n{k}}}\n"
                                        for k in range(120))
    repo = write_tree(tmp_path / "many", {".github/workflows/r.yml": called, ".github/workflows/main.yml": main,
                                          "app/Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 2, result.err
    assert "import a few at a time with --from" in result.err


def test_more_variants_than_an_image_holds_are_left_out_and_reported(tmp_path: Path, run: Runner) -> None:
    # 150 matrix rows, each a variant of one repository: the spec holds 100 a image (this was an exit 3).
    values = ", ".join(f"v{i}" for i in range(150))
    workflow = ("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n"
                f"        v: [{values}]\n    steps:\n      - id: meta\n        uses: docker/metadata-action@v5\n"
                "        with:\n          images: ghcr.io/acme/app\n          flavor: prefix=${{ matrix.v }}-\n"
                "      - uses: docker/build-push-action@v6\n        with:\n          context: app\n"
                "          push: true\n"
                "          tags: ${{ steps.meta.outputs.tags }}\n")
    repo = write_tree(tmp_path / "wide", {".github/workflows/w.yml": workflow, "app/Dockerfile": "FROM alpine\n"})
    result = run("import", "-C", str(repo))
    assert result.code == 0, result.err
    assert "a build of ghcr.io/acme/app is left out (an image holds at most 100 variants" in result.err
    assert run("validate", "-C", str(repo)).code == 0
    assert run("-C", str(repo), "--replace").code == 0
    assert (repo / ".github/workflows/w.yml").exists()  # not every build it runs is in the spec


def test_a_bake_file_of_blank_lines_is_read_in_linear_time(tmp_path: Path, run: Runner) -> None:
    # The comment stripper's `^\s*` ran across line ends: 32,000 blank lines took 40 s, 256 kB hours.
    repo = copy("bake", tmp_path)
    text = (repo / "docker-bake.hcl").read_text()
    (repo / "docker-bake.hcl").write_text("\n" * 200_000 + text)
    result = run("import", "-C", str(repo), "--dry-run")
    assert result.code == 0, result.err


@pytest.mark.parametrize("value", ["${{" + " " * 5000, "${{ a" + " " * 5000, "${{" * 20000, "${{ a" * 10000])
def test_an_expression_left_open_is_read_in_bounded_time(value: str, tmp_path: Path, run: Runner) -> None:
    # `\$\{\{\s*(.*?)\s*\}\}` backtracked over the spaces after an unclosed `${{` (2,000 took 15 s), and each
    # unclosed `${{` scanned to the end of its line (20,000 on one: 21 s).
    workflow = ("on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n      - run: docker buildx build --push -t "
                f"ghcr.io/acme/app:1 app\n        env:\n          A: \"{value}\"\n"
                f"      - run: \"docker buildx build --push -t ghcr.io/acme/app:{value} app\"\n")
    repo = write_tree(tmp_path / "open", {".github/workflows/w.yml": workflow, "app/Dockerfile": "FROM alpine\n"})
    assert run("import", "-C", str(repo), "--dry-run").code == 0


def test_brackets_in_a_spec_comment_nest_nothing(tmp_path: Path, run: Runner) -> None:
    # Import's DECIDE comments quote the workflows; the spec's nesting pre-check counted their `{` (exit 3 above).
    repo = write_tree(tmp_path / "comment", {".github/multiarch.yaml": "version: 1\n# " + "{" * 40 + "\nimages:\n"
                                             "  app: {}  # " + "[" * 40 + "\n", "Dockerfile": "FROM alpine\n"})
    result = run("validate", "-C", str(repo))
    assert result.code == 0, result.err
