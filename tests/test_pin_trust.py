"""Pins come from the table, the spec's `actions:` and a bot's real bump; never from text that only looks
like one. Every free-text place that ends up in a workflow (and every other file a pull request can add)
carries the bait below: the old regex over the whole file read it as a pin and put its commit into every
`docker/login-action` step on the next run, with `--check` content. Each test proves the bait is there,
in the form that used to be read, so it fails again if the pin reading ever goes back to text.

The spec's text lands in a build workflow's call of the engine (`with:` and its legs' rows); every step,
so every pin and a bot's bump of one, lives in the engine (`multiarch.yml`)."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import fast as fast_path
from generator.actions import load_pins

from .conftest import Runner, write_tree
from .test_robustness import load_yaml, steps_of, strings_in

SPEC = ".github/multiarch.yaml"
WORKFLOW = ".github/workflows/multiarch-hello.yml"  # the call: the spec's text lands here
ENGINE = ".github/workflows/multiarch.yml"  # every step: the pins
ACTION = "docker/login-action"
TABLE = load_pins().pin(ACTION)
EVIL = "deadbeef" * 5  # not a commit of anything: it must never reach a `uses:`
BAIT = f"uses: {ACTION}@{EVIL} # v99.0.0"
# What the old reader matched: the bait anywhere in a file, in any context.
OLD_READER = re.compile(rf"uses:\s+{re.escape(ACTION)}@{EVIL}\s+#\s+v99\.0\.0\b")
# docker/login-action v4.6.0 as docker/github-builder v1.17.0 pins it (a Dependabot bump there).
NEWER = "dbcb813823bdd20940b903addbd779551569679f"


def _spec(image: str = "", extra: str = "") -> str:
    body = f"  hello:\n{image}" if image else "  hello: {}\n"
    return f"version: 1\nimages:\n{body}{extra}"


def _ours(repo: Path) -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in sorted((repo / ".github/workflows").glob("*.yml"))}


def _login_refs(text: str) -> list[str]:
    return [s["uses"] for s in steps_of(load_yaml(text)) if s.get("uses", "").startswith(f"{ACTION}@")]


def _login_lines(text: str) -> list[str]:
    """The `uses:` lines of the login action as written (the engine writes one, the other jobs reuse it)."""
    return re.findall(rf"uses: {re.escape(ACTION)}@.*\n", text)


def _bump(text: str, to: str) -> str:
    """A workflow's login pin replaced, as a bot would: the edit must happen."""
    bumped = text.replace(f"{TABLE.ref} # {TABLE.release}", to)
    assert bumped != text, "the workflow holds the table's login pin"
    return bumped


def _data(text: str) -> list[str]:
    """A workflow's strings, and those of the JSON values it holds (a call's legs rows, its test command)."""
    found = []
    for value in strings_in(load_yaml(text)):
        found.append(value)
        if value.lstrip().startswith(("[", "{")):
            with contextlib.suppress(ValueError):
                found += strings_in(json.loads(value))
    return found


def _assert_table_pin(repo: Path, run: Runner) -> None:
    """Every login step of the engine uses the table's commit; the call logs in nowhere itself; --check
    agrees, without a note."""
    text = (repo / ENGINE).read_text("utf-8")
    refs = _login_refs(text)
    assert refs, "the engine logs in somewhere"
    assert set(refs) == {TABLE.ref}, refs
    assert _login_lines(text) == [f"uses: {TABLE.ref} # {TABLE.release}\n"], _login_lines(text)
    assert list(steps_of(load_yaml((repo / WORKFLOW).read_text("utf-8")))) == [], "the call only calls the engine"
    check = run("-C", str(repo), "--check")
    assert (check.code, check.err) == (0, ""), check.err


def _twice(repo: Path, run: Runner) -> None:
    for _ in range(2):
        result = run("-C", str(repo))
        assert result.code == 0, result.err
        assert "note:" not in result.err, result.err


# carrier -> (the image's spec lines, files the spec needs, where the bait must stand in the parsed workflow)
CARRIERS: dict[str, tuple[str, dict[str, str], str]] = {
    "build-arg value": (f'    build-args: {{X: "{BAIT}"}}\n', {}, f"X={BAIT}\n"),
    "per-platform build-args": (
        f'    strategy: native\n    per-platform:\n      linux/arm64: {{build-args: {{X: "{BAIT}"}}}}\n',
        {}, f"X={BAIT}\n"),
    "smoke test command": (f'    test: {{command: ["{BAIT}"]}}\n', {}, BAIT),
    "smoke expected output": (f'    test: {{command: [--version], expect-output: "{BAIT}"}}\n', {}, BAIT),
    "paths": (f'    paths: ["{BAIT}"]\n', {}, BAIT),
    "context name": (f'    context: "{BAIT}"\n', {f"{BAIT}/Dockerfile": "FROM alpine:3.22\n"}, BAIT),
    "dockerfile name": (f'    dockerfile: "{BAIT}"\n', {BAIT: "FROM alpine:3.22\n"}, BAIT),
}


