"""The CLI contract: commands, exit codes, errors on stderr, internal errors as exit 3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator import app as app_module

from .conftest import SAMPLES, Runner, snapshot, write_tree


def test_version(run: Runner) -> None:
    result = run("--version")
    assert result.code == 0
    assert result.out.startswith("gen-workflows, version ")


def test_schema_prints_the_json_schema(run: Runner) -> None:
    result = run("schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "images" in schema["properties"]


def test_validate_accepts_a_good_spec(run: Runner) -> None:
    result = run("validate", "-C", str(SAMPLES / "minimal"))
    assert result.code == 0
    assert result.out == ".github/multiarch.yaml: valid (1 image(s))\n"


def test_generate_subcommand_equals_bare_invocation(run: Runner) -> None:
    assert run("generate", "-C", str(SAMPLES / "webapp"), "--check").code == 0


def test_missing_spec_is_a_user_error(tmp_path: Path, run: Runner) -> None:
    result = run("-C", str(tmp_path))
    assert result.code == 2
    assert result.err.startswith(".github/multiarch.yaml: no spec found in this repository")
    assert "gen-workflows init" in result.err


def test_explicit_spec_path_is_named_in_the_header(tmp_path: Path, run: Runner) -> None:
    repo = write_tree(tmp_path, {"ci/images.yaml": "version: 1\nimages:\n  app: {}\n", "Dockerfile": "FROM alpine\n"})
    assert run("-C", str(repo), "--spec", "ci/images.yaml").code == 0
    text = (repo / ".github/workflows/multiarch-app.yml").read_text()
    assert "from ci/images.yaml. DO NOT EDIT." in text
    assert "regenerate with: gen-workflows --spec ci/images.yaml" in text


def test_unknown_option_is_a_usage_error(run: Runner) -> None:
    result = run("--no-such-option")
    assert result.code == 2
    assert "No such option" in result.err


def test_missing_directory_is_a_usage_error(tmp_path: Path, run: Runner) -> None:
    result = run("-C", str(tmp_path / "nope"))
    assert result.code == 2
    assert "nope" in result.err


def test_internal_error_is_exit_3_with_one_line_and_no_traceback(
        run: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def boom(spec: object, decisions: object) -> None:
        raise ValueError("planner exploded")

    monkeypatch.setattr(app_module, "plan_workflows", boom)
    repo = tmp_path / "repo"
    write_tree(repo, {".github/multiarch.yaml": "version: 1\nimages:\n  app: {}\n", "Dockerfile": "FROM alpine\n"})
    before = snapshot(repo)

    quiet = run("-C", str(repo))
    assert quiet.code == 3
    assert "internal error: ValueError: planner exploded" in quiet.err
    assert "Traceback" not in quiet.err
    assert "--traceback" in quiet.err

    loud = run("-C", str(repo), "--traceback")
    assert loud.code == 3
    assert "Traceback" in loud.err
    assert snapshot(repo) == before


def test_console_script_runs_as_a_process() -> None:
    proc = subprocess.run([sys.executable, "-m", "generator", "-C", str(SAMPLES / "minimal"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_fail_on_change_exits_1_only_when_something_was_written(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    repo = sample_copy("minimal")
    assert run("-C", str(repo), "--fail-on-change").code == 0, "nothing to write"
    (repo / ".github/workflows/multiarch-hello.yml").unlink()
    result = run("-C", str(repo), "--fail-on-change")
    assert result.code == 1
    assert "created .github/workflows/multiarch-hello.yml" in result.out
    assert run("-C", str(repo), "--fail-on-change").code == 0
