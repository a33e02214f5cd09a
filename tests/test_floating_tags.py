"""The floating-tag decision the generated release workflows run: latest, MAJOR and MAJOR.MINOR only move forward."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.scripts.floating_tags import floating_decision, parse_version

SCRIPT = Path(__file__).resolve().parent.parent / "generator/scripts/floating_tags.py"
VERSION = "type=semver,pattern={{version}}"
MINOR = "type=semver,pattern={{major}}.{{minor}}"
MAJOR = "type=semver,pattern={{major}}"
LATEST = "type=raw,value=latest"


def decide(pushed: str, tags: list[str], allow: bool = False, rules: str | None = None) -> dict[str, Any]:
    """The decision for a push of the tag `pushed`, with the step's environment as the workflow sets it."""
    env = {"GITHUB_REF_NAME": pushed, "GITHUB_REF_TYPE": "tag", "ALLOW_PRERELEASE_FLOATING": str(allow).lower()}
    return floating_decision(env if rules is None else {**env, "SEMVER_RULES": rules}, tags)


def flags(pushed: str, tags: list[str], allow: bool = False) -> tuple[bool, bool, bool]:
    d = decide(pushed, tags, allow)
    return d["latest"], d["major"], d["minor"]


def reasons(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


# The Neko regression: a 3.0.x maintenance release tagged after 3.1 must not take latest or `3` back.
def test_a_maintenance_release_of_an_older_minor_only_moves_its_own_minor_tag(
        capsys: pytest.CaptureFixture[str]) -> None:
    d = decide("v3.0.5", ["v3.1.0", "v3.0.5"], False)
    assert d == {"latest": False, "major": False, "minor": True, "version": "3.0.5", "tags": [VERSION, MINOR]}
    assert reasons(capsys) == ["latest: no, 3.1.0 is higher", "3: no, 3.1.0 is higher", "3.0: yes"]


def test_the_highest_release_moves_every_floating_tag(capsys: pytest.CaptureFixture[str]) -> None:
    d = decide("v3.1.0", ["v3.1.0", "v3.0.5"], False)
    assert d == {"latest": True, "major": True, "minor": True, "version": "3.1.0",
                 "tags": [VERSION, MINOR, MAJOR, LATEST]}
    assert reasons(capsys) == ["latest: yes", "3: yes", "3.1: yes"]


def test_the_highest_of_an_older_major_moves_its_major_tag_but_not_latest() -> None:
    assert flags("v2.4.1", ["v3.0.0", "v2.4.0", "v2.3.9", "v2.4.1"]) == (False, True, True)


@pytest.mark.parametrize("order", list(itertools.permutations(["v1.0.0", "v2.1.0", "v2.0.3", "v2.1.1"])))
def test_the_order_of_the_tag_list_does_not_matter(order: tuple[str, ...]) -> None:
    assert flags("v2.0.3", list(order)) == (False, False, True)
    assert flags("v2.1.1", list(order)) == (True, True, True)


def test_tags_that_are_not_versions_are_ignored() -> None:
    noise = ["latest", "nightly", "v4", "v4.1", "release-9.0.0", "foo/v9.0.0", "v09.0.0", "9.0.0.1", "v9.0.0-",
             "vv9.0.0", "v9.0.0+", "v9.0.0-rc..1"]
    assert flags("v3.0.0", [*noise, "v2.9.9", "v3.0.0"]) == (True, True, True)


@pytest.mark.parametrize("tag", ["main", "latest", "v4", "v4.1", "release-9.0.0", "foo/v9.0.0", "v09.0.0",
                                 "1.02.3", "9.0.0.1", "v9.0.0-", "v1.0.0-01", "vv9.0.0", " v1.0.0", "", "V1.0.0",
                                 "v1.0.0+", "v1.0.0-rc..1", "v1.0.0+a..b", "v1.0.0-rc_1", "v\u0661.0.0"])
def test_not_a_version(tag: str) -> None:
    assert parse_version(tag) is None


@pytest.mark.parametrize(("tag", "text", "release"), [
    ("v1.2.3", "1.2.3", True),
    ("1.2.3", "1.2.3", True),
    ("v1.2.0-rc.1", "1.2.0-rc.1", False),
    ("v1.2.0-alpha", "1.2.0-alpha", False),
    ("v1.0.0-x-y.0a.7+build.5", "1.0.0-x-y.0a.7", False),
    ("v1.0.0-0.3.7", "1.0.0-0.3.7", False),
    ("v1.0.0+20130313144700", "1.0.0", True),
])
def test_versions_with_an_optional_v_and_build_metadata_dropped(tag: str, text: str, release: bool) -> None:
    v = parse_version(tag)
    assert v is not None
    assert (v[3], v[5]) == (release, text)


def test_versions_compare_numerically_not_as_strings() -> None:
    assert flags("v9.9.9", ["v10.0.0", "v9.9.9"]) == (False, True, True)
    assert flags("v10.0.0", ["v10.0.0", "v9.9.9"]) == (True, True, True)
    assert flags("v3.9.0", ["v3.10.0", "v3.9.0"]) == (False, False, True)
    assert flags("v3.0.9", ["v3.0.10", "v3.0.9"]) == (False, False, False)


def test_pre_release_identifiers_compare_numerically() -> None:
    assert flags("v1.0.0-rc.9", ["v1.0.0-rc.10", "v1.0.0-rc.9"], allow=True) == (False, False, False)
    assert flags("v1.0.0-rc.10", ["v1.0.0-rc.10", "v1.0.0-rc.9"], allow=True) == (True, True, True)


def test_numeric_pre_release_identifiers_rank_below_alphanumeric_ones() -> None:
    assert flags("v1.0.0-rc.99", ["v1.0.0-rc.a"], allow=True) == (False, False, False)
    assert flags("v1.0.0-rc.a", ["v1.0.0-rc.99"], allow=True) == (True, True, True)
    assert flags("v1.0.0-rc", ["v1.0.0-rc.1"], allow=True) == (False, False, False)  # fewer identifiers: lower


def test_semver_precedence_example_from_the_spec() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    versions = [parse_version(t) for t in reversed(ordered)]
    assert [v[5] for v in sorted(versions)] == ordered


def test_a_pre_release_gets_only_its_exact_tag_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    d = decide("v3.2.0-rc.1", ["v3.1.0", "v3.2.0-rc.1"], False)
    assert d == {"latest": False, "major": False, "minor": False, "version": "3.2.0-rc.1", "tags": [VERSION]}
    assert reasons(capsys) == [f"{tag}: no, a pre-release (ALLOW_PRERELEASE_FLOATING is off)"
                               for tag in ("latest", "3", "3.2")]


def test_an_allowed_pre_release_floats_when_highest_with_raw_rules() -> None:
    # metadata-action would render {{major}} of a pre-release as the full version, so the floating tags are raw.
    d = decide("v3.2.0-rc.1", ["v3.1.0", "v3.2.0-rc.1"], True)
    assert d == {"latest": True, "major": True, "minor": True, "version": "3.2.0-rc.1",
                 "tags": [VERSION, "type=raw,value=3.2", "type=raw,value=3", LATEST]}


def test_an_allowed_pre_release_does_not_float_below_a_later_one_or_its_final_release() -> None:
    assert flags("v3.2.0-rc.1", ["v3.1.0", "v3.2.0-rc.1", "v3.2.0-rc.2"], allow=True) == (False, False, False)
    assert flags("v3.2.0-rc.1", ["v3.1.0", "v3.2.0-rc.1", "v3.2.0"], allow=True) == (False, False, False)
    assert flags("v3.2.0-beta.2", ["v3.1.0", "v3.2.0-beta.2", "v3.2.0-alpha"], allow=True) == (True, True, True)


def test_a_final_release_outranks_its_own_pre_releases() -> None:
    for allow in (False, True):
        assert flags("v1.2.0", ["v1.2.0-rc.1", "v1.2.0", "v1.1.0"], allow) == (True, True, True)


def test_pre_releases_are_not_counted_as_higher_unless_allowed() -> None:
    tags = ["v3.1.0", "v3.1.1", "v3.2.0-rc.1"]
    assert flags("v3.1.1", tags, allow=False) == (True, True, True)
    # Allowed, 3.2.0-rc.1 may already hold latest and `3`: a 3.1.x fix must not take them back.
    assert flags("v3.1.1", tags, allow=True) == (False, False, True)


def test_major_zero_gets_no_major_tag(capsys: pytest.CaptureFixture[str]) -> None:
    d = decide("v0.2.1", ["v0.1.0", "v0.2.0", "v0.2.1"], False)
    assert (d["latest"], d["major"], d["minor"], d["tags"]) == (True, False, True, [VERSION, MINOR, LATEST])
    assert reasons(capsys) == ["latest: yes", "0: no, 0.y.z is unstable", "0.2: yes"]
    assert flags("v0.1.5", ["v0.1.0", "v0.2.0", "v0.1.5"]) == (False, False, True)
    assert flags("v0.9.0", ["v0.9.0", "v1.0.0"]) == (False, False, True)


def test_equal_precedence_counts_as_highest() -> None:
    assert flags("v1.0.0", ["1.0.0", "v1.0.0", "v1.0.0+build.7", "v0.9.0"]) == (True, True, True)
    assert flags("v1.0.0+build.7", ["v1.0.0", "v1.0.0+build.7"]) == (True, True, True)


@pytest.mark.parametrize("pushed", ["main", ""])
def test_a_push_that_is_not_a_version_tag_floats_nothing(pushed: str, capsys: pytest.CaptureFixture[str]) -> None:
    d = decide(pushed, ["v1.0.0"], True)
    assert d == {"latest": False, "major": False, "minor": False, "version": "", "tags": []}
    assert reasons(capsys) == [f"{pushed or 'this ref'} is not a version tag: no version or floating tags"]


@pytest.mark.parametrize(("ref", "ref_type"), [("main", "branch"), ("v9.0.0", "branch")])
def test_only_a_tag_push_is_a_version(ref: str, ref_type: str, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"GITHUB_REF_NAME": ref, "GITHUB_REF_TYPE": ref_type, "ALLOW_PRERELEASE_FLOATING": "true"}
    assert floating_decision(env, ["v1.0.0"]) == {"latest": False, "major": False, "minor": False, "version": "",
                                                  "tags": []}
    assert reasons(capsys) == ["this ref is not a version tag: no version or floating tags"]


@pytest.mark.parametrize(("allow", "floats"), [
    (None, False), ("", False), ("false", False), ("no", False), ("1", False),
    ("true", True), ("True", True), (" true\n", True),
])
def test_allow_prerelease_floating_must_say_true(allow: str | None, floats: bool) -> None:
    env = {"GITHUB_REF_NAME": "v3.2.0-rc.1"}  # GITHUB_REF_TYPE unset counts as a tag
    d = floating_decision(env if allow is None else {**env, "ALLOW_PRERELEASE_FLOATING": allow}, ["v3.1.0"])
    assert (d["latest"], d["major"], d["minor"]) == (floats, floats, floats)


def test_without_semver_rules_the_standard_three_apply() -> None:
    d = floating_decision({"GITHUB_REF_NAME": "v3.1.0"}, ["v3.0.5"])
    assert d["tags"] == [VERSION, MINOR, MAJOR, LATEST]


def test_a_re_run_decides_the_same_whether_or_not_the_pushed_tag_is_listed() -> None:
    tags = ["v3.1.0", "v3.0.4"]
    first = decide("v3.0.5", tags, False)
    assert decide("v3.0.5", [*tags, "v3.0.5"], False) == first
    assert (first["latest"], first["major"], first["minor"]) == (False, False, True)
    # Before `git fetch --tags` lists it, the pushed tag still counts: alone in its minor and major.
    assert flags("v4.0.0", ["v3.1.0"]) == flags("v4.0.0", ["v3.1.0", "v4.0.0"]) == (True, True, True)


def test_only_the_rules_a_build_asked_for_fire() -> None:
    assert decide("v3.1.0", ["v3.0.5"], False, f"{VERSION}\n{MAJOR}\n")["tags"] == [VERSION, MAJOR, LATEST]
    v_minor, v_major = "type=semver,pattern=v{{major}}.{{minor}}", "type=semver,pattern=v{{major}}"
    assert decide("v3.0.6", ["v3.1.0"], False, f"{VERSION}\n{v_minor}")["tags"] == [VERSION, v_minor]
    assert decide("v3.0.6", ["v3.1.0"], False, f"{VERSION}\n{v_major}")["tags"] == [VERSION]
    # {{patch}} or {{version}} anywhere makes a rule exact: it fires like {{version}}, floating tags or not.
    exact = "type=semver,pattern={{major}}.{{minor}}.{{patch}}"
    assert decide("v3.0.6", ["v3.1.0"], False, exact)["tags"] == [exact]
    assert decide("v3.0.6", ["v3.1.0"], False, "\n\n  \n")["tags"] == []


def test_an_allowed_pre_release_keeps_a_custom_pattern_as_a_raw_value() -> None:
    d = decide("v3.2.0-rc.1", ["v3.1.0"], True, "type=semver,pattern=v{{major}}.{{minor}}")
    assert d["tags"] == ["type=raw,value=v3.2", LATEST]


TAG = "type=ref,event=tag"


def verbatim(pushed: str, tags: list[str], rules: str = TAG) -> dict[str, Any]:
    return decide(pushed, tags, False, rules)


def test_a_calver_release_below_the_highest_keeps_its_tag_but_not_latest(capsys: pytest.CaptureFixture[str]) -> None:
    """Zero-padded months (2025.08.0, not semver) compare numerically: a fix of August after September's
    release gets its own tag, and latest stays where it is."""
    d = verbatim("2025.08.0", ["2025.07.2", "2025.09.1", "2025.08.0"])
    assert d == {"latest": False, "major": False, "minor": False, "version": "2025.08.0", "tags": [TAG]}
    assert reasons(capsys) == ["latest: no, 2025.09.1 is higher"]


def test_the_highest_calver_release_moves_latest(capsys: pytest.CaptureFixture[str]) -> None:
    d = verbatim("2025.10.0", ["2025.08.0", "2025.09.1"])
    assert d == {"latest": True, "major": False, "minor": False, "version": "2025.10.0", "tags": [TAG, LATEST]}
    assert reasons(capsys) == ["latest: yes"]
    # 2025.10.0 is valid semver, 2026.01.0 is not: the same scheme all the same, compared as numbers.
    assert verbatim("2025.10.0", ["2026.01.0"])["latest"] is False
    assert verbatim("2026.01.0", ["2025.10.0", "2025.09.1"])["latest"] is True
    assert verbatim("2025.9.2", ["2025.09.1", "2025.10"])["latest"] is False, "2025.10 is higher, dots or not"


def test_a_point_release_of_an_older_calver_release_leaves_latest() -> None:
    """YY.MM with point releases (Ubuntu's 24.04.2 after 24.10; pip's 24.1.3 after 24.2): the point release of
    the older one has one more number, and must not take latest back from the newer."""
    assert verbatim("24.04.2", ["24.04", "24.04.1", "24.10"])["latest"] is False
    assert verbatim("24.1.3", ["24.1", "24.1.2", "24.2"])["latest"] is False
    assert verbatim("24.10.1", ["24.04", "24.04.1", "24.10"])["latest"] is True
    assert verbatim("24.10", ["24.04.2", "24.04.1"])["latest"] is True


def test_only_tags_of_the_same_scheme_compete() -> None:
    noise = ["v9.9.9", "9.9", "99.0.0.1", "nightly", "2099-01-01", "release-2099.01.0", "2099.01.0-rc1"]
    assert verbatim("2025.08.0", [*noise, "2025.07.0"])["latest"] is True
    assert verbatim("v1.2.1", ["v1.3.0", "1.9.0"])["latest"] is False
    assert verbatim("v1.2.1", ["1.9.0", "v1.2"])["latest"] is True


@pytest.mark.parametrize("order", list(itertools.permutations(["2024.12.3", "2025.01.0", "2025.10.1"])))
def test_calver_order_does_not_depend_on_the_listing(order: tuple[str, ...]) -> None:
    assert verbatim("2025.01.0", list(order))["latest"] is False
    assert verbatim("2025.10.1", list(order))["latest"] is True


@pytest.mark.parametrize("pushed", ["nightly", "2025.08.0-rc1", "v1.4.0-rc.1", "2025_08"])
def test_a_tag_without_an_order_keeps_latest(pushed: str, capsys: pytest.CaptureFixture[str]) -> None:
    d = verbatim(pushed, ["2025.07.0"])
    assert d == {"latest": False, "major": False, "minor": False, "version": "", "tags": [TAG]}
    assert reasons(capsys) == ["latest: no, not a dotted version"]


def test_with_semver_rules_too_a_semver_tag_is_judged_by_semver_and_keeps_its_verbatim_tag() -> None:
    rules = f"{TAG}\n{VERSION}\n{MINOR}"
    assert decide("v3.0.5", ["v3.1.0"], False, rules)["tags"] == [TAG, VERSION, MINOR]
    assert decide("v3.1.1", ["v3.1.0"], False, rules)["tags"] == [TAG, VERSION, MINOR, LATEST]
    # A tag semver cannot parse: only the verbatim rule fires, latest by its scheme.
    assert decide("2025.08.0", ["2025.09.1"], False, rules)["tags"] == [TAG]


def test_the_script_on_a_calver_release(tmp_path: Path) -> None:
    text, out = run(tmp_path, "2025.08.0\n2025.09.1\n", GITHUB_REF_NAME="2025.08.0", GITHUB_REF_TYPE="tag",
                    SEMVER_RULES=f"{TAG}\n")
    eof = delimiter(text)
    assert text == ("latest=false\nmajor=false\nminor=false\nversion=2025.08.0\nflavor=latest=false\n"
                    f"tags<<{eof}\n{TAG}\n{eof}\n")
    assert out == "latest: no, 2025.09.1 is higher\n"


# The script as the workflow step runs it: `python3 {0}` with the step's environment and the repository's git.
def run(tmp_path: Path, tags: str, git_fails: bool = False, **env: str) -> tuple[str, str]:
    (tmp_path / "tags").write_text(tags, encoding="utf-8")
    git = tmp_path / "bin/git"
    git.parent.mkdir(exist_ok=True)
    listing = "exit 1" if git_fails else f'cat "{tmp_path}/tags"'
    git.write_text(f'#!/bin/sh\n[ "$*" = "tag --list" ] || exit 3\n{listing}\n', encoding="utf-8")
    git.chmod(0o755)
    output = tmp_path / "output"
    output.write_text("", encoding="utf-8")
    path = f"{git.parent}{os.pathsep}{os.environ['PATH']}"
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False,
                            env={"PATH": path, "GITHUB_OUTPUT": str(output), **env})
    assert (result.returncode != 0) == git_fails, result.stderr
    return output.read_text(encoding="utf-8"), result.stdout


