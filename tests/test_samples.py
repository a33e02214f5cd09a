"""Every sample's workflows: current with its spec, equal to the reviewed goldens, clean under the checkers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_regressions.file_regression import FileRegressionFixture

from generator.plan import plan_workflows
from generator.render import render_files
from generator.spec import load_spec

from .conftest import SAMPLE_NAMES, SAMPLES, VERSION_PLACEHOLDER, Runner

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if path is None:
        pytest.fail(f"{name} is not installed; `pip install -e '.[test]'` (and shellcheck from Debian) provide it")
    return path


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_sample_is_current(sample: str, run: Runner) -> None:
    result = run("-C", str(SAMPLES / sample), "--check")
    assert result.code == 0, result.out + result.err


GOLDENS = Path(__file__).parent / "goldens"


def _render(sample: str) -> dict[str, str]:
    return render_files(plan_workflows(load_spec(SAMPLES / sample), VERSION_PLACEHOLDER), VERSION_PLACEHOLDER)


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_sample_goldens_cover_every_workflow(sample: str) -> None:
    rendered = {Path(rel).name for rel in _render(sample)}
    assert rendered, "a sample generates at least one workflow"
    assert rendered == {p.name for p in (GOLDENS / sample).glob("*.yml")}


@pytest.mark.parametrize(("sample", "filename"), [
    (sample, path.name) for sample in SAMPLE_NAMES
    for path in sorted((SAMPLES / sample / ".github" / "workflows").glob("*.yml"))])
def test_sample_golden(sample: str, filename: str, file_regression: FileRegressionFixture) -> None:
    text = _render(sample)[f".github/workflows/{filename}"]
    file_regression.check(text, extension=".yml", fullpath=GOLDENS / sample / filename)


def _workflow_files(sample: str) -> list[str]:
    files = sorted(str(p) for p in (SAMPLES / sample / ".github" / "workflows").glob("*.yml"))
    assert files, f"{sample} has no generated workflows"
    return files


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_actionlint_clean(sample: str) -> None:
    assert shutil.which("shellcheck"), "shellcheck must be on PATH so actionlint checks run: scripts"
    proc = subprocess.run([_tool("actionlint"), "-shellcheck", shutil.which("shellcheck") or "",
                           *_workflow_files(sample)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_zizmor_clean(sample: str, persona: str) -> None:
    proc = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", f"--persona={persona}",
                           "--format=plain", *_workflow_files(sample)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout, proc.stdout


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_workflow_schema_clean(sample: str) -> None:
    proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           *_workflow_files(sample)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
