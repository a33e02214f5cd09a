"""Files from a pull request: the spec, `--spec`, and whatever sits in `.github/workflows/`.

Each test plants the hostile or broken thing (a FIFO, a symlink to /dev/zero, a directory named like a
workflow, an odd `--spec`, another spec's file, a killed run's temporary file, a full disk, a Latin-1
locale, terminal escapes) and shows the wanted behaviour: a located exit-2 message or the thing left
alone, never a hang, a crash (exit 3) or memory exhausted. Runs that could hang go through a process
with a timeout and a memory limit, so a regression fails the test instead of stalling the suite.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from generator import app, fast, output
from generator.contract import WORKFLOW_MAX_BYTES, spec_option

from .conftest import Runner, snapshot, write_tree

SPEC = ".github/multiarch.yaml"
WORKFLOWS = ".github/workflows"
APP = f"{WORKFLOWS}/multiarch-app.yml"
ENGINE = f"{WORKFLOWS}/multiarch.yml"  # the default spec's builds call it
SECOND_ENGINE = f"{WORKFLOWS}/multiarch.second.yml"  # ci/second.yaml's builds call this one
# qemu reads no Dockerfile, so these repositories do not depend on the Dockerfile analysis.
QEMU_SPEC = "version: 1\nimages:\n  app:\n    strategy: qemu\n"
MEMORY_LIMIT = 1 << 30  # far above what a run needs; an unbounded read of /dev/zero reaches it quickly


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def gen(repo: Path, *args: str, env: dict[str, str] | None = None, base_env: dict[str, str] | None = None,
        limit_memory: bool = True) -> subprocess.CompletedProcess[str]:
    """The console entry point (fast path first) as a process: a hang ends in TimeoutExpired, an
    unbounded read in MemoryError, instead of stalling the suite or the machine. (The Dockerfile
    parser's Go runtime reserves more address space than the limit: no limit where it runs.)"""
    limit = _limit_memory if limit_memory and sys.platform != "win32" else None
    return subprocess.run([sys.executable, "-m", "generator", "-C", str(repo), *args], capture_output=True,
                          text=True, encoding="utf-8", errors="backslashreplace", timeout=60,
                          env={**(os.environ if base_env is None else base_env), **(env or {})},
                          preexec_fn=limit, check=False)


def assert_clean_refusal(result: subprocess.CompletedProcess[str] | tuple[int, str], *expected: str) -> None:
    code, err = (result.returncode, result.stderr) if isinstance(result, subprocess.CompletedProcess) else result
    assert code == 2, err
    assert "Traceback" not in err
    assert "internal error" not in err
    for text in expected:
        assert text in err, err


@pytest.fixture
def repo(tmp_path: Path, run: Runner) -> Path:
    """A repository whose workflows are current, and recorded so (the fast path answers for it)."""
    root = write_tree(tmp_path / "repo", {SPEC: QEMU_SPEC, "Dockerfile": "FROM alpine:3.22\n"})
    assert run("-C", str(root)).code == 0
    assert fast.up_to_date(["-C", str(root)])
    return root


# ------------------------------------------------------------------ finding 3: files that are not regular

PLANTS: dict[str, Callable[[Path], None]] = {
    "fifo": lambda path: os.mkfifo(path),
    "symlink to /dev/zero": lambda path: path.symlink_to("/dev/zero"),
    "directory": lambda path: path.mkdir(),
}
REFUSALS = {
    "fifo": f"{APP}: is a named pipe (FIFO), where gen-workflows writes a file",
    "symlink to /dev/zero": f"{APP}: is a symlink; refusing to write through it",
    "directory": f"{APP}: is a directory, where gen-workflows writes a file",
}
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@needs_fifo
@pytest.mark.parametrize("check", [False, True], ids=["generate", "check"])
@pytest.mark.parametrize("kind", list(PLANTS))
def test_a_non_regular_file_with_another_name_is_left_alone(repo: Path, kind: str, check: bool) -> None:
    """It cannot be ours (ours are regular files): both paths pass it by without opening or reading it."""
    planted = repo / WORKFLOWS / "x.yml"
    PLANTS[kind](planted)
    args = ["--check"] if check else []
    fast_run = gen(repo, *args)
    assert fast_run.returncode == 0, fast_run.stderr
    full_run = gen(repo, *args, env={"GEN_WORKFLOWS_NO_CACHE": "1"})
    assert full_run.returncode == 0, full_run.stderr
    assert os.path.lexists(planted)


@needs_fifo
@pytest.mark.parametrize("check", [False, True], ids=["generate", "check"])
@pytest.mark.parametrize("kind", list(PLANTS))
def test_a_non_regular_file_named_like_ours_is_refused_by_name(repo: Path, kind: str, check: bool) -> None:
    (repo / APP).unlink()
    PLANTS[kind](repo / APP)
    assert not fast.up_to_date(["-C", str(repo), *(["--check"] if check else [])])
    assert_clean_refusal(gen(repo, *(["--check"] if check else [])), REFUSALS[kind])
    assert os.path.lexists(repo / APP)


@needs_fifo
def test_a_spec_that_is_a_fifo_is_refused_without_hanging(repo: Path) -> None:
    (repo / SPEC).unlink()
    os.mkfifo(repo / SPEC)
    assert_clean_refusal(gen(repo), f"{SPEC}: the spec is a named pipe (FIFO)")
    assert_clean_refusal(gen(repo, "validate"), f"{SPEC}: the spec is a named pipe (FIFO)")


def test_a_directory_where_the_spec_belongs_is_named_not_passed_over(repo: Path, run: Runner) -> None:
    """.github/multiarch.yaml as a directory and a .yml beside it: never silently passed over for the
    other name (both names at once are refused, the fast path included); alone, it is reported."""
    shutil.copyfile(repo / SPEC, repo / ".github/multiarch.yml")
    (repo / SPEC).unlink()
    (repo / SPEC).mkdir()
    assert not fast.up_to_date(["-C", str(repo)])
    result = run("-C", str(repo))
    both = f".github/multiarch.yml: both {SPEC} and .github/multiarch.yml exist"
    assert_clean_refusal((result.code, result.err), both)
    (repo / ".github/multiarch.yml").unlink()
    assert not fast.up_to_date(["-C", str(repo)])
    result = run("-C", str(repo))
    assert_clean_refusal((result.code, result.err), f"{SPEC}: the spec is a directory")


# --------------------------------------------------------------------------- finding 6: odd --spec paths

ODD_SPEC_PATHS = {
    "line break": "ci/multi\narch.yaml",
    "carriage return": "ci/multi\rarch.yaml",
    "space": "ci/multi arch.yaml",
    "command substitution": "ci/$(touch PWNED).yaml",
    "backticks": "ci/`touch PWNED`.yaml",
    "semicolon": "ci/a;touch PWNED.yaml",
    "single quote": "ci/it's.yaml",
    "double quote": 'ci/"q".yaml',
    "glob": "ci/*.yaml",
    "option": "-rf.yaml",
    "option in a part": "ci/--force.yaml",
    "dot-dot inside": "ci/../spec.yaml",
    "non-ASCII": "ci/spéc.yaml",
    "line separator": "ci/multi\u2028arch.yaml",
}


@pytest.mark.parametrize("name", list(ODD_SPEC_PATHS))
def test_an_odd_spec_path_is_refused_before_anything_is_read_or_written(name: str, tmp_path: Path,
                                                                        run: Runner) -> None:
    odd = ODD_SPEC_PATHS[name]
    root = write_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.22\n"})
    with contextlib.suppress(OSError):  # a name this file system cannot hold is refused all the same
        write_tree(root, {odd: QEMU_SPEC})  # it exists: the name alone is refused
    before = snapshot(root)
    result = run("-C", str(root), "--spec", odd)
    assert_clean_refusal((result.code, result.err), ": --spec ", "hint: name the spec by a plain path")
    assert len(result.err.splitlines()) == 2, "the path is shown escaped, on one line"
    assert snapshot(root) == before
    assert not (root / "PWNED").exists()


@pytest.mark.parametrize("where", ["absolute outside", "absolute inside", "parent", "symlink out"])
def test_a_spec_outside_the_repository_is_refused(where: str, tmp_path: Path, run: Runner) -> None:
    root = write_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.22\n", "ci/spec.yaml": QEMU_SPEC})
    outside = write_tree(tmp_path, {"outside.yaml": QEMU_SPEC}) / "outside.yaml"
    (root / "ci/link.yaml").symlink_to(outside)
    spec = {"absolute outside": str(outside), "absolute inside": str(root / "ci/spec.yaml"),
            "parent": "../outside.yaml", "symlink out": "ci/link.yaml"}[where]
    before = snapshot(root)
    result = run("-C", str(root), "--spec", spec)
    message = "the spec is outside the repository" if where == "symlink out" else ": --spec "
    assert_clean_refusal((result.code, result.err), message)
    assert snapshot(root) == before


def test_the_default_spec_symlinked_out_of_the_repository_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    shutil.move(repo / SPEC, outside)
    (repo / SPEC).symlink_to(outside)
    assert_clean_refusal(gen(repo), f"{SPEC}: the spec is outside the repository")


def test_a_plain_spec_path_is_written_as_is_into_header_and_drift_guard(tmp_path: Path, run: Runner) -> None:
    root = write_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.22\n",
                                          "ci/multi-arch_v2.yaml": QEMU_SPEC + "check-workflow: true\n"})
    assert run("-C", str(root), "--spec", "./ci//multi-arch_v2.yaml").code == 0  # read as pathlib reads it
    app = (root / APP).read_text("utf-8").splitlines()
    assert app[0].endswith(" from ci/multi-arch_v2.yaml. DO NOT EDIT.")
    assert app[1].endswith("regenerate with: gen-workflows --spec ci/multi-arch_v2.yaml")
    guard = (root / WORKFLOWS / "multiarch.multi-arch-v2.check.yml").read_text("utf-8")
    assert "gen-workflows --check --spec ci/multi-arch_v2.yaml\n" in guard
    assert "- ci/multi-arch_v2.yaml\n" in guard


