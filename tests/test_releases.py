"""Release semantics in the generated workflows: floating tags move only forward, pins are really node24."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.actions import RUNTIMES_ALLOWED, load_pins
from generator.spec import load_spec

from .conftest import REPO, SAMPLE_NAMES, SAMPLES, Runner

FLOATING = "${{ steps.floating.outputs.tags }}"


def _workflows() -> list[Path]:
    return sorted(p for name in SAMPLE_NAMES for p in (SAMPLES / name / ".github/workflows").glob("*.yml"))


def _tagging_jobs(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """The jobs whose metadata step holds the tag rules."""
    return [job for job in workflow["jobs"].values()
            if any("tags" in s.get("with", {}) and s.get("uses", "").startswith("docker/metadata-action@")
                   for s in job["steps"])]


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_tag_pushes_decide_floating_tags_before_tagging(path: Path) -> None:
    workflow = YAML(typ="safe").load(path.read_text())
    spec = load_spec(path.parent.parent.parent)
    semver = any(r.kind == "semver" for i in spec.images for b in i.variants for r in b.tags)
    if not (spec.triggers.tags and semver):
        pytest.skip("no version tags to publish")
    for job in _tagging_jobs(workflow):
        ids = [s["id"] for s in job["steps"]]
        step = next(s for s in job["steps"] if s["id"] == "floating")
        assert step["if"] == "github.ref_type == 'tag'"
        assert "def floating_decision" in step["run"]
        assert ids.index("floating") < ids.index("meta")
        checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
        assert checkout["with"]["fetch-tags"] is True, "the decision needs every version tag"
        meta = next(s for s in job["steps"] if s["id"] == "meta")["with"]
        assert meta["tags"].rstrip().endswith(FLOATING)
        assert "type=semver" not in meta["tags"], "semver rules fire only through the decision"
        entries = job.get("strategy", {}).get("matrix", {}).get("include") or [{}]
        for entry in entries:
            flavor = entry.get("flavor", meta["flavor"])
            assert flavor.startswith("latest=false"), "latest is decided by the step, never by latest=auto"
            assert "type=semver" in entry.get("semver", step["env"]["SEMVER_RULES"])


def test_the_pin_table_is_node24() -> None:
    pins = load_pins()
    assert pins.actions, "the table is not empty"
    for pin in pins.actions.values():
        assert pin.runtime in RUNTIMES_ALLOWED, f"{pin.action} {pin.release} runs on {pin.runtime}"
        assert re.fullmatch(r"[0-9a-f]{40}", pin.commit), pin
        assert re.fullmatch(r"v\d+\.\d+\.\d+", pin.release), pin


def test_the_pin_table_check_fails_on_a_node20_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = tomllib.loads((REPO / "generator/data/actions.toml").read_text())
    table["actions"]["actions/checkout"]["runtime"] = "node20"
    from generator import actions

    def node20_table() -> actions.PinTable:
        rows = {name: actions.Pin(name, r["release"], r["commit"], r["runtime"])
                for name, r in table["actions"].items()}
        return actions.PinTable(rows, table["images"])

    monkeypatch.setattr("tests.test_releases.load_pins", node20_table)
    with pytest.raises(AssertionError, match=r"actions/checkout v7\.0\.1 runs on node20"):
        test_the_pin_table_is_node24()


@pytest.mark.parametrize("path", _workflows(), ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_every_uses_comes_from_the_pin_table(path: Path) -> None:
    pins = load_pins().actions
    for match in re.finditer(r"uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v[\d.]+)", path.read_text()):
        action, commit, release = match.groups()
        assert action in pins, action
        assert (pins[action].commit, pins[action].release) == (commit, release), match.group(0)


def test_only_the_signing_job_holds_id_token() -> None:
    workflow = YAML(typ="safe").load((SAMPLES / "go-cross/.github/workflows/multiarch-server.yml").read_text())
    holders = [job_id for job_id, job in workflow["jobs"].items() if "id-token" in job["permissions"]]
    assert holders == ["sign"]
    sign = workflow["jobs"]["sign"]
    assert sign["permissions"] == {"id-token": "write", "attestations": "write", "packages": "write"}
    assert sign["needs"] == ["build"]
    assert sign["if"].startswith("github.event_name != 'pull_request' && ")
    steps = {s["id"]: s for s in sign["steps"]}
    assert 'cosign sign --yes "${image,,}@$DIGEST"' in steps["sign"]["run"]
    attest = steps["attest-ghcr"]["with"]
    assert attest == {"subject-name": "${{ steps.names.outputs.image0 }}",
                      "subject-digest": "${{ steps.digest.outputs.digest }}", "push-to-registry": True}
    build = next(s for s in workflow["jobs"]["build"]["steps"] if s["id"] == "build")
    assert build["with"]["sbom"] is True
    assert build["with"]["provenance"] == "mode=min"


def test_the_drift_guard_runs_the_same_release_on_pull_requests() -> None:
    workflow = YAML(typ="safe").load((SAMPLES / "webapp/.github/workflows/multiarch-check.yml").read_text())
    assert list(workflow["on"]) == ["pull_request"]
    assert workflow["on"]["pull_request"]["paths"] == [
        ".github/multiarch.yaml", ".github/workflows/**", ".github/gen-workflows-requirements.txt", "web/Dockerfile",
        "worker/Containerfile"]
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    # The release comes from the repository's hashed requirements (tests/test_trust_plan.py runs the install).
    install, check = job["steps"][-2:]
    assert "pip\" install --require-hashes --only-binary :all: -r .github/gen-workflows-requirements.txt\n" in \
        install["run"]
    assert check["run"] == "gen-workflows --check\n"
    assert "multiarch-check.yml" not in str(load_spec(SAMPLES / "minimal")), "opt-in only"


def test_a_missing_drift_guard_lock_is_said_where_the_tool_runs(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    """The guard installs gen-workflows only from the hashed lock the user commits: without it, every
    pull request's check fails, so generate and --check say so (and stop saying it once it is there)."""
    repo = sample_copy("webapp")
    lock = repo / ".github/gen-workflows-requirements.txt"
    assert not lock.exists()
    note = ("note: check-workflow is on, but .github/gen-workflows-requirements.txt is missing: the drift guard "
            "fails until you commit it (README: check-workflow)\n")
    for args in ((), ("--check",)):
        result = run("-C", str(repo), *args)
        assert (result.code, result.err) == (0, note), result.err
    lock.write_text("gen-workflows==0.1.0 --hash=sha256:" + "0" * 64 + "\n", encoding="utf-8")
    assert run("-C", str(repo), "--check").err == ""