@pytest.mark.parametrize("carrier", list(CARRIERS))
def test_spec_text_never_becomes_a_pin(carrier: str, sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    image, files, data = CARRIERS[carrier]
    repo = write_tree(sample_copy("minimal"), {SPEC: _spec(image), **files})
    _twice(repo, run)
    text = (repo / WORKFLOW).read_text("utf-8")
    assert OLD_READER.search(text), "the bait must be in the call as the old reader saw it"
    assert any(data in s for s in _data(text)), f"the bait must stay data: {data!r}"
    assert EVIL not in (repo / ENGINE).read_text("utf-8"), "the engine reads the spec's text from the call"
    _assert_table_pin(repo, run)


def test_an_orphan_of_ours_is_not_read_for_pins(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    """A file with our header the plan does not render: a commented bait, and even a real bumped step."""
    repo = sample_copy("minimal")
    header = (repo / WORKFLOW).read_text("utf-8").split("\n", 1)[0]
    real = _bump((repo / ENGINE).read_text("utf-8"), f"{ACTION}@{EVIL} # v99.0.0")
    write_tree(repo, {".github/workflows/multiarch-old.yml": f"{header}\n#        {BAIT}\n",
                      ".github/workflows/multiarch-gone.yml": real})
    check = run("-C", str(repo), "--check")
    assert check.code == 1, check.err
    assert "multiarch-old.yml: would remove" in check.err
    assert not [line for line in check.out.splitlines() if line.startswith("+") and EVIL in line], check.out
    assert "note:" not in check.err
    _twice(repo, run)
    assert sorted(_ours(repo)) == ["multiarch-hello.yml", "multiarch.yml"]
    _assert_table_pin(repo, run)


def test_another_specs_file_is_not_read_for_pins(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    """Another spec's engine, holding a real bumped login step: not ours to read, nor to touch."""
    repo = sample_copy("minimal")
    write_tree(repo, {".github/second.yaml": "version: 1\nimages:\n  other: {}\n"})
    assert run("-C", str(repo), "--spec", ".github/second.yaml").code == 0
    assert (repo / ".github/workflows/multiarch-other.yml").is_file()
    other = repo / ".github/workflows/multiarch.second.yml"  # the second spec's engine: its login steps
    bumped = _bump(other.read_text("utf-8"), f"{ACTION}@{EVIL} # v99.0.0")
    other.write_text(bumped, encoding="utf-8")
    assert set(_login_refs(bumped)) == {f"{ACTION}@{EVIL}"}, "a real step there holds the bait"
    _twice(repo, run)
    assert other.read_text("utf-8") == bumped, "the other spec's file is not ours to touch"
    _assert_table_pin(repo, run)


def test_a_comment_in_a_current_file_is_not_a_pin(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    repo = sample_copy("minimal")
    path = repo / ENGINE
    original = path.read_text("utf-8")
    login = f"        uses: {TABLE.ref} # {TABLE.release}\n"
    assert original.count(login) == 1, "the login step the comment goes under"
    path.write_text(original.replace(login, f"{login}        # {BAIT}\n#{BAIT}\n"), encoding="utf-8")
    assert OLD_READER.search(path.read_text("utf-8"))
    check = run("-C", str(repo), "--check")
    assert check.code == 1, check.err
    assert f"-        # {BAIT}" in check.out
    assert "note:" not in check.err
    _twice(repo, run)
    assert path.read_text("utf-8") == original
    _assert_table_pin(repo, run)


def test_a_bot_bump_survives_and_is_listed(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    repo = sample_copy("minimal")
    path = repo / ENGINE
    before = path.read_text("utf-8")
    line = before.split("\n").index(f"        uses: {TABLE.ref} # {TABLE.release}") + 1
    path.write_text(_bump(before, f"{ACTION}@{NEWER} # v4.6.0"), encoding="utf-8")
    bumped = path.read_text("utf-8")
    note = (f"note: keeping {ACTION} v4.6.0 ({NEWER}) from {ENGINE}:{line}, "
            f"the table has {TABLE.release} ({TABLE.commit})\n")
    check = run("-C", str(repo), "--check")
    assert (check.code, check.err) == (0, note)
    result = run("-C", str(repo))
    assert (result.code, result.err) == (0, note)
    assert path.read_text("utf-8") == bumped
    assert set(_login_refs(bumped)) == {f"{ACTION}@{NEWER}"}, "every job's login, the legs', merge's and sign's"
    assert len(_login_refs(bumped)) > 1
    # The pre-commit fast path answers from its record, before anything is planned: it says the note too.
    fast = subprocess.run([sys.executable, "-m", "generator", "-C", str(repo), "--check"], capture_output=True,
                          text=True, check=False)
    assert (fast.returncode, fast.stderr) == (0, note)
    assert fast_path.recorded_notes(["-C", str(repo), "--check"]) == [note.rstrip("\n")], "answered by the record"


def test_a_spec_override_is_listed(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    repo = sample_copy("minimal")
    older = "a" * 40
    write_tree(repo, {SPEC: _spec(extra=f"actions:\n  {ACTION}: {{release: v4.0.0, commit: {older}}}\n"
                                        f"  aws-actions/amazon-ecr-login: {{release: v9.0.0, commit: {'b' * 40}}}\n")})
    note = f"note: keeping {ACTION} v4.0.0 ({older}) from {SPEC} (actions:), the table has {TABLE.release}"
    result = run("-C", str(repo))
    assert result.code == 0, result.err
    assert result.err.startswith(note), result.err
    assert "amazon-ecr-login" not in result.err, "an override of an action no step uses runs nowhere"
    assert set(_login_refs((repo / ENGINE).read_text("utf-8"))) == {f"{ACTION}@{older}"}
    check = run("-C", str(repo), "--check")
    assert check.code == 0, check.err
    assert check.err.startswith(note), check.err
    assert check.err.count("note:") == 1, check.err


def test_bumps_count_only_in_this_specs_output_files(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    """The same real bumped step, under a file name the plan does not render, is never read; under the
    name the plan renders, it is (the contrast that keeps the orphan test honest)."""
    repo = sample_copy("minimal")
    bumped = _bump((repo / ENGINE).read_text("utf-8"), f"{ACTION}@{NEWER} # v4.6.0")
    shutil.move(repo / ENGINE, repo / ".github/workflows/multiarch-renamed.yml")
    (repo / ".github/workflows/multiarch-renamed.yml").write_text(bumped, encoding="utf-8")
    _twice(repo, run)
    assert not (repo / ".github/workflows/multiarch-renamed.yml").exists(), "an orphan of ours: removed"
    _assert_table_pin(repo, run)
    (repo / ENGINE).write_text(bumped, encoding="utf-8")
    check = run("-C", str(repo), "--check")
    assert check.code == 0, check.err
    assert check.err.startswith(f"note: keeping {ACTION} v4.6.0 ({NEWER}) from {ENGINE}:"), check.err


def test_a_bump_in_the_drift_guard_counts_for_every_file(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    """The drift guard's checkout step is ours too; one pin per action, so every workflow follows it."""
    repo = sample_copy("webapp")
    checkout = load_pins().pin("actions/checkout")
    bumped_ref = f"actions/checkout@{'c' * 40}"  # a stand-in for a bot's commit: only its place matters here
    guard = repo / ".github/workflows/multiarch-check.yml"
    text = guard.read_text("utf-8")
    line = text.split("\n").index(f"        uses: {checkout.ref} # {checkout.release}") + 1
    guard.write_text(text.replace(f"{checkout.ref} # {checkout.release}", f"{bumped_ref} # v99.0.0"), encoding="utf-8")
    result = run("-C", str(repo))
    assert result.code == 0, result.err
    assert f"note: keeping actions/checkout v99.0.0 ({'c' * 40}) from {guard.relative_to(repo)}:{line}," in result.err
    files = _ours(repo)
    assert len(files) > 1
    for name, body in files.items():
        assert checkout.ref not in body, name
    # The engine and the guard check out; the build workflows only call the engine.
    assert sorted(name for name, body in files.items() if f"uses: {bumped_ref} # v99.0.0\n" in body) == [
        "multiarch-check.yml", "multiarch.yml"]
    assert all("actions/checkout" not in body for name, body in files.items()
               if name not in ("multiarch-check.yml", "multiarch.yml")), "a call has no steps"
