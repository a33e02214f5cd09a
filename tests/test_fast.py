"""The up-to-date fast path: same answers as the full path, without importing the heavy modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator import app, fast, source

from .conftest import SAMPLE_NAMES, Runner, snapshot, write_tree

HEAVY = ("click", "jinja2", "jsonschema", "ruamel")
# The full path renders, so it always imports jinja2 (a plain regeneration no longer imports click).
INVALID = Path(__file__).parent / "invalid"
INVALID_CASES = sorted(p.name for p in INVALID.iterdir() if p.is_dir())


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
    assert run("-C", str(repo)).code == 0  # current whatever the sample's committed state
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
    assert (code, "jinja2" in imported) == (0, True)
    assert _cli(current, "--check")[2] == set(), "the full path recorded the new state"

    dockerfile = current / "apps/Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "RUN make\n")  # auto now picks another strategy
    code, out, imported = _cli(current, "--check")
    assert (code, "jinja2" in imported) == (1, True)
    assert "would update" in out


@pytest.mark.parametrize("damage", ["edit", "delete", "orphan"])
def test_damaged_workflows_are_never_taken_for_current(current: Path, damage: str) -> None:
    workflow = current / ".github/workflows/multiarch-base.yml"
    if damage == "edit":
        text = workflow.read_text()
        assert "    needs: base\n" in text, "the edit below changes the file"
        workflow.write_text(text.replace("    needs: base\n", "    needs: [base]\n", 1))
    elif damage == "delete":
        workflow.unlink()
    else:
        (workflow.parent / "multiarch-gone.yml").write_text(workflow.read_text())
    code, out, imported = _cli(current, "--check")
    assert code == 1, out
    assert "jinja2" in imported


def test_other_commands_and_options_take_the_full_path(current: Path) -> None:
    assert fast.invocation(["--check", "-C", "x"]) == ("x", None, True)
    assert fast.invocation(["generate", "--spec", "s.yaml"]) == (".", "s.yaml", False)
    for argv in (["plan"], ["--force"], ["validate"], ["--check", "--traceback"], ["-C"]):
        assert fast.invocation(argv) is None, argv
    assert not fast.up_to_date(["--force", "-C", str(current)])


def test_the_cache_can_be_turned_off(current: Path) -> None:
    code, _, imported = _cli(current, "--check", env={"GEN_WORKFLOWS_NO_CACHE": "1"})
    assert (code, "jinja2" in imported) == (0, True)


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


# ------------------------------------------------------------------ the record holds what the run used

QEMU_SPEC = "version: 1\nimages:\n  app:\n    strategy: qemu\n    context: app\n"


@pytest.fixture
def qemu_repo(tmp_path: Path, run: Runner) -> Path:
    """A repository whose build reads no Dockerfile (qemu): its record depends on the spec and paths only."""
    repo = write_tree(tmp_path / "repo", {".github/multiarch.yaml": QEMU_SPEC, "app/Dockerfile": "FROM alpine:3.22\n"})
    assert run("-C", str(repo)).code == 0
    assert fast.up_to_date(["-C", str(repo), "--check"])
    return repo


def test_a_spec_edited_while_the_run_is_in_progress_is_never_taken_for_current(
        qemu_repo: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record holds the spec the run read: an edit between that read and the record (here, while
    the run plans) makes the next run take the full path, which finds the new image's workflow missing."""
    spec = qemu_repo / ".github/multiarch.yaml"
    spec.write_text(QEMU_SPEC.replace("app:", "app:\n    platforms: [amd64]", 1))
    planned = app.plan_workflows

    def edit_while_planning(*args: Any, **kwargs: Any) -> Any:
        result = planned(*args, **kwargs)
        spec.write_text(spec.read_text() + "  tool:\n    strategy: qemu\n    context: app\n")
        return result

    monkeypatch.setattr(app, "plan_workflows", edit_while_planning)
    assert run("-C", str(qemu_repo)).code == 0
    monkeypatch.setattr(app, "plan_workflows", planned)

    assert not fast.up_to_date(["-C", str(qemu_repo), "--check"])
    stale = run("-C", str(qemu_repo), "--check")
    assert stale.code == 1
    assert ".github/workflows/multiarch-tool.yml: would create" in stale.err


