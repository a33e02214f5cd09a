from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample-projects"
SAMPLE_NAMES = sorted(p.name for p in SAMPLES.iterdir() if (p / ".github").is_dir())
VERSION_PLACEHOLDER = "@@VERSION@@"


@dataclass
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


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
