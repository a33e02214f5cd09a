"""The floating-tag decision the generated release workflows run: latest, MAJOR and MAJOR.MINOR only move forward."""

from __future__ import annotations

import itertools
import re
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from generator.scripts import floating_tags
from generator.scripts.floating_tags import floating_decision, metadata_rules, parse_version

VERSION = "type=semver,pattern={{version}}"
MINOR = "type=semver,pattern={{major}}.{{minor}}"
MAJOR = "type=semver,pattern={{major}}"
LATEST = "type=raw,value=latest"


def flags(pushed: str, tags: list[str], allow: bool = False) -> tuple[bool, bool, bool]:
    d = floating_decision(pushed, tags, allow)
    return d.latest, d.major, d.minor


# The Neko regression: a 3.0.x maintenance release tagged after 3.1 must not take latest or `3` back.
def test_a_maintenance_release_of_an_older_minor_only_moves_its_own_minor_tag() -> None:
    d = floating_decision("v3.0.5", ["v3.1.0", "v3.0.5"], False)
    assert (d.latest, d.major, d.minor, d.version) == (False, False, True, "3.0.5")
    assert metadata_rules(d) == [VERSION, MINOR]
    assert d.reasons == [
        "3.0.5: yes, the exact version is always tagged",
        "latest: no, v3.1.0 is higher",
        "3.0: yes, v3.0.5 is the highest 3.0.x release",
        "3: no, v3.1.0 is higher",
    ]


def test_the_highest_release_moves_every_floating_tag() -> None:
    d = floating_decision("v3.1.0", ["v3.1.0", "v3.0.5"], False)
    assert (d.latest, d.major, d.minor, d.version) == (True, True, True, "3.1.0")
    assert metadata_rules(d) == [VERSION, MINOR, MAJOR, LATEST]


def test_the_highest_of_an_older_major_moves_its_major_tag_but_not_latest() -> None:
    assert flags("v2.4.1", ["v3.0.0", "v2.4.0", "v2.3.9", "v2.4.1"]) == (False, True, True)


@pytest.mark.parametrize("order", list(itertools.permutations(["v1.0.0", "v2.1.0", "v2.0.3", "v2.1.1"])))
def test_the_order_of_the_tag_list_does_not_matter(order: tuple[str, ...]) -> None:
    assert flags("v2.0.3", list(order)) == (False, False, True)
    assert flags("v2.1.1", list(order)) == (True, True, True)


def test_tags_that_are_not_versions_are_ignored() -> None:
    noise = ["latest", "nightly", "v4", "v4.1", "release-9.0.0", "foo/v9.0.0", "v09.0.0", "9.0.0.1", "v9.0.0-",
             "vv9.0.0"]
    d = floating_decision("v3.0.0", [*noise, "v2.9.9", "v3.0.0"], False)
    assert (d.latest, d.major, d.minor) == (True, True, True)


@pytest.mark.parametrize("tag", ["main", "latest", "v4", "v4.1", "release-9.0.0", "foo/v9.0.0", "v09.0.0",
                                 "1.02.3", "9.0.0.1", "v9.0.0-", "v1.0.0-01", "vv9.0.0", " v1.0.0", ""])
def test_not_a_version(tag: str) -> None:
    assert parse_version(tag) is None


@pytest.mark.parametrize(("tag", "text", "pre"), [
    ("v1.2.3", "1.2.3", ()),
    ("1.2.3", "1.2.3", ()),
    ("v1.2.0-rc.1", "1.2.0-rc.1", ("rc", "1")),
    ("v1.2.0-alpha", "1.2.0-alpha", ("alpha",)),
    ("v1.0.0-x-y.0a.7+build.5", "1.0.0-x-y.0a.7", ("x-y", "0a", "7")),
    ("v1.0.0+20130313144700", "1.0.0", ()),
])
def test_versions_with_an_optional_v_and_build_metadata_dropped(tag: str, text: str, pre: tuple[str, ...]) -> None:
    v = parse_version(tag)
    assert v is not None
    assert (v.text, v.pre) == (text, pre)


def test_versions_compare_numerically_not_as_strings() -> None:
    assert flags("v9.9.9", ["v10.0.0", "v9.9.9"]) == (False, True, True)
    assert flags("v10.0.0", ["v10.0.0", "v9.9.9"]) == (True, True, True)
    assert flags("v3.9.0", ["v3.10.0", "v3.9.0"]) == (False, False, True)
    assert flags("v3.0.9", ["v3.0.10", "v3.0.9"]) == (False, False, False)


