"""The up-to-date fast path: same answers as the full path, without importing the heavy modules."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from generator import fast

from .conftest import Runner

HEAVY = ("click", "jinja2", "jsonschema", "ruamel")


def _cli(repo: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """Run the console entry point as a process; return its exit code, output and the heavy modules it imported."""
    probe = ("import sys, runpy\n"
             "sys.argv = ['gen-workflows', *sys.argv[1:]]\n"
             "try:\n"
             "    runpy.run_module('generator', run_name='__main__')\n"
             "finally:\n"
             f"    heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
             "    print('IMPORTED', heavy, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", probe, "-C", str(repo), *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    imported = proc.stderr.rsplit("IMPORTED ", 1)[1]
    return proc.returncode, proc.stdout + proc.stderr, {m.split(".")[0] for m in eval(imported)}


@pytest.fixture
def current(sample_copy: Callable[[str], Path], run: Runner) -> Path:
    repo = sample_copy("remote-desktop")
    assert run("-C", str(repo), "--check").code == 0  # the full path records the state
    return repo


def test_an_up_to_date_check_imports_nothing_heavy(current: Path) -> None:
    code, out, imported = _cli(current, "--check")
    assert code == 0, out
    assert imported == set()
    code, out, imported = _cli(current)
    assert (code, imported) == (0, set())
    assert out.startswith("workflows are up to date\n")


def test_a_changed_input_takes_the_full_path_with_the_same_answer(current: Path) -> None:
    spec = current / ".github/multiarch.yaml"
    spec.write_text(spec.read_text() + "# a comment changes nothing\n")
    code, _, imported = _cli(current, "--check")
    assert (code, "click" in imported) == (0, True)
    assert _cli(current, "--check")[2] == set(), "the full path recorded the new state"

    dockerfile = current / "apps/Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN make\n")  # auto now picks another strategy
    code, out, imported = _cli(current, "--check")
    assert (code, "click" in imported) == (1, True)
    assert "would update" in out


@pytest.mark.parametrize("damage", ["edit", "delete", "orphan"])
def test_damaged_workflows_are_never_taken_for_current(current: Path, damage: str) -> None:
    workflow = current / ".github/workflows/multiarch-base.yml"
    if damage == "edit":
        workflow.write_text(workflow.read_text().replace("timeout-minutes: 15", "timeout-minutes: 5", 1))
    elif damage == "delete":
        workflow.unlink()
    else:
        (workflow.parent / "multiarch-gone.yml").write_text(workflow.read_text())
    code, out, imported = _cli(current, "--check")
    assert code == 1, out
    assert "click" in imported


def test_other_commands_and_options_take_the_full_path(current: Path) -> None:
    assert fast._parse(["--check", "-C", "x"]) == ("x", None, True)
    assert fast._parse(["generate", "--spec", "s.yaml"]) == (".", "s.yaml", False)
    for argv in (["plan"], ["--force"], ["validate"], ["--check", "--traceback"], ["-C"]):
        assert fast._parse(argv) is None, argv
    assert not fast.up_to_date(["--force", "-C", str(current)])


def test_the_cache_can_be_turned_off(current: Path) -> None:
    code, _, imported = _cli(current, "--check", env={"GEN_WORKFLOWS_NO_CACHE": "1"})
    assert (code, "click" in imported) == (0, True)


def test_another_version_does_not_trust_the_record(current: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fast.up_to_date(["-C", str(current), "--check"])
    monkeypatch.setattr(fast, "__version__", "999")
    assert not fast.up_to_date(["-C", str(current), "--check"])


def test_an_edited_tool_does_not_trust_the_record(current: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fast.up_to_date(["-C", str(current), "--check"])
    stamp = fast.tool_stamp()
    assert any(path.endswith("workflow.yml.j2") for path, _, _ in stamp), "templates are part of the tool"
    monkeypatch.setattr(fast, "tool_stamp", lambda: [*stamp[:-1], (stamp[-1][0], stamp[-1][1] + 1, 0)])
    assert not fast.up_to_date(["-C", str(current), "--check"])