def delimiter(text: str) -> str:
    found = re.search(r"^tags<<(EOF_[0-9a-f]{16})$", text, re.MULTILINE)
    assert found, text
    return found[1]


def test_the_script_writes_the_outputs_and_explains(tmp_path: Path) -> None:
    tags = "nightly\nv3.0.4\nv3.0.5\nv3.1.0\n"
    text, out = run(tmp_path, tags, GITHUB_REF_NAME="v3.0.5", GITHUB_REF_TYPE="tag")
    eof = delimiter(text)
    assert text == ("latest=false\nmajor=false\nminor=true\nversion=3.0.5\nflavor=latest=false\n"
                    f"tags<<{eof}\n{VERSION}\n{MINOR}\n{eof}\n")
    assert out == "latest: no, 3.1.0 is higher\n3: no, 3.1.0 is higher\n3.0: yes\n"
    rerun, _ = run(tmp_path, tags, GITHUB_REF_NAME="v3.0.5", GITHUB_REF_TYPE="tag")
    assert rerun.replace(delimiter(rerun), eof) == text, "a re-run gives the same outputs"
    assert delimiter(rerun) != eof, "the heredoc delimiter is random"


def test_the_script_keeps_pre_releases_off_floating_tags_by_default(tmp_path: Path) -> None:
    text, _ = run(tmp_path, "v3.1.0\nv3.2.0-rc.1\n", GITHUB_REF_NAME="v3.2.0-rc.1", GITHUB_REF_TYPE="tag")
    eof = delimiter(text)
    assert text == ("latest=false\nmajor=false\nminor=false\nversion=3.2.0-rc.1\nflavor=latest=false\n"
                    f"tags<<{eof}\n{VERSION}\n{eof}\n")


