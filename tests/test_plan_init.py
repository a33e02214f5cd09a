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
        if row["estimate"] is not None:
            assert set(row["estimate"]) == {"qemu", "native", "buildx"}


def test_plan_json_says_why_auto_chose(run: Runner) -> None:
    rows = json.loads(run("plan", "-C", str(SAMPLES / "webapp"), "--format", "json").out)
    web = next(r for r in rows if r["image"] == "web")
    assert web["strategy"] == "native"
    assert web["reason"].startswith('auto: native: RUN pip install in stage "deps" (line 8) executes for ')
    assert web["runners"]["linux/arm64"] == "ubuntu-24.04-arm"
    assert web["emulated"] == ["linux/arm/v7"]
    assert web["estimate"]["native"] < web["estimate"]["qemu"]
    assert web["estimate"]["buildx"] is None, "buildx cannot run pip install for arm64 without emulation"


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
    assert '    multiarch_base__apps_vlc["apps/vlc<br/>calls the engine: 1 leg"]' in lines, "qemu: one leg"
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