@pytest.mark.parametrize("spec", ["a\nname: injected", "a\rb", "a\u2028b", "a\x85b", "x'; rm -rf ~ #"])
def test_the_header_reads_back_or_is_never_written(spec: str) -> None:
    """The last line of defence behind find_spec: a header that is not comments naming the spec."""
    with pytest.raises(ValueError, match=r"spec path|header"):
        output.header(spec, "1.0")
    with pytest.raises(ValueError, match="unsafe spec path"):
        spec_option(spec)


# ------------------------------------------------------------------- finding 10: the file system says no


def _refuse_open(monkeypatch: pytest.MonkeyPatch, suffix: str) -> None:
    """os.open fails as for a file without read permission (which root, running these tests, ignores)."""
    real_open = os.open

    def guarded(path: str | os.PathLike[str], flags: int, *args: int, **kwargs: int) -> int:
        if os.fspath(path).endswith(suffix):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


def test_an_unreadable_file_in_the_workflows_directory_is_named(repo: Path, run: Runner,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """gen-workflows must read each workflow's first line to tell its own files from others'."""
    write_tree(repo, {f"{WORKFLOWS}/ci.yml": "name: CI\n"})
    _refuse_open(monkeypatch, "ci.yml")
    for args in ([], ["--check"]):
        result = run("-C", str(repo), *args)
        assert_clean_refusal((result.code, result.err), f"{WORKFLOWS}/ci.yml: cannot read the workflow: Permission")


def test_an_unreadable_spec_is_named(repo: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    _refuse_open(monkeypatch, "multiarch.yaml")
    for command in ([], ["validate"], ["plan"]):
        result = run(*command, "-C", str(repo))
        assert_clean_refusal((result.code, result.err), f"{SPEC}: cannot read the spec: Permission denied")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions")
def test_unreadable_files_for_real(repo: Path) -> None:
    write_tree(repo, {f"{WORKFLOWS}/ci.yml": "name: CI\n"})
    (repo / WORKFLOWS / "ci.yml").chmod(0)
    assert_clean_refusal(gen(repo), f"{WORKFLOWS}/ci.yml: cannot read the workflow")
    (repo / WORKFLOWS / "ci.yml").chmod(0o644)
    (repo / SPEC).chmod(0)
    assert_clean_refusal(gen(repo), f"{SPEC}: cannot read the spec")


WRITE_FAILURES = {
    errno.ENOSPC: "the disk is full",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "check the permissions",
    errno.EFBIG: "larger than this file system allows",
    errno.EIO: "",
}


@pytest.mark.parametrize("code", list(WRITE_FAILURES), ids=[errno.errorcode[c] for c in WRITE_FAILURES])
def test_a_failed_write_is_named_and_leaves_the_old_file(code: int, repo: Path, run: Runner,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    old = (repo / APP).read_bytes()
    (repo / SPEC).write_text(QEMU_SPEC + "    platforms: [amd64]\n")

    def failing_fsync(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    result = run("-C", str(repo))
    assert_clean_refusal((result.code, result.err), f"{APP}: cannot write it: {os.strerror(code)}",
                         WRITE_FAILURES[code])
    assert (repo / APP).read_bytes() == old
    assert sorted(p.name for p in (repo / WORKFLOWS).iterdir()) == ["multiarch-app.yml", "multiarch.yml"], \
        "no temporary file left"


def test_a_directory_that_cannot_be_written_is_named(repo: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / SPEC).write_text(QEMU_SPEC + "    platforms: [amd64]\n")

    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(output, "_temporary", read_only)
    result = run("-C", str(repo))
    assert_clean_refusal((result.code, result.err), f"{WORKFLOWS}: cannot write here: Read-only file system",
                         "hint: the file system is read-only")


def test_an_orphan_that_cannot_be_removed_is_named(repo: Path, run: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / SPEC).write_text("version: 1\nimages:\n  other:\n    strategy: qemu\n")

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    result = run("-C", str(repo))
    assert_clean_refusal((result.code, result.err), f"{APP}: cannot remove it: Operation not permitted")


def test_a_workflow_over_the_bound_is_refused_not_read(repo: Path) -> None:
    """One of ours (by its header) of more than WORKFLOW_MAX_BYTES: sparse, so the test costs nothing,
    and run under a memory limit the read would not fit into twice."""
    huge = repo / WORKFLOWS / "multiarch-gone.yml"
    with huge.open("wb") as handle:
        handle.write((repo / APP).read_bytes().split(b"\n", 1)[0] + b"\n")
        handle.truncate(WORKFLOW_MAX_BYTES + 1)
    assert_clean_refusal(gen(repo), f"{WORKFLOWS}/multiarch-gone.yml:1:1: the workflow is "
                         f"{WORKFLOW_MAX_BYTES + 1} bytes; the limit is {WORKFLOW_MAX_BYTES}")


def test_a_huge_foreign_workflow_costs_its_first_line_only(repo: Path) -> None:
    huge = repo / WORKFLOWS / "ci.yml"
    with huge.open("wb") as handle:
        handle.write(b"name: CI\n")
        handle.truncate(4 * MEMORY_LIMIT)  # sparse: four times what the process may map
    assert gen(repo, env={"GEN_WORKFLOWS_NO_CACHE": "1"}).returncode == 0
    assert gen(repo).returncode == 0


def test_a_spec_far_over_the_limit_is_refused_without_reading_it(repo: Path) -> None:
    with (repo / SPEC).open("r+b") as handle:
        handle.truncate(4 * MEMORY_LIMIT)
    assert_clean_refusal(gen(repo), f"{SPEC}:1:1: the spec is {4 * MEMORY_LIMIT} bytes; the limit is")


def test_an_unforeseen_file_system_error_is_exit_2_naming_the_file(repo: Path, run: Runner,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO), "/mnt/flaky/templates/workflow.yml.j2")

    monkeypatch.setattr(app, "render_files", broken)
    result = run("-C", str(repo), "--check")
    assert_clean_refusal((result.code, result.err), "/mnt/flaky/templates/workflow.yml.j2: Input/output error")


# ------------------------------------------------------------------ finding 11: another spec's workflows


def test_another_specs_workflow_is_foreign(tmp_path: Path, run: Runner) -> None:
    root = write_tree(tmp_path / "repo", {
        "Dockerfile": "FROM alpine:3.22\n", SPEC: QEMU_SPEC,
        "ci/second.yaml": "version: 1\nimages:\n  app:\n    strategy: qemu\n    platforms: [amd64]\n"
                          "  tool:\n    strategy: qemu\n"})
    assert run("-C", str(root)).code == 0
    first = snapshot(root)

    for args in ([], ["--check"]):
        taken = run("-C", str(root), "--spec", "ci/second.yaml", *args)
        assert_clean_refusal((taken.code, taken.err),
                             f"{APP}: was generated from .github/multiarch.yaml, not from ci/second.yaml; "
                             "not overwriting it", "--force")
        assert f"{ENGINE}:" not in taken.err, "the second spec has an engine of its own"
        assert snapshot(root) == first, "nothing written, not even the second spec's other workflow or engine"

    (root / "ci/second.yaml").write_text("version: 1\nimages:\n  app:\n    strategy: qemu\n")
    assert run("-C", str(root), "--spec", "ci/second.yaml", "--force").code == 0
    for name in (APP, SECOND_ENGINE):
        assert " from ci/second.yaml. DO NOT EDIT." in (root / name).read_text("utf-8").splitlines()[0], name
    assert f"uses: ./{SECOND_ENGINE} " in (root / APP).read_text("utf-8"), "the taken call calls its own engine"
    assert (root / ENGINE).read_bytes() == first[ENGINE], "--force takes the named file, not the first's engine"


def test_a_second_spec_writes_only_its_own_files(tmp_path: Path, run: Runner) -> None:
    """Its own files only: the first spec's workflows are neither replaced nor removed as orphans, and both
    specs stay current."""
    root = write_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.22\n", SPEC: QEMU_SPEC,
                                          "ci/second.yaml": "version: 1\nimages:\n  tool:\n    strategy: qemu\n"})
    assert run("-C", str(root)).code == 0
    first = {path: data for path, data in snapshot(root).items() if path.startswith(WORKFLOWS)}
    assert set(first) == {APP, ENGINE}
    second = run("-C", str(root), "--spec", "ci/second.yaml")
    assert second.code == 0, second.err
    after = snapshot(root)
    assert {path: after.get(path) for path in first} == first
    assert sorted(path for path in set(after) - set(first) if path.startswith(WORKFLOWS)) == [
        f"{WORKFLOWS}/multiarch-tool.yml", SECOND_ENGINE]
    assert f"uses: ./{SECOND_ENGINE} " in after[f"{WORKFLOWS}/multiarch-tool.yml"].decode(), "its own engine"
    assert run("-C", str(root), "--check").code == 0
    assert run("-C", str(root), "--spec", "ci/second.yaml", "--check").code == 0


def test_two_specs_each_have_their_drift_guard(tmp_path: Path, run: Runner) -> None:
    """Both specs turn check-workflow on: each gets its own guard running its own --check (they used to
    claim one file, so the second spec was refused)."""
    root = write_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.22\n",
                                          SPEC: QEMU_SPEC + "check-workflow: true\n",
                                          "ci/second.yaml": "version: 1\ncheck-workflow: true\n"
                                                            "images:\n  tool:\n    strategy: qemu\n"})
    assert run("-C", str(root)).code == 0
    second = run("-C", str(root), "--spec", "ci/second.yaml")
    assert second.code == 0, second.err
    first_guard = (root / WORKFLOWS / "multiarch-check.yml").read_text("utf-8")
    second_guard = (root / WORKFLOWS / "multiarch.second.check.yml").read_text("utf-8")
    assert "gen-workflows --check\n" in first_guard
    assert "--spec" not in first_guard
    assert "gen-workflows --check --spec ci/second.yaml\n" in second_guard
    # Both run on a pull request that touches .github/workflows/. Their concurrency group is the workflow's
    # name with cancel-in-progress, and a branch protection rule names a check by its job: one name for both
    # and one guard cancels the other (a stale second spec reads "cancelled"), and no rule can require each.
    guards = [yaml.safe_load(text) for text in (first_guard, second_guard)]
    assert guards[0]["name"] != guards[1]["name"]
    assert guards[0]["jobs"]["check"]["name"] != guards[1]["jobs"]["check"]["name"]
    assert all(g["concurrency"]["group"].startswith("${{ github.workflow }}") for g in guards)
    assert run("-C", str(root), "--check").code == 0
    assert run("-C", str(root), "--spec", "ci/second.yaml", "--check").code == 0


