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
from .shape import ENGINE, generated

FLOATING = "${{ steps.floating.outputs.tags }}"


def _workflows() -> list[Path]:
    return sorted(p for name in SAMPLE_NAMES for p in (SAMPLES / name / ".github/workflows").glob("*.yml"))


def _tagging_jobs(workflow: dict[str, Any]) -> list[str]:
    """The jobs whose metadata step holds the tag rules."""
    return [job_id for job_id, job in workflow["jobs"].items()
            if any("tags" in s.get("with", {}) and s.get("uses", "").startswith("docker/metadata-action@")
                   for s in job.get("steps", []))]


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_tag_pushes_decide_floating_tags_before_tagging(sample: str) -> None:
    _assert_floating_tags_are_decided(SAMPLES / sample)


def test_a_build_without_release_rules_hands_the_decision_none(tmp_path: Path, run: Runner) -> None:
    """Beside a build with release rules, one without: its call empties the engine's default rules."""
    (tmp_path / ".github").mkdir()
    (tmp_path / "Dockerfile").write_text("FROM alpine\n", encoding="utf-8")
    (tmp_path / ".github/multiarch.yaml").write_text(
        'version: 1\ntriggers:\n  tags: ["v*"]\nimages:\n  a:\n    tags: [branch, version]\n'
        "  b:\n    repository: bb\n    tags: [branch, sha]\n", encoding="utf-8")
    assert run("-C", str(tmp_path)).code == 0
    assert generated(tmp_path).input("b", "semver") == ""
    _assert_floating_tags_are_decided(tmp_path)


def _assert_floating_tags_are_decided(root: Path) -> None:
    """The engine's merge is the one job that tags; on a version tag its floating-tags step decides, from
    every version tag, which rules fire, and each call hands it its release rules apart from the others."""
    spec = load_spec(root)
    semver = {b.key for i in spec.images for b in i.variants if any(r.kind == "semver" for r in b.tags)}
    if not (spec.triggers.tags and semver):
        pytest.skip("no version tags to publish")
    out = generated(root)
    assert {name: _tagging_jobs(w) for name, w in out.workflows.items() if _tagging_jobs(w)} == {ENGINE: ["merge"]}
    ids = out.ids("merge")
    step = out.step("merge", "floating")
    assert step["if"] == "github.ref_type == 'tag' && inputs.semver", "on version tags, for builds with release rules"
    assert "def floating_decision" in step["run"]
    assert step["env"]["SEMVER_RULES"] == "${{ inputs.semver }}", "the call's own release rules"
    assert ids.index("floating") < ids.index("meta") < ids.index("create-tags")
    (checkout,) = out.uses("merge", "actions/checkout")
    assert checkout["with"]["fetch-tags"] is True, "the decision needs every version tag"
    meta = out.step("merge", "meta")["with"]
    assert meta["tags"].rstrip().endswith(FLOATING)
    assert "type=semver" not in meta["tags"], "semver rules fire only through the decision"
    assert meta["flavor"].startswith("latest=${{ inputs.semver && 'false' || 'auto' }}\n"), \
        "with release rules, latest is decided by the step, never by latest=auto"
    keys = {out.with_(call)["key"]: call for call in out.calls}
    assert set(keys) >= semver, "a call per build"
    for key, call in keys.items():
        assert "type=semver" not in out.input(call, "tags"), f"{call}: semver rules only through the decision"
        rules = out.input(call, "semver") or ""
        if key in semver:
            assert "type=semver" in rules, f"{call} hands the decision its release rules"
        else:
            assert not rules.strip(), f"{call} has no release rules: nothing to decide, latest=auto"


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
    """In the engine only `sign` holds id-token; it runs after the merge verified and tagged, which pull
    requests skip. The build's call grants it only because this build signs and attests."""
    out = generated(SAMPLES / "go-cross")
    holders = [job_id for job_id, job in out.jobs.items() if "id-token" in job["permissions"]]
    assert holders == ["sign"]
    sign = out.jobs["sign"]
    assert sign["permissions"] == {"id-token": "write", "attestations": "write", "packages": "write"}
    assert sign["needs"] == "merge"
    assert out.jobs["merge"]["if"].startswith("github.event_name != 'pull_request' && ")
    assert sign["if"] == "inputs.sign || inputs.attest"
    assert not re.search(r"always\(|cancelled\(|failure\(", sign["if"]), "skipped whenever the merge is"
    assert out.ids("sign")[0] == "login-ghcr", "logs in to push signatures"
    assert 'cosign sign --yes "${image,,}@$DIGEST"' in out.step("sign", "sign")["run"]
    assert out.step("sign", "sign")["env"]["DIGEST"] == "${{ needs.merge.outputs.digest }}", "the verified digest"
    attest = out.step("sign", "attest-ghcr")["with"]
    assert attest == {"subject-name": "${{ steps.names.outputs.image0 }}",
                      "subject-digest": "${{ needs.merge.outputs.digest }}", "push-to-registry": True}
    build = out.step("legs", "build")
    assert build["with"]["sbom"] == "${{ inputs.sbom }}"
    assert build["with"]["provenance"] == "mode=min"
    (call_id,) = out.calls
    call = out.calls[call_id]
    assert call["permissions"]["id-token"] == "write", "a called job gets no more than its call grants"
    assert (call["with"]["sbom"], call["with"]["sign"], call["with"]["attest"]) == (True, True, True)
    unsigned = generated(SAMPLES / "minimal")
    assert not [c for c, job in unsigned.calls.items() if "id-token" in job["permissions"]], "only to sign"


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