def test_pre_release_identifiers_compare_numerically() -> None:
    assert flags("v1.0.0-rc.9", ["v1.0.0-rc.10", "v1.0.0-rc.9"], allow=True) == (False, False, False)
    assert flags("v1.0.0-rc.10", ["v1.0.0-rc.10", "v1.0.0-rc.9"], allow=True) == (True, True, True)


def test_semver_precedence_example_from_the_spec() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0"]
    versions = [parse_version(t) for t in reversed(ordered)]
    assert [v.text for v in sorted(versions, key=lambda v: v.key())] == ordered  # type: ignore[union-attr]


def test_a_pre_release_gets_only_its_exact_tag_by_default() -> None:
    d = floating_decision("v3.2.0-rc.1", ["v3.1.0", "v3.2.0-rc.1"], False)
    assert (d.latest, d.major, d.minor, d.version) == (False, False, False, "3.2.0-rc.1")
    assert metadata_rules(d) == [VERSION]
    assert d.reasons[-1] == "latest, 3, 3.2: no, pre-release (ALLOW_PRERELEASE_FLOATING off)"


def test_an_allowed_pre_release_floats_when_highest_with_raw_rules() -> None:
    # metadata-action would render {{major}} of a pre-release as the full version, so the floating tags are raw.
    d = floating_decision("v3.2.0-rc.1", ["v3.1.0", "v3.2.0-rc.1"], True)
    assert (d.latest, d.major, d.minor) == (True, True, True)
    assert metadata_rules(d) == [VERSION, "type=raw,value=3.2", "type=raw,value=3", LATEST]


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


def test_major_zero_gets_no_major_tag() -> None:
    d = floating_decision("v0.2.1", ["v0.1.0", "v0.2.0", "v0.2.1"], False)
    assert (d.latest, d.major, d.minor) == (True, False, True)
    assert metadata_rules(d) == [VERSION, MINOR, LATEST]
    assert "0: no, major version 0 gets no floating major tag" in d.reasons
    assert flags("v0.1.5", ["v0.1.0", "v0.2.0", "v0.1.5"]) == (False, False, True)
    assert flags("v0.9.0", ["v0.9.0", "v1.0.0"]) == (False, False, True)


def test_equal_precedence_counts_as_highest() -> None:
    assert flags("v1.0.0", ["1.0.0", "v1.0.0", "v1.0.0+build.7", "v0.9.0"]) == (True, True, True)
    assert flags("v1.0.0+build.7", ["v1.0.0", "v1.0.0+build.7"]) == (True, True, True)


def test_a_branch_push_floats_nothing() -> None:
    d = floating_decision("main", ["v1.0.0"], True)
    assert (d.latest, d.major, d.minor, d.version) == (False, False, False, "")
    assert metadata_rules(d) == []
    assert d.reasons == ["main is not a version tag: no version or floating tags"]


def test_a_re_run_decides_the_same_whether_or_not_the_pushed_tag_is_listed() -> None:
    tags = ["v3.1.0", "v3.0.4"]
    first = floating_decision("v3.0.5", tags, False)
    assert floating_decision("v3.0.5", [*tags, "v3.0.5"], False) == first
    assert floating_decision("v3.0.5", [*tags, "v3.0.5"], False) == first
    assert (first.latest, first.major, first.minor) == (False, False, True)
    # Before `git fetch --tags` lists it, the pushed tag still counts: alone in its minor and major.
    assert flags("v4.0.0", ["v3.1.0"]) == flags("v4.0.0", ["v3.1.0", "v4.0.0"]) == (True, True, True)


def _main(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str, tags: str, ref_type: str = "tag",
          allow: str | None = None) -> str:
    def fake_run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        assert command == ["git", "tag", "--list"]
        return subprocess.CompletedProcess(command, 0, stdout=tags, stderr="")

    output = tmp_path / "output"
    output.unlink(missing_ok=True)
    monkeypatch.setattr(floating_tags, "subprocess", SimpleNamespace(run=fake_run))
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_REF_NAME", ref)
    monkeypatch.setenv("GITHUB_REF_TYPE", ref_type)
    if allow is None:
        monkeypatch.delenv("ALLOW_PRERELEASE_FLOATING", raising=False)
    else:
        monkeypatch.setenv("ALLOW_PRERELEASE_FLOATING", allow)
    floating_tags.main()
    return output.read_text()