def test_two_specs_of_one_file_name_are_told_to_rename_a_spec(tmp_path: Path, run: Runner) -> None:
    """.github/tools.yaml and ci/tools.yaml both name their engine multiarch.tools.yml: the second is refused,
    and the hint names what to rename, a spec (renaming an image would change nothing)."""
    spec = "version: 1\nimages:\n  {}:\n    strategy: qemu\n"
    root = write_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.22\n", ".github/tools.yaml": spec.format("a"),
                                          "ci/tools.yaml": spec.format("b")})
    assert run("-C", str(root), "--spec", ".github/tools.yaml").code == 0
    second = run("-C", str(root), "--spec", "ci/tools.yaml")
    assert second.code == 2
    assert f"{WORKFLOWS}/multiarch.tools.yml: was generated from .github/tools.yaml" in second.err
    assert "rename one of the specs" in second.err
    assert "rename the image" not in second.err


# -------------------------------------------------------------- finding 13: a killed run's temporary files

STALL_IN_WRITE = """\
import os, sys, time
from generator.cli import main
real_fsync = os.fsync
def stall(fd):
    real_fsync(fd)
    time.sleep(600)  # the temporary file is written, not yet renamed: killed here
os.fsync = stall
sys.exit(main(sys.argv[1:]))
"""
OUR_TEMPS = [".multiarch-app.yml.abcd_123.tmp", ".ci.yml.zz9yy8xx.tmp", ".multiarch-gone.yaml.a1b2c3d4.tmp"]
NOT_OUR_TEMPS = [".multiarch-app.yml.tmp", "notes.tmp", ".multiarch-app.yml.ABCD1234.tmp",
                 ".multiarch-app.yml.abcd1234.tmp.bak", ".Dockerfile.abcd1234.tmp", "multiarch-app.yml.abcd1234.tmp"]


