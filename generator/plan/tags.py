"""Which tags a build writes for each event: a small model of the engine's merge job, read from the inputs a
call passes (with the engine's defaults), so that what it says is what the generated workflows do.

The merge job runs docker/metadata-action (v6) on the call's `tags`, with the flavor the engine makes of
`prefix` and `suffix` (on every tag, `latest` included) and `latest=auto`, or `latest=false` when the call
has `semver` rules; on a version tag the floating-tags step (generator/scripts/floating_tags.py, run here
as it is in the workflow) adds the semver rules that may move; `per-arch-tags` adds each tag again with
`-<arch>`. What the model knows of metadata-action, as its documentation and source (src/meta.ts,
src/tag.ts) say: a rule's own `prefix=`/`suffix=` replaces the flavor's, and `type=sha` brings its own
`sha-` prefix, as `type=ref,event=pr` brings `pr-`; values are cleaned to [a-zA-Z0-9._-].

The commit is not known, so a short sha is written `<sha>`, a full one `<full-sha>`, the run's date in its
format (`<YYYYMMDD>`); a rule's `enable=` is evaluated for the event (values.enable); the default branch is
taken to be the first branch the triggers name. A rule kind the model does not know is a bug here
(ValueError): a new tag rule kind needs its line in values.tag_line and its value here."""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import re
from collections.abc import Iterator, Mapping

from ..filters import filter_match, ref_condition
from ..model import Registry, Spec
from ..platforms import Platform
from ..record import record
from ..scripts.floating_tags import floating_decision
from ..workflow import Value

SHA = "<sha>"  # the commit's short sha (7 characters), unknown here
FULL_SHA = "<full-sha>"  # the commit's sha (40 characters)
# Stand-ins for what the run knows: the shas, the run's date in a format (<YYYYMMDD>), kept by the cleaning.
_UNKNOWN = re.compile(r"<[A-Za-z._-]+>")
EXISTING = ("v1.2.0", "v1.3.0")  # the repository's version tags before a release event
RELEASES = (("v1.4.0", "the highest release"), ("v1.2.1", "a fix below the highest"),
            ("v1.4.0-rc.1", "a pre-release"))
