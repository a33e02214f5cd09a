"""Runs that publish but would write no tag: a configured trigger on which no tag rule of a build fires
builds every platform and only then fails ("No tag rule matched"), so the spec is refused where the
build's tag rules are written."""

from __future__ import annotations

import json
from typing import Any

from ..errors import Problem
from ..filters import glob_matches, glob_problem, glob_tokens, has_wildcard
from ..scripts.floating_tags import SEMVER
from .defaults import build_setting, setting, trigger_tags
from .document import Document, Path_
from .units import RawUnit

# Which tag rules fire on which run that publishes (docker/metadata-action): `branch` (type=ref,event=branch)
# on any branch ref, which a scheduled run (the default branch) has too; `edge` on the default branch only;
# semver rules only on a tag semver parses; `tag` (type=ref,event=tag) on any tag; `schedule` on scheduled
# runs; `sha`, `raw`, `date` and `variant` (of a build with a variant name) on every run; `pr` never on a run
# that publishes; a published release as a push of its tag, whatever its name. A raw or date rule with `on:`
# fires where it says (see _firing). A manual run publishes only from a ref the branch and tag triggers name,
# so it is one of those pushes. A run where none fires builds every platform, then fails at "No tag rule
# matched".
_ON_BRANCH = {"branch", "sha", "raw"}
_ON_ANY_TAG = {"sha", "raw", "tag"}
_ON_SCHEDULE = {"branch", "edge", "sha", "raw", "schedule"}
_SEMVER_RULES = {"version", "major.minor", "major", "semver"}
# Tags release schemes other than semver push (CalVer with a zero-padded month first): what a tag pattern
# without semver's `v` is tried against, for one that semver cannot parse.
_OTHER_SCHEMES = ("2025.08.0", "2025.08", "20250801", "2025-08-01", "1.2", "1.2.3.4", "release-1.2.3", "nightly")


def _rule_kind(rule: Any) -> str:
    return rule if isinstance(rule, str) else next((k for k in rule if k != "on"), "on")  # "on" alone: refused


def _firing(rule: Any, variant: str, branches: list[str]) -> str:
    """The kind a rule fires as, for the checks below: `date` and a named build's `variant` fire as raw
    (on every run), a `variant` rule of an image without variants as nothing; with `on:`, a raw or date rule
    fires as `edge` on the default branch (or on the one branch the triggers name), as `tag` on tags and
    as `schedule` on scheduled runs."""
    kind = _rule_kind(rule)
    if kind == "variant":
        return "raw" if variant else "never"
    if kind == "date":
        kind = "raw"
    on = rule.get("on", "") if isinstance(rule, dict) else ""
    if kind != "raw" or not on:
        return kind
    if on.startswith("branch "):
        return "edge" if branches == [on.removeprefix("branch ")] else "never"
    return {"default-branch": "edge", "tag": "tag", "schedule": "schedule"}.get(on, "never")


def _rule_text(rule: Any) -> str:
    return rule if isinstance(rule, str) else ", ".join(f"{k}: {v}" for k, v in rule.items())