def test_the_script_floats_an_allowed_pre_release_with_its_own_rules(tmp_path: Path) -> None:
    text, _ = run(tmp_path, "v3.1.0\nv3.2.0-rc.1\n", GITHUB_REF_NAME="v3.2.0-rc.1", GITHUB_REF_TYPE="tag",
                  ALLOW_PRERELEASE_FLOATING="true", SEMVER_RULES=f"{MAJOR}\n\n{VERSION}\n")
    eof = delimiter(text)
    assert text == ("latest=true\nmajor=true\nminor=true\nversion=3.2.0-rc.1\nflavor=latest=false\n"
                    f"tags<<{eof}\ntype=raw,value=3\n{VERSION}\n{LATEST}\n{eof}\n")


def test_the_script_on_a_branch_push_floats_nothing(tmp_path: Path) -> None:
    text, out = run(tmp_path, "v1.0.0\n", GITHUB_REF_NAME="v9.0.0", GITHUB_REF_TYPE="branch")
    eof = delimiter(text)
    assert text == f"latest=false\nmajor=false\nminor=false\nversion=\nflavor=latest=false\ntags<<{eof}\n{eof}\n"
    assert out == "this ref is not a version tag: no version or floating tags\n"


def test_the_script_fails_without_outputs_when_git_cannot_list_the_tags(tmp_path: Path) -> None:
    text, _ = run(tmp_path, "v1.0.0\n", git_fails=True, GITHUB_REF_NAME="v1.0.0", GITHUB_REF_TYPE="tag")
    assert text == ""