PRIORITIES = {"schedule": 1000, "semver": 900, "match": 800, "edge": 700, "ref": 600, "raw": 200, "sha": 100}
# metadata-action's semver.valid (loose): an optional v or =, x.y.z, a pre-release, build metadata.
_ID = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*)"
SEMVER = re.compile(rf"^[v=\s]*(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-({_ID}(?:\.{_ID})*))?"
                    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")


@record
class Event:
    """A run of the build's workflow: the event, its ref, whether it publishes, the repository's tags."""

    label: str  # what a reader calls it: "push to main", "tag v1.4.0 (the highest release)"
    name: str  # github.event_name
    ref: str  # github.ref
    publishes: bool = True
    existing: tuple[str, ...] = ()


def example(pattern: str) -> str:
    """A name the pattern matches, for a table: each wildcard becomes `x`, a set its first member."""
    out = re.sub(r"\[!?\^?(.)[^]]*\]", r"\1", pattern.replace("\\", ""))
    return re.sub(r"\*+|\?", "x", out).replace("+", "")


def default_branch(spec: Spec) -> str:
    return next((b for b in spec.triggers.branches if not b.startswith("!") and example(b) == b), "main")


def events(spec: Spec) -> tuple[Event, ...]:
    """The runs to look at: a push to a branch of each branch pattern, the releases (above, below and a
    pre-release) where version tags trigger, published GitHub releases of those three tags, a scheduled
    run, a pull request, a merge queue's group, manual runs."""
    trig = spec.triggers
    found: list[Event] = []
    branches = [example(b) for b in trig.branches if not b.startswith("!")]
    branches = list(dict.fromkeys(b for b in branches if filter_match(trig.branches, b)))
    found += [Event(f"push to {b}", "push", f"refs/heads/{b}") for b in branches]
    if trig.tags:
        releases = [(t, why) for t, why in RELEASES if filter_match(trig.tags, t)] or \
                   [(t[1:], why) for t, why in RELEASES if filter_match(trig.tags, t[1:])]
        if releases:
            found += [Event(f"tag {t} ({why})", "push", f"refs/tags/{t}", existing=EXISTING) for t, why in releases]
        else:
            tags = [example(t) for t in trig.tags if not t.startswith("!")]
            found += [Event(f"tag {t}", "push", f"refs/tags/{t}") for t in dict.fromkeys(tags)
                      if filter_match(trig.tags, t)]
    if trig.releases:  # the run's ref is the release's tag, any name
        found += [Event(f"release {t} ({why})", "release", f"refs/tags/{t}", existing=EXISTING) for t, why in RELEASES]
    if trig.schedule:
        default = default_branch(spec)
        found.append(Event(f"scheduled run on {default}", "schedule", f"refs/heads/{default}"))
    if trig.pull_requests:
        found.append(Event("pull request", "pull_request", "refs/pull/7/merge", publishes=False))
    if trig.merge_queue:
        found.append(Event("merge queue group", "merge_group", "refs/heads/gh-readonly-queue/main/pr-7-<sha>",
                           publishes=False))
    if trig.manual:
        _, honoured, _ = ref_condition(trig.branches, trig.tags)
        ref = branches[0] if branches else "main"
        found.append(Event(f"manual run on {ref}, push ticked", "workflow_dispatch", f"refs/heads/{ref}",
                           publishes=filter_match(tuple(p for p in honoured if p in trig.branches), ref)))
        found.append(Event(f"manual run on {ref}, push unticked", "workflow_dispatch", f"refs/heads/{ref}",
                           publishes=False))
    return tuple(found)


def _fields(line: str) -> dict[str, str]:
    rule: dict[str, str] = {}
    for field in next(csv.reader([line], skipinitialspace=True)):
        key, sep, value = field.partition("=")
        rule[key.strip().lower() if sep else "value"] = value.strip() if sep else key.strip()
    return rule


def _lines(text: Value) -> list[str]:
    return [line.strip() for line in str(text).splitlines() if line.strip() and not line.strip().startswith("#")]


def _clean(value: str) -> str:
    """metadata-action's cleaning of a tag, the stand-ins for the sha and the date kept."""
    kept = _UNKNOWN.findall(value)
    parts = [re.sub(r"[^a-zA-Z0-9._-]+", "-", part) for part in _UNKNOWN.split(value)]
    return "".join(part + (kept[i] if i < len(kept) else "") for i, part in enumerate(parts))


def _render(value: str) -> str:
    """A value's handlebars as metadata-action renders them: `{{date 'FORMAT'}}` is the run's date, written
    <FORMAT>; any other is left as written, as before dates were modelled."""
    def one(m: re.Match[str]) -> str:
        date = re.fullmatch(r"date\s+'([^']*)'", m[1].strip())
        return f"<{date[1]}>" if date else m[0]

    return re.sub(r"\{\{(.*?)\}\}", one, value)


def enabled(text: str, event: Event, default: str) -> bool:
    """A rule's `enable=`: what GitHub makes of the expressions the generator writes (values.enable) before
    metadata-action reads it, then metadata-action's own `{{is_default_branch}}`."""
    text = text.strip()
    branch = re.fullmatch(r"\$\{\{ github\.ref == '([^']*)' \}\}", text)
    if branch:
        return event.ref == branch[1]
    if text in ("${{ github.ref_type == 'tag' }}", "${{ github.ref_type != 'tag' }}"):
        return event.ref.startswith("refs/tags/") == ("==" in text)
    if text == "${{ github.event_name == 'schedule' }}":
        return event.name == "schedule"
    if text == "{{is_default_branch}}":
        return event.ref == f"refs/heads/{default}"
    if text in ("true", "false"):
        return text == "true"
    raise ValueError(f"the tag model does not know enable={text}")


def _true(value: Value) -> bool:
    return str(value).strip().lower() == "true"


class _Meta:
    """metadata-action's tag computation, for the rule kinds the generator writes."""

    def __init__(self, event: Event, prefix: str, suffix: str, default: str) -> None:
        self.event, self.prefix, self.suffix, self.default = event, prefix, suffix, default
        self.versions: list[str] = []
        self.latest: bool | None = None

    def decorate(self, value: str, rule: dict[str, str]) -> str:
        return rule.get("prefix", self.prefix) + value + rule.get("suffix", self.suffix)

    def add(self, value: str, rule: dict[str, str], latest: bool) -> None:
        if value:
            self.versions.append(_clean(self.decorate(value, rule)))
            if self.latest is None:
                self.latest = latest

    def rule(self, rule: dict[str, str]) -> None:
        kind, ref = rule.get("type", "raw"), self.event.ref
        if not enabled(rule.get("enable", "true"), self.event, self.default):
            return
        if kind == "ref":
            event = rule.get("event", "")
            start = {"branch": "refs/heads/", "tag": "refs/tags/", "pr": "refs/pull/"}.get(event)
            if start is None:
                raise ValueError(f"the tag model does not know type=ref,event={event}")
            if event == "pr":
                rule.setdefault("prefix", "pr-")
            if ref.startswith(start):
                value = ref.removeprefix(start)
                self.add(value.removesuffix("/merge") if event == "pr" else value, rule, event == "tag")
        elif kind == "semver":
            self.semver(rule)
        elif kind == "raw":
            self.add(_render(rule.get("value", "")), rule, False)
        elif kind == "schedule":
            if self.event.name == "schedule":
                self.add(_render(rule.get("pattern", "nightly")), rule, False)
        elif kind == "sha":
            rule.setdefault("prefix", "sha-")
            self.add(FULL_SHA if rule.get("format") == "long" else SHA, rule, False)
        elif kind == "edge":
            if ref == f"refs/heads/{rule.get('branch') or self.default}":
                self.add("edge", rule, False)
        else:
            raise ValueError(f"the tag model does not know type={kind}")

    def semver(self, rule: dict[str, str]) -> None:
        if not self.event.ref.startswith("refs/tags/"):
            return
        raw = self.event.ref.removeprefix("refs/tags/")
        m = SEMVER.match(raw)
        if not m:
            return
        values = {"raw": raw, "version": f"{m[1]}.{m[2]}.{m[3]}" + (f"-{m[4]}" if m[4] else ""),
                  "major": m[1], "minor": m[2], "patch": m[3]}
        pattern = rule.get("pattern", "")
        if m[4] and not re.fullmatch(r"\{\{\s*raw\s*\}\}", pattern):
            pattern = "{{version}}"
        self.add(re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda x: values.get(x[1], ""), pattern), rule, not m[4])