def _delimiter(text: str) -> str:
    found = re.search(r"^tags<<(EOF_[0-9a-f]{16})$", text, re.MULTILINE)
    assert found, text
    return found[1]


def test_main_writes_the_outputs_and_explains(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    text = _main(tmp_path, monkeypatch, "v3.0.5", "nightly\nv3.0.4\nv3.0.5\nv3.1.0\n")
    eof = _delimiter(text)
    assert text == ("latest=false\nmajor=false\nminor=true\nversion=3.0.5\nflavor=latest=false\n"
                    f"tags<<{eof}\ntype=semver,pattern={{{{version}}}}\ntype=semver,pattern={{{{major}}}}.{{{{minor}}}}\n"
                    f"{eof}\n")
    assert capsys.readouterr().out == ("3.0.5: yes, the exact version is always tagged\n"
                                       "latest: no, v3.1.0 is higher\n"
                                       "3.0: yes, v3.0.5 is the highest 3.0.x release\n"
                                       "3: no, v3.1.0 is higher\n")
    rerun = _main(tmp_path, monkeypatch, "v3.0.5", "nightly\nv3.0.4\nv3.0.5\nv3.1.0\n")
    assert rerun.replace(_delimiter(rerun), eof) == text, "a re-run gives the same outputs"
    assert _delimiter(rerun) != eof, "the heredoc delimiter is random"


@pytest.mark.parametrize("allow", [None, "", "false", "no", "1"])
def test_main_keeps_pre_releases_off_floating_tags_by_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow: str | None) -> None:
    text = _main(tmp_path, monkeypatch, "v3.2.0-rc.1", "v3.1.0\nv3.2.0-rc.1\n", allow=allow)
    eof = _delimiter(text)
    assert text == ("latest=false\nmajor=false\nminor=false\nversion=3.2.0-rc.1\nflavor=latest=false\n"
                    f"tags<<{eof}\ntype=semver,pattern={{{{version}}}}\n{eof}\n")


@pytest.mark.parametrize("allow", ["true", "True"])
def test_main_floats_an_allowed_pre_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, allow: str) -> None:
    text = _main(tmp_path, monkeypatch, "v3.2.0-rc.1", "v3.1.0\nv3.2.0-rc.1\n", allow=allow)
    eof = _delimiter(text)
    assert text == ("latest=true\nmajor=true\nminor=true\nversion=3.2.0-rc.1\nflavor=latest=false\n"
                    f"tags<<{eof}\ntype=semver,pattern={{{{version}}}}\ntype=raw,value=3.2\ntype=raw,value=3\n"
                    f"type=raw,value=latest\n{eof}\n")


@pytest.mark.parametrize(("ref", "ref_type"), [("main", "branch"), ("v9.0.0", "branch")])
def test_main_on_a_branch_push_floats_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str, ref_type: str) -> None:
    text = _main(tmp_path, monkeypatch, ref, "v1.0.0\n", ref_type=ref_type, allow="true")
    eof = _delimiter(text)
    assert text == f"latest=false\nmajor=false\nminor=false\nversion=\nflavor=latest=false\ntags<<{eof}\n{eof}\n"


def test_only_the_rules_a_build_asked_for_fire() -> None:
    d = floating_decision("v3.1.0", ["v3.1.0", "v3.0.5"], False)
    assert metadata_rules(d, [VERSION, MAJOR]) == [VERSION, MAJOR, LATEST]
    maintenance = floating_decision("v3.0.6", ["v3.1.0", "v3.0.5"], False)
    assert metadata_rules(maintenance, [VERSION, "type=semver,pattern=v{{major}}.{{minor}}"]) == [
        VERSION, "type=semver,pattern=v{{major}}.{{minor}}"]
    assert metadata_rules(maintenance, [VERSION, "type=semver,pattern=v{{major}}"]) == [VERSION]


def test_an_allowed_pre_release_keeps_a_custom_pattern_as_a_raw_value() -> None:
    d = floating_decision("v3.2.0-rc.1", ["v3.1.0"], True)
    assert metadata_rules(d, ["type=semver,pattern=v{{major}}.{{minor}}"]) == ["type=raw,value=v3.2", LATEST]
