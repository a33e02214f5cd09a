"""The stubs' facts (generator/data/action-io.toml) follow the pin table, the stubs keep to them, and
the samples hold what their workflows need from the repository."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_NAMES, SAMPLES

from . import harness

DATA = Path(__file__).resolve().parents[2] / "generator/data"


def test_every_pinned_action_has_its_inputs_and_outputs_at_the_same_commit() -> None:
    pins = tomllib.loads((DATA / "actions.toml").read_text())["actions"]
    io = tomllib.loads((DATA / "action-io.toml").read_text())["actions"]
    assert sorted(io) == sorted(pins), "action-io.toml needs exactly one row per action in actions.toml"
    stale = {a: (io[a]["commit"], pins[a]["commit"]) for a in pins if io[a]["commit"] != pins[a]["commit"]}
    assert not stale, f"read action.yml at the new commit and update action-io.toml: {stale}"
    for action, row in io.items():
        assert row["release"] == pins[action]["release"], action
        assert row["inputs"] == sorted(set(row["inputs"]), key=row["inputs"].index), f"{action}: duplicate input"
        assert set(row["required"]) <= set(row["inputs"]), f"{action}: a required input it does not declare"
        assert all(isinstance(o, str) and o for o in row["outputs"]), action


def test_stubs_declare_exactly_the_facts(tmp_path: Path) -> None:
    io = harness.action_io()
    stubs = harness.write_stubs(tmp_path, tmp_path / "client")
    assert len(stubs) == len(io)
    for ref, directory in stubs.items():
        action, commit = ref.split("@")
        doc = harness.load_yaml((directory / "action.yml").read_text())
        assert commit == io[action]["commit"]
        assert sorted(doc.get("inputs", {})) == sorted(io[action]["inputs"])
        assert sorted(doc.get("outputs", {})) == sorted(io[action]["outputs"])


def test_an_input_no_action_declares_is_found_before_the_run() -> None:
    """act drops a `with:` key the action does not declare without a word, and an undeclared output
    reads as ""; the harness refuses both before the run."""
    io = harness.action_io()
    commit = io["docker/login-action"]["commit"]
    meta = io["docker/metadata-action"]["commit"]
    docs = {"w.yml": {"jobs": {"build": {"steps": [
        {"uses": f"docker/login-action@{commit}", "with": {"registry": "ghcr.io", "passwd": "x"}},
        {"uses": "docker/login-action@v4"},
        {"uses": "./.github/actions/local"},
        {"id": "meta", "uses": f"docker/metadata-action@{meta}"},
        {"run": "echo ${{ steps.meta.outputs.tags }} ${{ steps.meta.outputs.digest }} ${{ steps.x.outputs.y }}"},
    ]}}}}
    problems = harness.undeclared_inputs(docs)
    assert any("declares no input 'passwd'" in p for p in problems)
    assert any("docker/login-action@v4 is not a pinned action" in p for p in problems)
    assert any("steps.meta.outputs.digest, which docker/metadata-action does not declare" in p for p in problems)
    assert len(problems) == 3


# Strict: the day the sample gains its lock, drop the mark.
MISSING_LOCK = {"webapp": "sample defect: check-workflow is on but .github/gen-workflows-requirements.txt is not "
                          "committed, so its drift guard fails on every pull request"}


@pytest.mark.parametrize("sample", [pytest.param(s, marks=[pytest.mark.xfail(strict=True, reason=MISSING_LOCK[s])]
                                                 if s in MISSING_LOCK else ()) for s in SAMPLE_NAMES])
def test_samples_commit_the_drift_guard_lock(sample: str) -> None:
    """A sample whose drift guard installs gen-workflows from the hashed lock commits that lock (the
    behaviour runs stand one in where it is missing, so the rest of the run is still judged)."""
    root = SAMPLES / sample
    uses_lock = any(harness.LOCK in p.read_text() for p in (root / ".github/workflows").glob("*.y*ml"))
    assert not uses_lock or (root / harness.LOCK).is_file(), f"{sample} has a drift guard but no {harness.LOCK}"