def floating_rules(inputs: Mapping[str, Value], event: Event) -> list[str]:
    """The floating-tags step's rules on a version tag (it runs when the call has `semver` rules)."""
    if not event.ref.startswith("refs/tags/") or not str(inputs.get("semver", "")).strip():
        return []
    env = {"GITHUB_REF_NAME": event.ref.removeprefix("refs/tags/"), "GITHUB_REF_TYPE": "tag",
           "SEMVER_RULES": str(inputs["semver"]), "ALLOW_PRERELEASE_FLOATING": str(inputs.get("prerelease", ""))}
    with contextlib.redirect_stdout(io.StringIO()):  # the step's log
        decided = floating_decision(env, list(event.existing))  # type: ignore[no-untyped-call]  # the step's script
    return list(decided["tags"])


def arches(inputs: Mapping[str, Value]) -> list[str]:
    """The architectures per-arch tags name (per-arch-tags.sh: architecture and variant, arm64's v8 dropped)."""
    found = [Platform(*platform.strip().split("/")).arch for row in json.loads(str(inputs.get("legs", "[]")))
             for platform in str(row["platform"]).split(",")]
    return list(dict.fromkeys(found))


# What `written` reads of a call's inputs: calls that agree on these write the same tags (most of a spec's do).
_READ = ("tags", "semver", "prefix", "suffix", "prerelease", "per-arch-tags", "legs")


def written(inputs: Mapping[str, Value], event: Event, default: str = "main") -> tuple[str, ...]:
    """The tags (names, without the repository) the call with these inputs writes on the event; none when
    the run does not publish."""
    if not event.publishes:
        return ()
    legs = str(inputs.get("legs", "")) if _true(inputs.get("per-arch-tags", False)) else ""
    return _written((*(str(inputs.get(k, "")) for k in _READ[:-1]), legs), event, default)


@functools.lru_cache(maxsize=4096)
def _written(read: tuple[str, ...], event: Event, default: str) -> tuple[str, ...]:
    inputs = dict(zip(_READ, read, strict=True))
    floating = bool(str(inputs.get("semver", "")).strip())
    prefix, suffix = str(inputs.get("prefix", "")), str(inputs.get("suffix", ""))
    meta = _Meta(event, prefix, suffix, default)
    lines = _lines(inputs.get("tags", "")) + floating_rules(inputs, event)
    rules = sorted((_fields(line) for line in lines), key=lambda r: -PRIORITIES.get(r.get("type", "raw"), 0))
    for rule in rules:
        meta.rule(rule)
    tags = list(dict.fromkeys(meta.versions))
    if tags and meta.latest and not floating:  # latest=auto; with semver rules the flavor says latest=false
        tags.append(_clean(f"{prefix}latest{suffix}"))
    if _true(inputs.get("per-arch-tags", False)):
        tags += [f"{tag}-{arch}" for arch in arches(inputs) for tag in tags]
    return tuple(dict.fromkeys(tags))


def publishes_to(registry: Registry, event: Event, default: str = "main") -> bool:
    """Whether a publishing run of this event publishes to the registry (its `on:`; a secret that
    `skip-without-secret` looks at is taken to be set)."""
    if not event.publishes:
        return False
    if not registry.on:
        return True
    runs = {"tag": event.ref.startswith("refs/tags/"), "schedule": event.name == "schedule",
            "default-branch": event.ref == f"refs/heads/{default}"}
    return any(runs.get(on, event.ref == f"refs/heads/{on.removeprefix('branch ')}") for on in registry.on)


def registry_table(spec: Spec, calls: Mapping[str, Mapping[str, Value]]
                   ) -> Iterator[tuple[Event, str, Registry, tuple[str, ...]]]:
    """(event, build, registry, the tags it writes there) for every event, build and registry the event
    publishes to (`calls` as for table)."""
    default = default_branch(spec)
    for event in events(spec):
        for label, inputs in calls.items():
            tags = written(inputs, event, default)
            for registry in spec.registries:
                if publishes_to(registry, event, default):
                    yield event, label, registry, tags


def table(spec: Spec, calls: Mapping[str, Mapping[str, Value]]) -> Iterator[tuple[Event, str, tuple[str, ...]]]:
    """(event, build, its `repository:tag`s) for every event and build; `calls`: a name for each build ->
    its call's inputs, the engine's defaults included."""
    default = default_branch(spec)
    for event in events(spec):
        for label, inputs in calls.items():
            yield event, label, tuple(f"{inputs['repository']}:{tag}" for tag in written(inputs, event, default))
