"""The parsed spec kept in the cache directory: used only for the very bytes, tool and parser that made it."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import app, fast, spec
from generator.errors import UserError
from generator.spec import document

from ..conftest import snapshot

SPEC = ".github/multiarch.yaml"


@pytest.fixture
def repo(sample_copy: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GEN_WORKFLOWS_CACHE_DIR", str(tmp_path / "cache"))
    return sample_copy("remote-desktop")


def _regenerate(root: Path) -> dict[str, bytes]:
    shutil.rmtree(root / ".github/workflows", ignore_errors=True)
    app.generate(root, None, check=False, force=False)
    return snapshot(root)


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names read_document parses from now on."""
    seen: list[str] = []
    real = document.read_document

    def counting(path: Path, display: str) -> document.Document:
        seen.append(display)
        return real(path, display)

    monkeypatch.setattr(spec, "read_document", counting)
    return seen


def _kept(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache").glob("*.doc"))


def test_an_unchanged_spec_is_parsed_once(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _parses(monkeypatch)
    first = _regenerate(repo)
    assert parses == [SPEC]
    assert len(_kept(tmp_path)) == 1
    assert _regenerate(repo) == first
    assert parses == [SPEC], "the kept Document was used"


def test_another_spec_tool_or_name_is_parsed_again(repo: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _parses(monkeypatch)
    _regenerate(repo)
    spec_file = repo / SPEC
    text = spec_file.read_text("utf-8")
    spec_file.write_text(text.replace("acmedesk", "acmedisk"), "utf-8")  # same size, other bytes
    edited = _regenerate(repo)
    assert parses == [SPEC, SPEC]
    assert b"acmedisk" in edited[".github/workflows/multiarch.yml"], "the registry namespace, in the engine's IMAGES"

    stamp = fast.tool_stamp()
    monkeypatch.setattr(fast, "tool_stamp", lambda: [*stamp, ("edited", 1, 1)])
    assert _regenerate(repo) == edited
    assert parses == [SPEC, SPEC, SPEC]

    monkeypatch.setattr(spec, "_parser_stamp", lambda: [("another ruamel.yaml", 1, 1)])
    _regenerate(repo)
    assert parses == [SPEC, SPEC, SPEC, SPEC]


def test_a_spec_edited_between_the_reads_is_not_kept(repo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = document.read_document
    spec_file = repo / SPEC

    def edited_meanwhile(path: Path, display: str) -> document.Document:
        spec_file.write_text(spec_file.read_text("utf-8") + "# edited\n", "utf-8")
        return real(path, display)

    monkeypatch.setattr(spec, "read_document", edited_meanwhile)
    _regenerate(repo)
    assert _kept(tmp_path) == []


def test_an_invalid_spec_or_a_broken_cache_file_is_never_used(repo: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _parses(monkeypatch)
    reference = _regenerate(repo)
    for kept in _kept(tmp_path):
        kept.write_bytes(kept.read_bytes()[:-7])
    assert _regenerate(repo) == reference
    for kept in _kept(tmp_path):
        kept.write_bytes(b"not marshal")
    assert _regenerate(repo) == reference
    assert len(parses) == 3

    # A spec the schema refuses is refused as before, kept Document or not; one that does not parse is
    # parsed again each time.
    (repo / SPEC).write_text("version: 1\nimages: {a: {strategy: nope}}\n", "utf-8")
    for _ in range(2):
        with pytest.raises(UserError, match="nope"):
            app.generate(repo, None, check=False, force=False)
    assert len(parses) == 4
    (repo / SPEC).write_text("version: 1\nimages: {a: [}\n", "utf-8")
    for _ in range(2):
        with pytest.raises(UserError, match="invalid YAML"):
            app.generate(repo, None, check=False, force=False)
    assert len(parses) == 6


def test_the_cache_can_be_turned_off(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEN_WORKFLOWS_NO_CACHE", "1")
    parses = _parses(monkeypatch)
    _regenerate(repo)
    _regenerate(repo)
    assert parses == [SPEC, SPEC]
    assert _kept(tmp_path) == []


def test_commands_without_a_read_log_parse_as_before(repo: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    parses = _parses(monkeypatch)
    _regenerate(repo)
    app.validate(repo)
    app.plan_spec(repo, every=True)
    assert parses == [SPEC, SPEC, SPEC]