def _temps(root: Path) -> list[str]:
    return sorted(p.name for p in (root / WORKFLOWS).iterdir() if ".tmp" in p.name)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_the_run_after_a_kill_9_mid_write_removes_the_temporary_file(tmp_path: Path, run: Runner) -> None:
    root = write_tree(tmp_path / "repo", {SPEC: QEMU_SPEC, "Dockerfile": "FROM alpine:3.22\n"})
    proc = subprocess.Popen([sys.executable, "-c", STALL_IN_WRITE, "-C", str(root)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not ((root / WORKFLOWS).is_dir() and _temps(root)) and proc.poll() is None:
            assert time.monotonic() < deadline, "the run never reached its write"
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no handler, no cleanup
        proc.wait(30)
    left = _temps(root)
    assert len(left) == 1, left
    assert left[0].startswith(".multiarch-app.yml.")

    check = run("-C", str(root), "--check")
    assert check.code == 1
    assert _temps(root) == left, "--check writes nothing, removes nothing"
    assert run("-C", str(root)).code == 0
    assert _temps(root) == []
    assert run("-C", str(root), "--check").code == 0


def test_only_our_own_temporary_files_are_removed(repo: Path, run: Runner) -> None:
    for name in OUR_TEMPS + NOT_OUR_TEMPS:
        (repo / WORKFLOWS / name).write_text("partial\n")
    (repo / WORKFLOWS / ".dir.yml.abcd1234.tmp").mkdir()  # named like ours, but not a file we write
    assert fast.up_to_date(["-C", str(repo), "--check"]), "not drift: --check has nothing to say about them"
    assert not fast.up_to_date(["-C", str(repo)]), "a plain run has cleaning up to do: the full path does it"
    result = run("-C", str(repo))
    assert result.code == 0
    assert result.out == "workflows are up to date\n"
    assert _temps(repo) == sorted([*NOT_OUR_TEMPS, ".dir.yml.abcd1234.tmp"])
    assert fast.up_to_date(["-C", str(repo)])


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_a_live_runs_temporary_file_is_kept(repo: Path, run: Runner) -> None:
    """A run that cannot have the workflows directory to itself leaves temporary files alone: another
    live run holds it (shared) while it writes, and may be about to rename its file."""
    import fcntl

    (repo / WORKFLOWS / OUR_TEMPS[0]).write_text("being written\n")
    fd = os.open(repo / WORKFLOWS, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        assert run("-C", str(repo)).code == 0
        assert _temps(repo) == [OUR_TEMPS[0]]
    finally:
        os.close(fd)
    assert run("-C", str(repo)).code == 0
    assert _temps(repo) == []


# -------------------------------------------------------------------------- finding 14: any locale


NON_ASCII_SPEC = """\
version: 1
images:
  app:
    context: ünï
    build-args: {TITLE: "Ünïcødé ✓"}
"""


@pytest.fixture(scope="module")
def latin1_locale(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An ISO-8859-1 locale compiled into a private directory (glibc reads LOCPATH), so the test needs
    no locale installed on the machine."""
    localedef = shutil.which("localedef")
    if localedef is None:
        pytest.skip("no localedef to build a Latin-1 locale")
    directory = tmp_path_factory.mktemp("locales")
    subprocess.run([localedef, "-i", "en_US", "-f", "ISO-8859-1", str(directory / "en_US.ISO-8859-1")],
                   capture_output=True, check=False, timeout=120)
    env = {"LOCPATH": str(directory), "LANG": "en_US.ISO-8859-1", "LC_ALL": "en_US.ISO-8859-1"}
    probe = subprocess.run([sys.executable, "-c", "import sys; print(sys.getfilesystemencoding())"],
                           capture_output=True, text=True, env={**_without_locale(), **env}, check=False)
    if probe.stdout.strip().lower().replace("-", "").replace("_", "") not in ("iso88591", "latin1"):
        pytest.skip(f"could not build a Latin-1 locale ({probe.stdout.strip()})")
    return env


def _without_locale() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONIOENCODING", "PYTHONUTF8"))}


LOCALES: dict[str, dict[str, str]] = {
    "C": {"LC_ALL": "C"},
    "C, UTF-8 mode off": {"LC_ALL": "C", "PYTHONUTF8": "0"},
    "Latin-1": {},  # from the fixture
}


@pytest.fixture
def non_ascii_reference(tmp_path: Path, run: Runner) -> dict[str, bytes]:
    root = write_tree(tmp_path / "reference", {SPEC: NON_ASCII_SPEC, "ünï/Dockerfile": "FROM alpine:3.22\n"})
    assert run("-C", str(root)).code == 0
    return snapshot(root)


@pytest.mark.parametrize("locale", list(LOCALES))
def test_any_locale_reads_and_writes_utf_8(locale: str, tmp_path: Path, non_ascii_reference: dict[str, bytes],
                                           request: pytest.FixtureRequest) -> None:
    env = request.getfixturevalue("latin1_locale") if locale == "Latin-1" else LOCALES[locale]
    root = write_tree(tmp_path / "repo", {SPEC: NON_ASCII_SPEC, "ünï/Dockerfile": "FROM alpine:3.22\n"})
    base = _without_locale()
    result = gen(root, env=env, base_env=base, limit_memory=False)
    assert result.returncode == 0, result.stderr
    assert snapshot(root) == non_ascii_reference, "the same bytes as under UTF-8"
    for args in ([], ["--check"]):
        again = gen(root, *args, env=env, base_env=base, limit_memory=False)
        assert again.returncode == 0, again.stderr
    uncached = gen(root, "--check", env={**env, "GEN_WORKFLOWS_NO_CACHE": "1"}, base_env=base, limit_memory=False)
    assert uncached.returncode == 0, uncached.stderr

    # A diff holding what the terminal's encoding cannot show is printed escaped, not a crash.
    (root / SPEC).write_text(NON_ASCII_SPEC.replace("✓", "✓✓"), "utf-8")
    stale = gen(root, "--check", env=env, base_env=base, limit_memory=False)
    assert stale.returncode == 1, stale.stderr
    assert "+        TITLE=" in stale.stdout, "the call's build argument"
    assert stale.stdout.startswith(f"--- a/{APP}\n"), "the engine is unchanged"
    assert f"a/{ENGINE}\n" not in stale.stdout
    if locale == "Latin-1":
        assert "\\u2713\\u2713" in stale.stdout

    (root / SPEC).write_text(NON_ASCII_SPEC.replace("ünï", "ünï-gone"), "utf-8")
    refused = gen(root, env=env, base_env=base, limit_memory=False)
    assert_clean_refusal(refused, f"{SPEC}:4:14: build context ")
    assert "gone" in refused.stderr


# ----------------------------------------------------------------- finding 15: terminal escapes in --check


def test_the_check_diff_shows_control_characters_escaped(repo: Path, run: Runner) -> None:
    workflow = repo / APP
    lines = workflow.read_text("utf-8").split("\n")
    lines[3] += "\x1b]0;owned\x07\x1b[2J\r"
    lines[4] += "\u2028x\x0cy"
    workflow.write_text("\n".join(lines), "utf-8")
    result = run("-C", str(repo), "--check")
    assert result.code == 1
    assert "\x1b" not in result.out + result.err
    assert "\x07" not in result.out
    assert "\\x1b]0;owned\\x07\\x1b[2J\\r\n" in result.out
    assert "\\u2028x\\x0cy\n" in result.out, "one line of the file, one line of the diff"


def test_a_missing_final_newline_shows_in_the_diff(repo: Path, run: Runner) -> None:
    workflow = repo / APP
    workflow.write_bytes(workflow.read_bytes().rstrip(b"\n"))
    result = run("-C", str(repo), "--check")
    assert result.code == 1
    assert "\\ No newline at end of file\n" in result.out


def test_both_default_spec_names_are_refused_on_every_path(sample_copy: Callable[[str], Path], run: Runner) -> None:
    """A pull request that adds .github/multiarch.yaml beside a .yml spec would make the first spec's
    workflows another spec's, never checked again (a tampered pin there passed --check)."""
    repo = sample_copy("minimal")
    (repo / ".github/multiarch.yaml").rename(repo / ".github/multiarch.yml")
    assert run("-C", str(repo), "--force").code == 0  # the .yml spec takes its workflows over
    assert run("-C", str(repo), "--check").code == 0  # and the fast path has a record of it
    write_tree(repo, {".github/multiarch.yaml": "version: 1\nimages:\n  hello2: {}\n"})
    before = snapshot(repo)
    assert not fast.up_to_date(["-C", str(repo), "--check"])
    for args in ([], ["--check"], ["validate"], ["plan"]):
        result = run(*args, "-C", str(repo))
        assert result.code == 2, (args, result.err)
        assert result.err == (".github/multiarch.yml: both .github/multiarch.yaml and .github/multiarch.yml exist\n"
                              "  hint: keep one spec, or name the one to use with --spec\n"), args
    assert snapshot(repo) == before
    assert run("-C", str(repo), "--spec", ".github/multiarch.yml", "--check").code == 0


def test_an_orphans_name_reaches_the_terminal_escaped(sample_copy: Callable[[str], Path], run: Runner) -> None:
    """An orphan's file name comes from the repository: escapes or a line break in it must not reach the
    terminal raw (they could forge a "workflows are up to date" line)."""
    repo = sample_copy("minimal")
    ours = (repo / ".github/workflows/multiarch-hello.yml").read_text("utf-8").split("\n", 1)[0]
    name = "x\x1b]0;pwned\x07\x1b[2J\nworkflows are up to date\n.yml"
    (repo / ".github/workflows" / name).write_text(ours + "\n", encoding="utf-8")
    check = run("-C", str(repo), "--check")
    plain = run("-C", str(repo))
    for text in (check.out, check.err, plain.out, plain.err):
        assert "\x1b" not in text
        assert "\x07" not in text
    assert "\nworkflows are up to date" not in check.err + check.out + plain.out
    assert "removed .github/workflows/x\\x1b]0;pwned\\x07\\x1b[2J\\nworkflows are up to date\\n.yml" in plain.out


def test_a_damaged_byte_is_drift_even_where_a_lossy_decode_would_hide_it(tmp_path: Path, run: Runner) -> None:
    """A workflow holding U+FFFD (from the spec) and the same file with that character swapped for one
    invalid byte decode alike with errors="replace": --check must still see the difference."""
    root = write_tree(tmp_path / "repo", {"Dockerfile": "FROM alpine:3.22\n", SPEC: QEMU_SPEC.replace(
        "strategy: qemu", 'strategy: qemu\n    build-args: {X: "x\\ufffdy"}', 1)})
    assert run("-C", str(root)).code == 0
    assert sorted(p.name for p in (root / WORKFLOWS).glob("*.yml")) == ["multiarch-app.yml", "multiarch.yml"]
    path = root / APP  # the call holds the build argument
    data = path.read_bytes()
    assert "x\ufffdy".encode() in data
    path.write_bytes(data.replace("x\ufffdy".encode(), b"x\xffy"))
    check = run("-C", str(root), "--check")
    assert check.code == 1, check.err
    assert "-        X=x\\udcffy" in check.out, check.out
    assert run("-C", str(root)).code == 0
    assert path.read_bytes() == data
