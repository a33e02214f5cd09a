"""The spec made of what the workflows build: registries, triggers, images and variants, tag rules, with a
`# DECIDE:` comment wherever a human must choose, and the notes on what could not be carried."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from ..errors import printable
from ..platforms import hosted, parse_platform
from ..quoting import quote
from .model import Build, Finding, Note

SCHEMA_URL = "https://raw.githubusercontent.com/gen-workflows/gen-workflows/main/schemas/multiarch.schema.json"
_NAME = re.compile(r"[^a-z0-9]+")
_SEGMENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
SHORT_SEMVER = {"{{version}}": "version", "{{major}}.{{minor}}": "major.minor", "{{major}}": "major"}
_DATE = re.compile(r"\{\{\s*date\s+'([^']*)'\s*\}\}")
_SPEC_DATE = re.compile(r"^(?:YYYY|YY|MM|DD|HH|mm|ss|[._-])+$")
MAX_ENTRIES = 100  # the schema's bound on images, and on the variants of one
_RAW = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass
class Registry:
    kind: str
    host: str  # "" for the kind's own host
    namespace: str | None  # None: the repository owner (ghcr's default)
    username_secret: str = ""
    password_secret: str = ""
    role: str = ""
    region: str = ""


@dataclass
class Placed:
    """One build as the spec will hold it: its image and variant, and where it came from."""

    build: Build
    image: str
    variant: str
    repository: str
    rules: list[Any] = field(default_factory=list)


@dataclass
class Composed:
    text: str
    placed: list[Placed]
    notes: list[Note]
    files: list[str]  # workflow files --replace removes: every build they run is in the spec, nothing else
    sources: list[str]  # workflow files the spec's builds come from
    left_alone: list[str]  # workflow files that build no image


def slug(text: str) -> str:
    return _NAME.sub("-", text.lower()).strip("-")[:64] or "app"


def split_ref(ref: str, repo_name: str) -> tuple[Registry, str, str]:
    """(registry, repository path, a note) for an image reference."""
    ref = ref.replace("${{ github.repository }}", "${{ github.repository_owner }}/" + repo_name)
    first, _, rest = ref.partition("/")
    if not rest or not ("." in first or ":" in first or first == "localhost"):
        first, rest = "docker.io", ref
    host = first.lower()
    namespace, _, repository = rest.partition("/")
    repository = repository.lower()  # metadata-action lower-cases image names, as registries require
    note = ""
    if not repository:  # docker.io/library-style name, or a registry without namespaces
        namespace, repository = ("library", namespace) if host == "docker.io" else (namespace, "")
        note = "an image without a namespace"
    owner = namespace == "${{ github.repository_owner }}"
    if host == "ghcr.io":
        return Registry("ghcr", "", None if owner else namespace.lower()), repository, note
    if host in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return Registry("dockerhub", "", namespace), repository, note
    if re.fullmatch(r"[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com", host):
        return Registry("ecr", host, namespace), repository, note
    return Registry("generic", host, namespace), repository, note


def tag_rule(line: str) -> tuple[Any, str]:
    """A metadata-action line as a spec tag rule, or (None, why not)."""
    fields: dict[str, str] = {}
    for part in re.split(r",(?![^{]*\}\})", line):  # a comma inside ${{ }} is the expression's
        key, eq, value = part.strip().partition("=")
        fields[key.strip().lower() if eq else "value"] = value.strip() if eq else key.strip()
    kind = fields.get("type", "raw")
    enable = fields.get("enable", "")
    if "prefix" in fields or "suffix" in fields:
        return None, "a rule's own prefix or suffix; the spec decorates a build's tags with its variant's"
    if kind == "ref":
        event = fields.get("event", "")
        if event in ("branch", "tag", "pr") and not enable:
            return {"branch": "branch", "tag": "tag", "pr": "pr"}[event], ""
        return None, f"type=ref,event={event}{' with enable=' + enable if enable else ''}"
    if kind == "semver" and not enable:
        pattern = fields.get("pattern", "").replace(" ", "")
        return SHORT_SEMVER.get(pattern, {"semver": pattern}), ""
    if kind == "sha" and not enable:
        return ({"sha": "long"} if fields.get("format") == "long" else "sha"), ""
    if kind == "edge" and not enable:
        return ("edge", "") if not fields.get("branch") else (None, "edge for a branch other than the default")
    if kind == "schedule" and not enable:
        pattern = fields.get("pattern", "nightly")
        date = _DATE.fullmatch(pattern)
        if date and _SPEC_DATE.match(date[1]):
            return {"date": date[1], "on": "schedule"}, ""
        return ("schedule" if pattern == "nightly" else {"schedule": pattern}), ""
    if kind == "raw":
        value = fields.get("value", "")
        on = {"": "", "{{is_default_branch}}": "default-branch", "true": ""}.get(enable.replace(" ", ""))
        if on is None:
            return None, f"enable={enable}: a condition the spec cannot say"
        date = _DATE.fullmatch(value)
        if date and _SPEC_DATE.match(date[1]):
            return ({"date": date[1], "on": on} if on else {"date": date[1]}), ""
        if not _RAW.match(value):
            return None, f"the value {value} is not a fixed tag"
        return ({"raw": value, "on": on} if on else {"raw": value}), ""
    return None, f"type={kind}{' with enable=' + enable if enable else ''}: a rule the spec has no form for"


def compose(findings: list[Finding], repo_name: str, exists: Any) -> Composed:
    """The spec text for the findings. `exists(path)`: whether a path is in the repository."""
    notes = [n for f in findings for n in f.notes]
    builds: list[Build] = [b for f in findings for b in f.builds]
    left_alone = sorted(f.file for f in findings if not f.builds
                        and f.file not in {c for g in findings for c in g.called})
    registries: dict[tuple[str, str, str | None], Registry] = {}
    placed: list[Placed] = []
    usable: list[tuple[Build, str]] = []
    for build in builds:
        if not build.refs:
            notes.append(Note(build.file, build.line, build.column, "a build with no image name is left out",
                              "the import could not tell where it pushes"))
            continue
        problem = _paths_problem(build, exists)
        if problem:
            notes.append(Note(build.file, build.line, build.column, f"a build of {build.refs[0]} is left out",
                              problem))
            continue
        repos = []
        for ref in build.refs:
            registry, repository, note = split_ref(ref, repo_name)
            if note or not repository or not all(_SEGMENT.match(s) for s in repository.split("/")):
                notes.append(Note(build.file, build.line, build.column, f"the image {ref} is not carried",
                                  note or "its repository is not a name the spec accepts"))
                continue
            registries.setdefault((registry.kind, registry.host, registry.namespace), registry)
            repos.append(repository)
        if not repos:
            continue
        if len(set(repos)) > 1:
            notes.append(Note(build.file, build.line, build.column, "the image has a different name in each registry",
                              f"the spec uses {repos[0]} in every registry"))
        usable.append((build, repos[0]))
    _secrets(findings, registries, notes)
    by_repo: dict[str, list[Build]] = {}
    for build, repository in usable:
        by_repo.setdefault(repository, []).append(build)
    taken: set[str] = set()
    for repository, group in by_repo.items():
        if len(taken) >= MAX_ENTRIES:
            notes += [Note(b.file, b.line, b.column, f"a build of {b.refs[0]} is left out",
                           f"a spec holds at most {MAX_ENTRIES} images") for b in group]
            continue
        name = slug(repository.rsplit("/", 1)[-1])
        base, n = name, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        taken.add(name)
        if len(group) == 1:
            placed.append(Placed(group[0], name, "", repository))
            continue
        seen: dict[tuple[str, str], Build] = {}
        for build in group:
            key = (build.prefix, build.suffix)
            if key in seen:
                notes.append(Note(build.file, build.line, build.column,
                                  f"a second build writes the tags of {repository}",
                                  f"{seen[key].where} writes the same tags; the spec keeps the first"))
                continue
            if len(seen) >= MAX_ENTRIES:
                notes.append(Note(build.file, build.line, build.column, f"a build of {build.refs[0]} is left out",
                                  f"an image holds at most {MAX_ENTRIES} variants"))
                continue
            seen[key] = build
            label = slug(build.label or (build.prefix + build.suffix).strip("-_.") or "default")
            variant, n = label, 2
            while any(p.image == name and p.variant == variant for p in placed):
                variant, n = f"{label}-{n}", n + 1
            placed.append(Placed(build, name, variant, repository))
    for item in placed:
        for line in item.build.tag_lines:
            rule, why = tag_rule(line)
            if rule is None:
                file, at_line, at_col = item.build.tag_places.get(line) or item.build.tags_at or \
                    (item.build.file, item.build.line, item.build.column)
                notes.append(Note(file, at_line, at_col, f"the tag rule `{line}` is not carried", why))
            elif rule not in item.rules:
                item.rules.append(rule)
        if not item.rules:
            item.rules.append("sha")
            notes.append(Note(item.build.file, item.build.line, item.build.column,
                              f"no tag rule of {item.repository} could be carried", "the spec tags sha-<sha> for now"))
        if (item.build.prefix or item.build.suffix) and not item.build.onlatest and item.build.latest != "false":
            notes.append(Note(item.build.file, item.build.line, item.build.column,
                              f"`latest` becomes {item.build.prefix}latest{item.build.suffix}",
                              "without flavor onlatest=true metadata-action writes a bare latest for every "
                              "variant; the spec decorates latest like the variant's other tags"))
        if item.build.latest == "false" and any(r in ("tag",) for r in item.rules):
            notes.append(Note(item.build.file, item.build.line, item.build.column, "flavor latest=false is not carried",
                              "the spec's `tag` rule moves latest, as metadata-action's latest=auto does"))
    files = _replaceable(findings, placed, notes)
    text = _text(findings, list(registries.values()), placed, notes)
    sources = sorted({p.build.caller or p.build.file for p in placed} | {p.build.file for p in placed})
    return Composed(text, placed, sorted(set(notes)), files, sources, left_alone)


def _replaceable(findings: list[Finding], placed: list[Placed], notes: list[Note]) -> list[str]:
    """The workflows `--replace` may remove: every build they run is in the spec and they run nothing else
    (a test job beside the image's would go with them)."""
    carried = {id(p.build) for p in placed}
    files: list[str] = []
    for finding in findings:
        if not finding.builds:
            continue
        if not all(id(b) in carried for b in finding.builds):
            notes.append(Note(finding.file, 1, 1, "--replace keeps this workflow",
                              "not every build it runs is in the spec"))
            continue
        if finding.other_jobs:
            job, line, column = finding.other_jobs[0]
            notes.append(Note(finding.file, line, column, f"--replace keeps this workflow: job `{job}` builds no image",
                              "remove its image jobs by hand once the new workflows run"))
            continue
        if finding.extra_steps:
            what, line, column = finding.extra_steps[0]
            notes.append(Note(finding.file, line, column, f"--replace keeps this workflow: {what} is not carried",
                              "remove its image jobs by hand once the new workflows run"))
            continue
        files += [finding.file, *finding.called]
    return sorted(set(files))


def _paths_problem(build: Build, exists: Any) -> str:
    for path, what in ((build.context, "context"), (build.dockerfile or str(PurePosixPath(build.context) /
                                                                              "Dockerfile"), "Dockerfile")):
        if "${{" in path or path.startswith("/") or ".." in PurePosixPath(path).parts:
            return f"its {what} {path} is not a path in the repository"
        if not exists(path, what == "context"):
            return f"its {what} {path} does not exist"
    return ""


def _secrets(findings: list[Finding], registries: dict[Any, Registry], notes: list[Note]) -> None:
    logins = [login for f in findings for login in f.logins]
    ecr = next((f.ecr for f in findings if f.ecr), {})
    for registry in registries.values():
        host = {"ghcr": "ghcr.io", "dockerhub": "docker.io"}.get(registry.kind, registry.host)
        login = next((x for x in logins if x.host.lower() in (host, f"https://{host}")
                      or (registry.kind == "dockerhub" and x.host in ("", "docker.io", "index.docker.io"))), None)
        if registry.kind == "ecr":
            registry.role, registry.region = ecr.get("role", ""), ecr.get("region", "")
            continue
        if registry.kind == "ghcr":
            continue
        if login is not None:
            registry.username_secret = login.username_secret
            registry.password_secret = login.password_secret


def _registry_lines(registry: Registry) -> list[str]:
    lines = [f"  - type: {registry.kind}"]
    if registry.host:
        lines.append(f"    host: {quote(registry.host)}")
    if registry.namespace is not None:
        lines.append(f"    namespace: {quote(registry.namespace)}")
    defaults = {"dockerhub": ("DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN")}.get(registry.kind, ("", ""))
    if registry.kind in ("dockerhub", "generic", "acr", "gar"):
        if registry.username_secret and registry.username_secret != defaults[0]:
            lines.append(f"    username-secret: {registry.username_secret}")
        if registry.password_secret and registry.password_secret != defaults[1]:
            lines.append(f"    password-secret: {registry.password_secret}")
        if registry.kind == "generic" and not (registry.username_secret and registry.password_secret):
            lines.append("    # DECIDE: the secrets holding this registry's user name and password")
            lines.append("    username-secret: REGISTRY_USERNAME")
            lines.append("    password-secret: REGISTRY_PASSWORD")
    if registry.kind == "ecr":
        if not registry.role or "${{" in registry.role or not registry.region or "${{" in registry.region:
            lines.append("    # DECIDE: the IAM role and region the workflow assumes through OIDC")
        unknown_role = "arn:aws:iam::123456789012:role/DECIDE"
        role = registry.role if registry.role and "${{" not in registry.role else unknown_role
        region = registry.region if registry.region and "${{" not in registry.region else "us-east-1"
        lines += [f"    role: {quote(role)}", f"    region: {quote(region)}"]
    return lines


def _block(key: str, items: list[str], pad: str) -> list[str]:
    """A list one item a line: an item the spec refuses is then commented out alone (see `import_spec`)."""
    if not items:
        return [f"{pad}{key}: []"]
    return [f"{pad}{key}:", *(f"{pad}  - {quote(i)}" for i in items)]


def _flow(items: list[str]) -> str:
    return "[" + ", ".join(quote(i, flow=True) for i in items) + "]"


def _rule_text(rule: Any) -> str:
    if isinstance(rule, str):
        return rule
    return "{" + ", ".join(f"{quote(str(k), flow=True)}: {quote(str(v), flow=True)}" for k, v in rule.items()) + "}"


def _triggers(findings: list[Finding], notes: list[Note]) -> list[str]:
    triggers = [f.triggers for f in findings if f.triggers is not None and (f.builds or f.called)]
    if not triggers:
        return []
    first = triggers[0]
    branches = list(dict.fromkeys(b for t in triggers for b in t.branches))
    tags = list(dict.fromkeys(x for t in triggers for x in t.tags))
    schedule = list(dict.fromkeys(x for t in triggers for x in t.schedule))
    for other in triggers[1:]:
        if (other.branches, other.tags, other.pull_requests, other.manual, other.releases) != \
                (first.branches, first.tags, first.pull_requests, first.manual, first.releases):
            notes.append(Note(other.file, 1, 1, f"its triggers differ from {first.file}'s",
                              "the spec has one set of triggers for every image: the union is kept"))
    lines = ["triggers:", f"  # from {first.file}:{first.line}:{first.column}",
             *_block("branches", branches, "  "), *_block("tags", tags, "  "),
             f"  pull-requests: {'true' if any(t.pull_requests for t in triggers) else 'false'}",
             f"  manual: {'true' if any(t.manual for t in triggers) else 'false'}"]
    if any(t.releases for t in triggers):
        lines.append("  releases: true")
    if schedule:
        lines += _block("schedule", schedule, "  ")
    return lines


def _text(findings: list[Finding], registries: list[Registry], placed: list[Placed], notes: list[Note]) -> str:
    sources = sorted({p.build.caller or p.build.file for p in placed} | {p.build.file for p in placed})
    out = [f"# yaml-language-server: $schema={SCHEMA_URL}",
           "# Made by `gen-workflows import` from " + ", ".join(sources) + ".",
           "# Lines marked DECIDE need a human. `gen-workflows plan` compares the old and the new workflows;",
           "# `gen-workflows --replace` writes the new ones and removes the old.",
           "version: 1", ""]
    if registries:
        first = placed[0].build if placed else None
        out += ["registries:", *([f"  # from {first.where}"] if first else []),
                *[line for r in registries for line in _registry_lines(r)], ""]
    trig = _triggers(findings, notes)
    if trig:
        out += [*trig, ""]
    out.append("images:")
    said: set[Note] = set()
    images: dict[str, list[Placed]] = {}
    for item in placed:
        images.setdefault(item.image, []).append(item)
    paths_of = {f.file: f.triggers.paths for f in findings if f.triggers is not None}
    for name, items in images.items():
        head = items[0]
        b = head.build
        out.append(f"  # from {b.where} ({b.how})")
        for note in _notes_for(b, notes, said):
            out.append(f"  # DECIDE: {_comment(note.render())}")
        if len(items) > 1 or head.variant:
            ordered = sorted(items, key=lambda p: (bool(p.build.prefix or p.build.suffix), p.variant))
            head = ordered[0]
            b = head.build
        out.append(f"  {name}:")
        if head.repository != name:
            out.append(f"    repository: {quote(head.repository)}")
        out += _build_lines(b, head, None, "    ")
        paths = paths_of.get(b.caller or b.file) or []
        if paths:
            out += _block("paths", paths, "    ")
        if len(items) > 1:
            out.append("    variants:")
            for item in sorted(items, key=lambda p: p.variant):
                body = _build_lines(item.build, item, head, "        ")
                if item.build.prefix:
                    body.append(f"        prefix: {quote(item.build.prefix)}")
                if item.build.suffix:
                    body.append(f"        suffix: {quote(item.build.suffix)}")
                if item is head:
                    body.append("        primary: true")
                out.append(f"      {quote(item.variant)}:" + ("" if body else " {}"))
                out += body
    return "\n".join(out) + "\n"


def _notes_for(build: Build, notes: list[Note], said: set[Note]) -> list[Note]:
    """What was not carried from the workflow this build comes from, each said above one image only."""
    files = {build.file, build.caller} - {""}
    mine = sorted(n for n in set(notes) if n.file in files and n not in said and "left out" not in n.what)
    said.update(mine)
    return mine


def _comment(text: str) -> str:
    return " ".join(text.split())


def _build_lines(b: Build, item: Placed, base: Placed | None, pad: str) -> list[str]:
    """The keys of one build; for a variant (`base` set) only those that differ from the image's."""
    def differs(attr: str) -> bool:
        return base is None or getattr(base.build, attr) != getattr(b, attr)

    lines = []
    if differs("context") and (b.context != "." or base is not None):
        lines.append(f"{pad}context: {quote(b.context)}")
    default = str(PurePosixPath(b.context) / "Dockerfile")
    if b.dockerfile and b.dockerfile != default and (differs("dockerfile") or differs("context")):
        lines.append(f"{pad}dockerfile: {quote(b.dockerfile)}")
    if b.target and differs("target"):
        lines.append(f"{pad}target: {quote(b.target)}")
    if b.build_args and differs("build_args"):
        lines.append(f"{pad}build-args:")
        lines += [f"{pad}  {quote(k)}: {quote(v)}" for k, v in b.build_args.items()]
    platforms = [p.name for p in (parse_platform(x) for x in b.platforms) if p]
    if differs("platforms"):
        lines.append(f"{pad}platforms: {_flow(platforms)}")
        unknown = [x for x in b.platforms if parse_platform(x) is None]
        if unknown:
            lines.insert(-1, f"{pad}# DECIDE: {_comment(printable(', '.join(unknown)))} left out: not a platform the "
                             "spec knows")  # a value of the workflow's: one line, whatever it holds
    if differs("strategy"):
        lines.append(f"{pad}strategy: {b.strategy}  # the old workflow's ({b.how}); `auto` would read the Dockerfile")
    runners = {p: label for p, label in b.runners.items() if parse_platform(p) and label and
               not hosted(tuple(label.split(","))) and "${{" not in label}
    if runners and b.strategy == "native" and differs("runners"):
        lines.append(f"{pad}runners:")
        for platform, label in runners.items():
            labels = label.split(",")
            value = quote(labels[0]) if len(labels) == 1 else _flow(labels)
            lines.append(f"{pad}  {quote(parse_platform(platform).name)}: {value}")  # type: ignore[union-attr]
    if differs("cache") and (b.cache != "gha" or base is not None):
        lines.append(f"{pad}cache: {b.cache}")
    if b.provenance and differs("provenance"):
        lines.append(f"{pad}provenance: {quote(b.provenance)}")
    for attr, key in (("sbom", "sbom"), ("sign", "sign"), ("attest", "attest")):
        if getattr(b, attr) and differs(attr):
            lines.append(f"{pad}{key}: true")
    if base is None or base.rules != item.rules:
        lines.append(f"{pad}tags: [{', '.join(_rule_text(r) for r in item.rules)}]")
    return lines
