"""Every sample's generated files: current with its spec, exactly what a fresh generation writes (they
are the expected output, reviewed in their diffs), clean under the checkers."""

from __future__ import annotations

import difflib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, SAMPLE_NAMES, SAMPLES, Runner, snapshot
from .regen_samples import generated_files, regenerate

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


REGENERATE = "python -m tests.regen_samples"
SHOWN_DIFF_LINES = 80  # per file: enough to see what changed; the command and `git diff` show the rest


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_sample_is_the_generated_output(sample: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The committed sample, byte for byte, is what regenerating it from scratch writes: every generated
    file equal, none missing, none left over. The version in the headers is compared too, not masked: a
    sample is a repository as its users would have it, and `--check` there compares the header as it
    stands, so after a version bump the samples are stale until regenerated."""
    copy = tmp_path / sample
    shutil.copytree(SAMPLES / sample, copy, symlinks=True)
    code = regenerate(copy)
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert any(p.parent.name == "workflows" for p in generated_files(copy)), "a sample generates a workflow"

    committed, fresh = snapshot(SAMPLES / sample), snapshot(copy)
    shown = SAMPLES.relative_to(REPO) / sample
    problems = [_difference(f"{shown}/{rel}", committed.get(rel), fresh.get(rel))
                for rel in sorted(committed.keys() | fresh.keys()) if committed.get(rel) != fresh.get(rel)]
    if problems:
        pytest.fail(f"{shown} is stale: {len(problems)} file(s) differ from a fresh generation. Regenerate every "
                    f"sample with `{REGENERATE}`, then review `git diff {SAMPLES.name}/`.\n" + "\n".join(problems),
                    pytrace=False)


def _difference(path: str, committed: bytes | None, fresh: bytes | None) -> str:
    if committed is None:
        return f"missing: {path} is generated but not committed"
    if fresh is None:
        return f"left over: {path} is committed but no longer generated"
    lines = [line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in
             difflib.unified_diff(_lines(committed), _lines(fresh), f"{path} (committed)", f"{path} (generated)")]
    if not lines:  # equal text, different bytes: not UTF-8 somewhere
        return f"{path}: differs in bytes that are not UTF-8"
    more = len(lines) - SHOWN_DIFF_LINES
    return "".join(lines[:SHOWN_DIFF_LINES]) + (f"... {more} more diff lines\n" if more > 0 else "")


def _lines(data: bytes) -> list[str]:
    """Lines ending at \\n only, as YAML and a shell read them (str.splitlines also ends one at \\f)."""
    return io.StringIO(data.decode("utf-8", "replace"), newline="\n").readlines()


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


@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_zizmor_clean(sample: str, persona: str) -> None:
    proc = subprocess.run([_tool("zizmor"), "--offline", "--no-progress", f"--persona={persona}",
                           "--format=plain", *_workflow_files(sample)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout, proc.stdout


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_every_zizmor_finding_left_is_justified(sample: str) -> None:
    """The auditor persona is clean only through ignore comments: each says why, in words, on its line."""
    found = 0
    for path in _workflow_files(sample):
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if "zizmor: ignore[" in line:
                found += 1
                why = line.split("zizmor: ignore[", 1)[1].split("]", 1)[1].strip()
                assert len(why.split()) >= 5, f"{path}: an ignore without its reason: {line.strip()}"
    assert found, "the engine's calls and its Python step carry justified ignores"


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_workflow_schema_clean(sample: str) -> None:
    proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           *_workflow_files(sample)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
