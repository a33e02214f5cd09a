"""Every run that publishes writes a tag: a trigger on which no tag rule of a build fires is refused before
anything is built (generator/spec/tag_triggers.py), with the same verdict from validate, plan and generate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.filters import glob_matches, glob_tokens
from generator.spec.tag_triggers import _non_semver_tag

from .conftest import Runner, write_tree

CASES = Path(__file__).parent / "invalid"


def _spec(triggers: str, tags: str) -> dict[str, str]:
    return {".github/multiarch.yaml": f"version: 1\ntriggers: {triggers}\ndefaults: {{strategy: qemu}}\n"
                                      f"images:\n  app:\n    tags: {tags}\n",
            "Dockerfile": "FROM alpine\n"}


@pytest.mark.parametrize(("triggers", "tags"), [
    ("{}", "[branch, version]"),  # v* (the default) names semantic versions, as metadata-action reads them
    ("{tags: ['v*.*.*', 'v[0-9]+.[0-9]+.[0-9]+']}", "[branch, version, major]"),
    ("{tags: ['1.2.[0-9]']}", "[branch, version]"),  # every tag it matches is a version
    ("{tags: ['[0-9]*.[0-9]*.[0-9]*']}", "[branch, version, sha]"),  # sha fires on any tag
    ("{tags: ['2025.*'], schedule: ['0 3 * * 1']}", "[{raw: stable}]"),  # raw fires on every run
    ("{tags: []}", "[edge]"),  # one branch, main: edge tags it
    ("{branches: [], tags: ['v*']}", "[version]"),  # no branch pushes to tag
    ("{branches: [main], schedule: ['0 3 * * 1']}", "[branch, version]"),  # a schedule runs on the default branch
    ("{branches: [main], tags: ['v*'], schedule: ['0 3 * * 1']}", "[edge, version]"),
    ("{tags: ['release-*'], schedule: ['0 3 * * 1']}", "[{raw: x}, pr]"),
    ("{releases: true, tags: []}", "[branch, version, sha]"),  # sha fires on any release's tag
    ("{releases: true, branches: [], tags: []}", "[{raw: stable}]"),
])
def test_runs_that_tag_are_accepted(triggers: str, tags: str, tmp_path: Path, run: Runner) -> None:
    root = write_tree(tmp_path, _spec(triggers, tags))
    result = run("validate", "-C", str(root))
    assert result.code == 0, result.err


@pytest.mark.parametrize(("triggers", "tags", "said"), [
    ("{tags: ['[0-9]*.[0-9]*.[0-9]*']}", "[branch, version]", "such as 2025.08.0"),
    ("{tags: ['release-*']}", "[branch, major.minor]", "such as release-1.2.3"),
    ("{tags: ['stable-*']}", "[branch, {semver: '{{major}}'}]", "such as stable-x"),
    ("{tags: ['*', '!2025*']}", "[branch, version]", "such as 1.2,"),  # the later exclusion is honoured
    ("{tags: ['v*']}", "[branch, edge]", 'triggers.tags[0] "v*" would build'),
    ("{}", "[branch]", 'triggers.tags[0] "v*" (the default)'),
    ("{branches: [main], tags: []}", "[version]", 'triggers.branches[0] "main"'),
    ("{branches: [main, 'release/*'], tags: []}", "[edge]", 'triggers.branches[1] "release/*"'),
    ("{branches: [main, develop], tags: []}", "[edge]", "edge tags only the default branch"),
    # A release's tag has no pattern: it may be CalVer's 2025.08.0, which semver rules skip.
    ("{releases: true, tags: []}", "[branch, version, major]", "a published release (triggers.releases) of a tag "
                                                               "such as 2025.08.0 would build every platform"),
    ("{releases: true, tags: []}", "[branch]", "none of the tag rules (branch) fires on a tag"),
])
def test_runs_that_tag_nothing_are_refused(triggers: str, tags: str, said: str, tmp_path: Path,
                                           run: Runner) -> None:
    root = write_tree(tmp_path, _spec(triggers, tags))
    result = run("validate", "-C", str(root))
    assert result.code == 2, result.out
    assert said in result.err
    assert result.err.startswith(".github/multiarch.yaml:6:11: ")  # the build's tag rules


def test_a_schedule_with_only_release_rules_is_refused(tmp_path: Path, run: Runner) -> None:
    root = write_tree(tmp_path, _spec("{branches: [], tags: ['v*'], schedule: ['0 3 * * 1']}", "[version]"))
    result = run("validate", "-C", str(root))
    assert result.code == 2
    assert 'a scheduled run (triggers.schedule[0] "0 3 * * 1") would build every platform' in result.err
    assert "hint: add schedule (nightly) or sha" in result.err


def test_validate_plan_and_generate_agree(tmp_path: Path, run: Runner) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CASES / "calver-tags", repo, ignore=shutil.ignore_patterns("expected.txt"))
    results = [run(*command, "-C", str(repo)) for command in (("validate",), ("plan",), ())]
    assert [r.code for r in results] == [2, 2, 2]
    assert results[0].err == results[1].err == results[2].err
    assert "2025.08.0" in results[0].err


@pytest.mark.parametrize(("pattern", "text", "matched"), [
    ("[0-9]*.[0-9]*.[0-9]*", "2025.08.0", True), ("v*", "v1/2", False), ("**", "a/b", True),
    ("v[0-9]+.[0-9]+", "v12.3", True), ("v[0-9]+.[0-9]+", "v.3", False), ("ab?c", "ac", True),
    ("ab?c", "abbc", False), ("a+b", "aaab", True), ("a+b", "b", False), ("\\*x", "*x", True), ("\\*x", "ax", False),
])
def test_tag_patterns_match_as_github_does(pattern: str, text: str, matched: bool) -> None:
    assert glob_matches(glob_tokens(pattern), text) is matched


def test_a_hostile_pattern_is_matched_without_backtracking() -> None:
    """Many optional characters between wildcards: a backtracking matcher would take ages on it."""
    assert _non_semver_tag("*0?" * 80 + "q", []) == "x0" * 80 + "q"
