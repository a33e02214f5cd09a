"""`plan` explains and pictures; `init` starts a spec from a repository's Dockerfiles."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SAMPLE_NAMES, SAMPLES, Runner

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_plan_json_names_a_strategy_and_a_runner_for_every_platform(sample: str, run: Runner) -> None:
    result = run("plan", "-C", str(SAMPLES / sample), "--format", "json")
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert rows
    for row in rows:
        assert row["strategy"] in ("qemu", "native", "buildx")
        assert row["reason"]
        assert set(row["runners"]) == set(row["platforms"])
        assert all(row["runners"].values())
        assert row["workflow"].startswith("multiarch-")
        assert set(row) >= {"image", "variant", "platforms", "strategy", "reason", "runners", "estimate"}
        assert row["objective"] in ("time", "cost")
        if row["estimate"] is not None:
            assert set(row["estimate"]) == set(row["cost"]) == {"qemu", "native", "buildx"}
            # auto's choice has the best estimate under the objective it names
            if row["reason"].startswith("auto: "):
                shown = row["estimate" if row["objective"] == "time" else "cost"]
                best = min(v for v in shown.values() if v is not None)
                assert shown[row["strategy"]] == best, row["reason"]


def test_plan_json_says_why_auto_chose(run: Runner) -> None:
    rows = json.loads(run("plan", "-C", str(SAMPLES / "webapp"), "--format", "json").out)
    web = next(r for r in rows if r["image"] == "web")
    assert web["strategy"] == "native"
    assert web["reason"].startswith('auto: native: RUN pip install in stage "deps" (line 8) executes for ')
    assert web["runners"]["linux/arm64"] == "ubuntu-24.04-arm"
    assert web["emulated"] == ["linux/arm/v7"]
    assert web["estimate"]["native"] < web["estimate"]["qemu"]
    assert web["estimate"]["buildx"] is None, "buildx cannot run pip install for arm64 without emulation"


def _ros_workspace(tmp_path: Path, objective: str) -> Path:
    (tmp_path / "Dockerfile").write_text(
        "FROM ros:humble AS build\n"
        "WORKDIR /ws\n"
        "COPY ros.repos .\n"
        "RUN mkdir src && vcs import src < ros.repos && colcon build --merge-install\n"
        "FROM ros:humble\n"
        "COPY --from=build /ws/install /opt/ws\n")
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "multiarch.yaml").write_text(
        f"version: 1\nregistries: [{{type: ghcr, namespace: acme}}]\ndefaults:\n  objective: {objective}\n"
        "images:\n  ros: {platforms: [amd64, arm64]}\n"
        "  tools: {dockerfile: tools.Dockerfile, platforms: [amd64, arm64], timeout-minutes: 45}\n")
    (tmp_path / "tools.Dockerfile").write_text("FROM alpine\nRUN apk add --no-cache curl\n")
    return tmp_path


@pytest.mark.parametrize(("objective", "tools"), [("time", "native"), ("cost", "qemu")])
def test_plan_names_the_objective_and_a_colcon_build_goes_native(
        run: Runner, tmp_path: Path, objective: str, tools: str) -> None:
    repo = _ros_workspace(tmp_path, objective)
    rows = {r["image"]: r for r in json.loads(run("plan", "-C", str(repo), "--format", "json").out)}
    ros = rows["ros"]
    assert (ros["objective"], ros["strategy"], ros["work"]) == (objective, "native", "heavy")
    assert ros["reason"].startswith('auto: native: RUN colcon build in stage "build" (line 4) executes for linux/arm64')
    assert "vcs import" not in ros["reason"]
    # Light work: parallel legs are faster, one QEMU job uses fewer runner minutes.
    assert rows["tools"]["strategy"] == tools
    assert rows["tools"]["estimate"]["native"] < rows["tools"]["estimate"]["qemu"]
    assert rows["tools"]["cost"]["qemu"] < rows["tools"]["cost"]["native"]
    text = run("plan", "-C", str(repo)).out
    assert f"(objective: {objective})" in text
    assert "estimated time: qemu 8.3x, native 1.3x, buildx n/a" in text
    assert "estimated runner time: qemu 8.3x, native 2.3x, buildx n/a" in text
    assert "heavy work for the target platforms (compiles); 1.0 = one native build; auto minimises" in text


def test_plan_does_not_credit_auto_with_a_strategy_the_spec_sets(run: Runner) -> None:
    text = run("plan", "-C", str(SAMPLES / "robotics")).out
    assert "why: set in the spec\n  heavy work for the target platforms (compiles); 1.0 = one native build; the " \
           "spec sets the strategy\n" in text
    assert "auto minimises" not in text
    assert {row["auto"] for row in json.loads(run("plan", "-C", str(SAMPLES / "robotics"), "--format", "json").out)} \
        == {False}


def test_a_heavy_build_gets_the_longest_timeout_unless_the_spec_sets_one(run: Runner, tmp_path: Path) -> None:
    repo = _ros_workspace(tmp_path, "time")
    assert run("generate", "-C", str(repo)).code == 0
    workflows = {p.name: p.read_text() for p in (repo / ".github" / "workflows").glob("*.yml")}
    ros = next(text for name, text in workflows.items() if name.endswith("-ros.yml"))
    tools = next(text for name, text in workflows.items() if name.endswith("-tools.yml"))
    assert re.search(r"^\s+timeout: 360$", ros, re.M), "heavy, and the spec keeps the default 120"
    assert re.search(r"^\s+timeout: 45$", tools, re.M)


def test_plan_text_is_a_readable_table(run: Runner) -> None:
    out = run("plan", "-C", str(SAMPLES / "webapp")).out
    assert "web -> native  [multiarch-web.yml]" in out
    assert re.search(r"linux/arm64 +ubuntu-24\.04-arm +native", out)
    assert re.search(r"linux/arm/v7 +ubuntu-24\.04 +QEMU", out)
    assert "why: auto: native:" in out


def test_plan_mermaid_is_the_job_graph(run: Runner) -> None:
    out = run("plan", "-C", str(SAMPLES / "remote-desktop"), "--format", "mermaid").out
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    assert '  subgraph multiarch["multiarch.yml"]' in lines, "the engine's jobs"
    assert '  subgraph multiarch_base["multiarch-base.yml"]' in lines
    nodes = {m.group(1) for line in lines if (m := re.match(r"    (\w+)\[\"", line))}
    edges = [tuple(line.split(" --> ")) for line in lines if " --> " in line]
    apps = ["firefox", "chromium", "thunderbird", "vlc", "gimp", "libreoffice", "firefox_nvidia", "chromium_nvidia"]
    calls = {"multiarch_base__base"} | {f"multiarch_base__apps_{app}" for app in apps}
    assert nodes == {"multiarch__legs", "multiarch__merge"} | calls, "a call per build"
    assert [(a.strip(), b) for a, b in edges] == [("multiarch__legs", "multiarch__merge")] + [
        ("multiarch_base__base", f"multiarch_base__apps_{app}") for app in apps], "each app after the base only"
    assert all(a.strip() in nodes and b in nodes for a, b in edges)
    assert '    multiarch__merge["Verify and tag<br/>verifies the pushed platforms, then tags"]' in lines
    assert '    multiarch_base__base["base<br/>calls the engine: 3 legs"]' in lines, "native: a leg a platform"
    assert '    multiarch_base__apps_vlc["apps/vlc<br/>calls the engine: 3 legs"]' in lines, "light, but fastest native"
    assert ('    multiarch_base__apps_firefox_nvidia["apps/firefox-nvidia<br/>calls the engine: 1 leg"]' in lines), \
        "buildx: one leg"
    assert lines[-1] == "  end"


def _copy_without_spec(sample: str, tmp_path: Path) -> Path:
    repo = tmp_path / sample
    shutil.copytree(SAMPLES / sample, repo, ignore=shutil.ignore_patterns(".github"))
    return repo


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_init_writes_a_spec_that_validates_and_generates_lint_clean_workflows(
        sample: str, tmp_path: Path, run: Runner) -> None:
    repo = _copy_without_spec(sample, tmp_path)
    result = run("init", "-C", str(repo))
    assert result.code == 0, result.err
    spec = (repo / ".github/multiarch.yaml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=https://")
    assert " -> " in result.out, "init prints the plan"
    assert run("validate", "-C", str(repo)).code == 0
    generated = run("-C", str(repo))
    assert generated.code == 0, generated.err
    files = sorted(str(p) for p in (repo / ".github/workflows").glob("*.yml"))
    assert files
    for command in ([str(BIN / "actionlint"), *files],
                    [str(BIN / "zizmor"), "--offline", "--no-progress", "--persona=pedantic", *files],
                    [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files]):
        proc = subprocess.run(command, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_init_never_overwrites_a_spec(run: Runner) -> None:
    result = run("init", "-C", str(SAMPLES / "minimal"))
    assert result.code == 2
    assert "a spec already exists; init never overwrites it" in result.err


def test_init_without_dockerfiles_says_so(tmp_path: Path, run: Runner) -> None:
    (tmp_path / "README.md").write_text("no images here\n")
    result = run("init", "-C", str(tmp_path))
    assert result.code == 2
    assert "no Dockerfile or Containerfile found" in result.err
    assert not (tmp_path / ".github").exists()


def test_init_names_images_after_their_files(tmp_path: Path) -> None:
    from generator.init import find_dockerfiles

    for rel in ("Dockerfile", "api/Dockerfile", "api/Dockerfile.worker", "tools/cli.Containerfile",
                "node_modules/x/Dockerfile", "docs/Dockerfile"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("FROM alpine\n")
    found = [(f.name, f.context, f.dockerfile) for f in find_dockerfiles(tmp_path)]
    assert found == [(tmp_path.name.lower().replace("_", "-"), ".", ""), ("api", "api", ""),
                     ("worker", "api", "api/Dockerfile.worker"), ("docs", "docs", ""),
                     ("cli", "tools", "tools/cli.Containerfile")]
