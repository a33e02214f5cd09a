"""Invalid specs: exact located messages, exit 2, nothing written, never a traceback.

Each folder under tests/invalid/ is a repository whose spec is wrong; expected.txt holds the exact stderr.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytest_regressions.file_regression import FileRegressionFixture

from .conftest import Runner, snapshot

CASES = Path(__file__).parent / "invalid"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_invalid_spec(case: str, tmp_path: Path, run: Runner, file_regression: FileRegressionFixture) -> None:
    repo = tmp_path / case
    shutil.copytree(CASES / case, repo, ignore=shutil.ignore_patterns("expected.txt"))
    before = snapshot(repo)

    result = run("-C", str(repo))

    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    assert "internal error" not in result.err
    assert result.out == ""
    assert snapshot(repo) == before, "an invalid spec must not write anything"
    for line in result.err.splitlines():
        assert line.startswith((".github/multiarch.yaml:", "  hint: ")), line
    file_regression.check(result.err, fullpath=CASES / case / "expected.txt")
    for command in ("validate", "plan"):  # one verdict on a spec, whichever command reads it
        other = run(command, "-C", str(repo))
        assert (other.code, other.err) == (2, result.err), command
    assert snapshot(repo) == before


def test_validate_reports_the_same_problems(tmp_path: Path, run: Runner) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CASES / "three-problems", repo, ignore=shutil.ignore_patterns("expected.txt"))
    generate = run("-C", str(repo))
    validate = run("validate", "-C", str(repo))
    assert validate.code == 2
    assert validate.err == generate.err
    assert validate.err.count(".github/multiarch.yaml:") == 3