# A variant's bare name (the `variant` rule: `base:3.22`, `ros-stack:core-humble`) is that variant's latest.
BARE = "type=raw,value=core-humble,prefix=,suffix="


@pytest.mark.parametrize(("pushed", "moves"), [
    ("v1.4.0", True),  # the highest release
    ("v1.2.1", False),  # a fix below v1.3.0: the bare name stays on the higher release
    ("v1.4.0-rc.1", False),  # a pre-release
])
def test_a_variants_bare_name_moves_only_as_latest_does(pushed: str, moves: bool) -> None:
    decision = decide(pushed, ["v1.2.0", "v1.3.0"], rules=f"{BARE}\n{VERSION}")
    assert (BARE in decision["tags"]) is moves
    assert (LATEST in decision["tags"]) is moves
    assert any(rule.startswith(("type=semver", "type=raw,value=1.4.0-rc.1")) for rule in decision["tags"])


@pytest.mark.parametrize(("pushed", "moves"), [("2025.08.0", True), ("2025.07.2", False), ("2025.08.0-rc1", False)])
def test_a_variants_bare_name_beside_calver_moves_only_to_the_highest_release(pushed: str, moves: bool) -> None:
    decision = decide(pushed, ["2025.07.1", "2025.07.3"], rules=f"type=ref,event=tag\n{BARE}")
    assert decision["tags"] == ["type=ref,event=tag", *[BARE, LATEST] * moves]


def test_a_tag_of_another_count_competes_when_its_first_number_is_as_wide() -> None:
    assert verbatim("v9.0.1", ["v10.0.0"])["latest"] is False  # the same count: one scheme, whatever the widths
    assert verbatim("1.0.0", ["2019.1", "2019.2"])["latest"] is True  # CalVer before semver: another scheme