def untagged_trigger_problems(doc: Document, data: dict[str, Any], units: list[RawUnit]) -> list[Problem]:
    """Every configured run that publishes must fire at least one tag rule of every build: otherwise the
    run builds every platform and only then fails, with nothing to tag. Reported where the build's tag
    rules are written, once for the builds that share them."""
    triggers, defaults = setting(data, "triggers"), setting(data, "defaults")

    def named(key: str, i: int, value: str) -> str:
        return f"triggers.{key}[{i}] {json.dumps(value)}" + ("" if key in triggers else " (the default)")

    branches = [(named("branches", i, p), p) for i, p in enumerate(setting(triggers, "branches", "triggers"))
                if not p.startswith("!") and not glob_problem(p, ref=True)]
    tags = trigger_tags(triggers)
    schedules = setting(triggers, "schedule", "triggers")
    releases = setting(triggers, "releases", "triggers")
    found: dict[tuple[Path_, str, str], list[str]] = {}
    for unit in units:
        rules = build_setting(unit.values, defaults, "tags")
        kinds = {_firing(r, unit.variant, [p for _, p in branches]) for r in rules}
        where = unit.where("tags") if "tags" in unit.values else ("defaults", "tags")
        listed = ", ".join(_rule_text(r) for r in rules)
        semver = ", ".join(_rule_text(r) for r in rules if _rule_kind(r) in _SEMVER_RULES)
        fire = "fire" if "," in semver else "fires"
        runs: list[tuple[str, str]] = []
        if branches and not kinds & _ON_BRANCH:
            if "edge" not in kinds:
                runs.append((f"a push to {branches[0][0]} would build every platform, then fail: none of the tag "
                             f"rules ({listed}) fires on a branch", "add branch or sha"))
            elif len(branches) > 1 or has_wildcard(branches[0][1]):
                blamed = next((n for n, p in branches if has_wildcard(p)), branches[-1][0])
                others = ", ".join(_rule_text(r) for r in rules if r != "edge")
                rest = f"none of the other tag rules ({others}) fires on a branch" if others else "it is the only rule"
                runs.append((f"a push to {blamed} would build every platform, then fail: edge tags only the default "
                             f"branch, and {rest}", "add branch or sha"))
        for i, pattern in enumerate(tags):
            if pattern.startswith("!") or glob_problem(pattern, ref=True) or kinds & _ON_ANY_TAG:
                continue
            if not kinds & _SEMVER_RULES:
                runs.append((f"a push of a tag matching {named('tags', i, pattern)} would build every platform, "
                             f"then fail: none of the tag rules ({listed}) fires on a tag",
                             "add tag (the git tag as it is), version (1.2.3 from a v1.2.3 tag) or sha"))
                break  # the same for every tag pattern
            other = _non_semver_tag(pattern, tags[i + 1:])
            if other:
                runs.append((f"a push of a tag matching {named('tags', i, pattern)}, such as {other}, would build "
                             f"every platform, then fail: of the tag rules ({listed}) only {semver} {fire} on a tag, "
                             f"and only on a semantic version, which {other} is not",
                             f"add tag, which fires on any tag and writes it as it is ({other}), or sha; or tag "
                             "releases as semantic versions (no leading zeros: v2025.8.0) and match them with v*"))
        if releases and not kinds & _ON_ANY_TAG:
            # A release's run has the release's tag as its ref, as a tag push has, but no pattern says
            # what its name looks like: the scheme a project tags by decides (CalVer's 2025.08.0 is none).
            if not kinds & _SEMVER_RULES:
                runs.append((f"a published release (triggers.releases) would build every platform, then fail: none "
                             f"of the tag rules ({listed}) fires on a tag", "add tag, which fires on any tag and "
                             "writes it as it is, or version (1.2.3 from a v1.2.3 tag) and sha"))
            else:
                runs.append((f"a published release (triggers.releases) of a tag such as 2025.08.0 would build every "
                             f"platform, then fail: of the tag rules ({listed}) only {semver} {fire} on a tag, and "
                             "only on a semantic version, which a release's tag need not be",
                             "add tag, which fires on any tag and writes it as it is, or sha"))
        if schedules and not kinds & _ON_SCHEDULE:
            runs.append((f"a scheduled run ({named('schedule', 0, schedules[0])}) would build every platform, "
                         f"then fail: none of the tag rules ({listed}) fires on a schedule",
                         "add schedule (nightly) or sha"))
        for message, hint in runs:
            found.setdefault((where, message, hint), []).append(unit.label)
    return [doc.problem(where, ", ".join(f'"{label}"' for label in labels) + f": {message}", hint)
            for (where, message, hint), labels in found.items()]


def _non_semver_tag(pattern: str, later: list[str]) -> str:
    """A tag the pattern matches, not excluded by a later `!` pattern, that semver cannot parse; "" for none.
    A pattern of semver's `v` and then a digit or wildcard (v*, v[0-9]*.*) declares semantic versions, as
    metadata-action reads them; a pattern without it may as well be a CalVer scheme's, which is tried."""
    tokens = glob_tokens(pattern)
    if (len(tokens) > 1 and tokens[0] == ("char", "v") and tokens[1][0] in ("any", "char", "set")
            and (tokens[1][0] == "any" or any(c.isdigit() for c in tokens[1][1]))):
        return ""
    excluded = [glob_tokens(p[1:]) for p in later if p.startswith("!") and not glob_problem(p, ref=True)]
    filled = ["".join(fill if kind == "any" else value[0] if kind != "?" and kind != "+" else ""
                      for kind, value in tokens) for fill in ("x", "1")]
    for tag in (*_OTHER_SCHEMES, *filled):
        if glob_matches(tokens, tag) and not SEMVER.fullmatch(tag) and not any(glob_matches(x, tag) for x in excluded):
            return tag
    return ""