def test_a_dockerfile_edited_while_the_run_is_in_progress_is_never_taken_for_current(
        sample_copy: Callable[[str], Path], run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = sample_copy("remote-desktop")
    dockerfile = repo / "apps/Dockerfile"
    planned = app.plan_workflows

    def edit_while_planning(*args: Any, **kwargs: Any) -> Any:
        result = planned(*args, **kwargs)  # the analysis is done: the strategy stands
        dockerfile.write_text(dockerfile.read_text() + "RUN make\n")  # auto would now pick another one
        return result

    monkeypatch.setattr(app, "plan_workflows", edit_while_planning)
    assert run("-C", str(repo)).code == 0
    monkeypatch.setattr(app, "plan_workflows", planned)

    assert not fast.up_to_date(["-C", str(repo), "--check"])
    assert run("-C", str(repo), "--check").code == 1


def test_a_workflow_edited_after_the_write_is_never_taken_for_current(
        qemu_repo: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record holds the text the run wrote, not what the file holds when the record is made."""
    workflow = qemu_repo / ".github/workflows/multiarch-app.yml"
    (qemu_repo / ".github/multiarch.yaml").write_text(QEMU_SPEC + "    platforms: [amd64]\n")
    recorded = fast.record

    def edit_then_record(*args: Any) -> None:
        text = workflow.read_text()
        assert "    permissions:\n" in text, "the edit below changes the file"
        workflow.write_text(text.replace("    permissions:\n", "    permissions: # edited\n", 1))
        recorded(*args)

    monkeypatch.setattr(fast, "record", edit_then_record)
    assert run("-C", str(qemu_repo)).code == 0
    monkeypatch.setattr(fast, "record", recorded)

    assert not fast.up_to_date(["-C", str(qemu_repo), "--check"])
    assert run("-C", str(qemu_repo), "--check").code == 1


def test_a_file_read_twice_with_other_bytes_leaves_no_record(tmp_path: Path) -> None:
    spec = write_tree(tmp_path, {"spec.yaml": "a\n"}) / "spec.yaml"
    log = source.start_log(tmp_path)
    try:
        source.read_regular(spec, "spec.yaml", 100)
        assert log.inputs["spec.yaml"][0] == 2
        assert not log.spoiled
        spec.write_text("b\n")
        source.read_regular(spec, "spec.yaml", 100)
        assert log.spoiled
    finally:
        source.take_log()


def test_a_context_replaced_by_a_file_takes_the_full_path(qemu_repo: Path, run: Runner) -> None:
    shutil.rmtree(qemu_repo / "app")
    (qemu_repo / "app").write_text("not a directory\n")
    assert not fast.up_to_date(["-C", str(qemu_repo)])
    result = run("-C", str(qemu_repo))
    assert result.code == 2
    assert 'build context "app" not found' in result.err


def test_per_platform_dockerfiles_are_inputs(sample_copy: Callable[[str], Path], run: Runner) -> None:
    repo = sample_copy("per-arch-dockerfiles")
    assert run("-C", str(repo)).code == 0
    assert fast.up_to_date(["-C", str(repo)])
    # Their text is not used (per-platform files are not analysed): an edit changes nothing, both agree.
    arm = repo / "Dockerfile.arm64"
    arm.write_text(arm.read_text() + "RUN true\n")
    assert fast.up_to_date(["-C", str(repo)])
    assert run("-C", str(repo), "--check").code == 0
    # Their existence is: without one, the fast path steps aside and the full path refuses the spec.
    arm.rename(repo / "elsewhere")
    assert not fast.up_to_date(["-C", str(repo)])
    result = run("-C", str(repo))
    assert result.code == 2
    assert 'Dockerfile "Dockerfile.arm64" not found' in result.err


def test_a_symlink_leaving_the_repository_is_never_current(qemu_repo: Path, tmp_path: Path, run: Runner) -> None:
    """Same bytes through a symlink that leaves the repository: the full path refuses the spec, so the
    fast path must not say it is current."""
    outside = tmp_path / "outside.yaml"
    spec = qemu_repo / ".github/multiarch.yaml"
    shutil.copyfile(spec, outside)
    spec.unlink()
    spec.symlink_to(outside)
    assert not fast.up_to_date(["-C", str(qemu_repo)])
    result = run("-C", str(qemu_repo))
    assert result.code == 2
    assert "outside the repository" in result.err


# ------------------------------------------------------------- a fixed point; both paths give one answer


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_each_sample_is_a_fixed_point_and_both_paths_agree(
        name: str, sample_copy: Callable[[str], Path], run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = sample_copy(name)
    assert run("-C", str(repo)).code == 0
    written = snapshot(repo)
    stamps = {p: p.stat().st_mtime_ns for p in (repo / ".github/workflows").iterdir()}

    again = run("-C", str(repo))
    assert again.code == 0, again.err
    assert again.out == "workflows are up to date\n"
    assert snapshot(repo) == written
    assert {p: p.stat().st_mtime_ns for p in (repo / ".github/workflows").iterdir()} == stamps, "nothing rewritten"

    assert fast.up_to_date(["-C", str(repo)]), "the full path recorded every input it used"
    assert fast.up_to_date(["-C", str(repo), "--check"])
    monkeypatch.setenv("GEN_WORKFLOWS_NO_CACHE", "1")
    assert run("-C", str(repo), "--check").code == 0


@pytest.mark.parametrize("case", INVALID_CASES)
def test_an_invalid_spec_never_takes_the_fast_path(case: str, tmp_path: Path, run: Runner) -> None:
    """Even right after a valid spec in the same place was recorded as current."""
    repo = tmp_path / case
    shutil.copytree(INVALID / case, repo, ignore=shutil.ignore_patterns("expected.txt"))
    spec = repo / ".github/multiarch.yaml"
    invalid = spec.read_bytes()
    write_tree(repo, {"probe.Dockerfile": "FROM alpine:3.22\n", ".github/multiarch.yaml":
                      "version: 1\nimages:\n  probe:\n    strategy: qemu\n    dockerfile: probe.Dockerfile\n"})
    assert run("-C", str(repo)).code == 0
    assert fast.up_to_date(["-C", str(repo)])

    spec.write_bytes(invalid)
    for args in ([], ["--check"]):
        assert not fast.up_to_date(["-C", str(repo), *args])
        result = run("-C", str(repo), *args)
        assert result.code == 2, result.err
        assert result.err == (INVALID / case / "expected.txt").read_text("utf-8")
