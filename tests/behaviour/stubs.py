"""Stand-ins for the pinned actions, run by act as local composite actions (see harness.write_stubs).

Each stub gets exactly the inputs the real action declares (generator/data/action-io.toml) and does
what the real action does to the world the checks look at: metadata-action computes tags from the
rules for the event as docker/metadata-action v6 does (src/meta.ts, src/tag.ts, src/flavor.ts at the
pinned commit), build-push-action builds into the registry model (model.py) and pushes by digest or
with tags, the login actions record logins, the artifact actions move files between jobs. They refuse
what the real ones refuse (a push without a login, tags on a push by digest, a base image that is
not in the registry), so a workflow that only works against an agreeable fake fails here.

Served by server.py: `main(<owner/name>)` with STUB_INPUTS (the inputs as JSON) in the step's
environment.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import glob
import hashlib
import json
import os
import re
import secrets
import shutil
import tomllib
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import model

ACTION_IO = Path(__file__).resolve().parents[2] / "generator/data/action-io.toml"


# ------------------------------------------------------------------------------------------- I/O


def set_output(name: str, value: str) -> None:
    _append_file("GITHUB_OUTPUT", name, value)


def export_env(name: str, value: str) -> None:
    _append_file("GITHUB_ENV", name, value)


def _append_file(var: str, name: str, value: str) -> None:
    eof = f"EOF_{secrets.token_hex(8)}"
    with open(model.env()[var], "a", encoding="utf-8") as f:
        f.write(f"{name}<<{eof}\n{value}\n{eof}\n")


def input_list(value: str, *, ignore_comma: bool = False, comments: bool = False) -> list[str]:
    """@docker/actions-toolkit Util.getInputList: one item per line and, unless ignore_comma, per
    comma outside quotes; items trimmed, empty ones dropped."""
    items: list[str] = []
    for line in value.splitlines():
        if comments and line.strip().startswith("#"):
            continue
        if ignore_comma:
            items.append(line.strip())
        else:
            for row in csv.reader([line], skipinitialspace=True):
                items.extend(cell.strip() for cell in row)
    return [item for item in items if item]


def as_bool(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes")


def event_payload() -> dict[str, Any]:
    path = model.env().get("GITHUB_EVENT_PATH", "")
    return json.loads(Path(path).read_text()) if path and Path(path).exists() else {}


# ----------------------------------------------------------------------------------------- logins


def login_action(inputs: dict[str, str]) -> None:
    registry = inputs.get("registry", "").strip() or "docker.io"
    host = model.registry_host(registry + "/x") if "/" not in registry else model.registry_host(registry)
    model.record("login", action="docker/login-action", registry=host, username=inputs.get("username", ""),
                 password=inputs.get("password", ""))
    if not inputs.get("username") or not inputs.get("password"):
        # What login-action says when a fork's pull request (no secrets) reaches it.
        model.fail("Username and password required")
    model.add_login(host)
    model.out(f"Login Succeeded! ({host})")


def configure_aws_credentials(inputs: dict[str, str]) -> None:
    model.record("login", action="aws-actions/configure-aws-credentials", registry="aws",
                 role=inputs.get("role-to-assume", ""), region=inputs.get("aws-region", ""))
    role = inputs.get("role-to-assume", "")
    if role and not inputs.get("aws-access-key-id") and model.job_permissions().get("id-token") != "write":
        model.fail("Could not assume role with OIDC: no ACTIONS_ID_TOKEN_REQUEST_URL (id-token: write missing)")
    match = re.match(r"arn:aws:iam::([0-9]{12}):role/", role)
    account = match[1] if match else "000000000000"
    with model.registry() as reg:
        reg.setdefault("aws", {})[model.runner_key()] = {"account": account, "region": inputs["aws-region"]}
    export_env("AWS_REGION", inputs["aws-region"])
    export_env("AWS_DEFAULT_REGION", inputs["aws-region"])
    set_output("aws-account-id", account)


def amazon_ecr_login(inputs: dict[str, str]) -> None:
    with model.registry() as reg:
        aws = reg.get("aws", {}).get(model.runner_key())
    model.record("login", action="aws-actions/amazon-ecr-login", registry="ecr")
    if not aws:
        model.fail("Could not load credentials from any providers")
    registries = input_list(inputs.get("registries", "")) or [aws["account"]]
    hosts = [f"{account}.dkr.ecr.{aws['region']}.amazonaws.com" for account in registries]
    for host in hosts:
        model.add_login(host)
    set_output("registry", ",".join(hosts))


def _oidc_token(action: str) -> None:
    """What an OIDC login gets without id-token: write: no ACTIONS_ID_TOKEN_REQUEST_URL to ask."""
    if model.job_permissions().get("id-token") != "write":
        model.fail(f"{action}: unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable (id-token: write missing)")


def google_auth(inputs: dict[str, str]) -> None:
    """google-github-actions/auth through workload identity federation: an access token for the service
    account, when asked for one."""
    model.record("login", action="google-github-actions/auth", registry="gcp",
                 provider=inputs.get("workload_identity_provider", ""), account=inputs.get("service_account", ""))
    if not inputs.get("workload_identity_provider") or not inputs.get("service_account"):
        model.fail("the auth model implements workload identity federation with a service account only")
    _oidc_token("google-github-actions/auth")
    if inputs.get("token_format") == "access_token":
        set_output("access_token", f"ya29.model-{secrets.token_hex(8)}")


def azure_login(inputs: dict[str, str]) -> None:
    """azure/login through OIDC (a federated credential): an Azure CLI session on this runner."""
    model.record("login", action="azure/login", registry="azure", client=inputs.get("client-id", ""))
    if not all(inputs.get(k) for k in ("client-id", "tenant-id", "subscription-id")):
        model.fail("the azure/login model implements OIDC with client-id, tenant-id and subscription-id only")
    _oidc_token("azure/login")
    with model.registry() as reg:
        reg.setdefault("azure", {})[model.runner_key()] = inputs["subscription-id"]


# ---------------------------------------------------------------------------------------- metadata

SEMVER = re.compile(
    r"^[v=\s]*(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][a-zA-Z0-9-]*))*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
PRIORITIES = {"schedule": 1000, "semver": 900, "pep440": 900, "match": 800, "edge": 700, "ref": 600,
              "raw": 200, "sha": 100}
MUSTACHE = re.compile(r"\{\{\s*([A-Za-z_]+)((?:\s+[^}]*)?)\}\}")


def moment_format(fmt: str, when: datetime) -> str:
    """The moment.js tokens tag patterns use ({{date 'YYYYMMDD'}})."""
    tokens = {"YYYY": "%Y", "YY": "%y", "MM": "%m", "DD": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
    out, i = "", 0
    while i < len(fmt):
        for token, code in tokens.items():
            if fmt.startswith(token, i):
                out += when.strftime(code)
                i += len(token)
                break
        else:
            out += fmt[i]
            i += 1
    return out


def render(template: str, values: dict[str, Any], when: datetime) -> str:
    """Handlebars as metadata-action uses it: {{name}} and {{date 'format'}}; unknown names render
    empty, as handlebars does."""

    def one(m: re.Match[str]) -> str:
        name, args = m[1], m[2].strip()
        if name in ("date", "commit_date"):
            fmt = re.match(r"""['"]([^'"]*)['"]""", args)
            return moment_format(fmt[1] if fmt else "", when)
        value = values.get(name, "")
        value = value() if callable(value) else value
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return str(value)

    return MUSTACHE.sub(one, template)


def parse_tag_rule(text: str) -> dict[str, str]:
    fields = next(csv.reader([text], skipinitialspace=True))
    rule: dict[str, str] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep:
            rule["value"] = key.strip()
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "type":
            if value not in PRIORITIES:
                model.fail(f"Unknown tag type attribute: {value}")
            rule["type"] = value
        else:
            rule[key] = value
    kind = rule.setdefault("type", "raw")
    if kind == "schedule":
        rule.setdefault("pattern", "nightly")
    elif kind in ("semver", "pep440"):
        if "pattern" not in rule:
            model.fail(f"Missing pattern attribute for {text}")
        rule.setdefault("value", "")
        rule.setdefault("match", "")
    elif kind == "match":
        if "pattern" not in rule:
            model.fail(f"Missing pattern attribute for {text}")
        rule.setdefault("group", "0")
        rule.setdefault("value", "")
    elif kind == "edge":
        rule.setdefault("branch", "")
    elif kind == "ref":
        if rule.get("event") not in ("branch", "tag", "pr"):
            model.fail(f"Invalid event for {text}")
        if rule["event"] == "pr":
            rule.setdefault("prefix", "pr-")
    elif kind == "raw":
        if "value" not in rule:
            model.fail(f"Missing value attribute for {text}")
    elif kind == "sha":
        rule.setdefault("prefix", "sha-")
        rule.setdefault("format", "short")
    rule.setdefault("enable", "true")
    rule.setdefault("priority", str(PRIORITIES[kind]))
    return rule


def parse_flavor(lines: list[str]) -> dict[str, Any]:
    flavor: dict[str, Any] = {"latest": "auto", "prefix": "", "prefixLatest": False, "suffix": "",
                              "suffixLatest": False}
    for line in lines:
        onlatest_for = ""
        for field in next(csv.reader([line], skipinitialspace=True)):
            key, sep, value = (part.strip() for part in field.partition("="))
            if not sep:
                model.fail(f"Invalid flavor entry: {line}")
            key = key.lower()
            if key == "latest":
                if value not in ("auto", "true", "false"):
                    model.fail(f"Invalid latest flavor entry: {line}")
                flavor["latest"] = value
            elif key in ("prefix", "suffix"):
                flavor[key] = value
                onlatest_for = key
            elif key == "onlatest":
                if onlatest_for:
                    flavor[f"{onlatest_for}Latest"] = value == "true"
            else:
                model.fail(f"Unknown flavor entry: {line}")
    return flavor


class Meta:
    """docker/metadata-action's Meta: the version (main, partials, latest) from the tag rules."""

    def __init__(self, inputs: dict[str, str]) -> None:
        self.event = model.env().get("GITHUB_EVENT_NAME", "")
        self.ref = model.env().get("GITHUB_REF", "")
        self.sha = model.env().get("GITHUB_SHA", "")
        self.payload = event_payload()
        self.when = datetime.now(UTC)
        self.flavor = parse_flavor(input_list(inputs.get("flavor", ""), ignore_comma=True, comments=True))
        rules = input_list(inputs.get("tags", ""), ignore_comma=True, comments=True) or [
            "type=schedule", "type=ref,event=branch", "type=ref,event=tag", "type=ref,event=pr"]
        # A stable sort by priority, highest first (Array.prototype.sort is stable in Node).
        self.rules = sorted((parse_tag_rule(r) for r in rules), key=lambda r: -int(r["priority"]))
        self.main: str | None = None
        self.partial: list[str] = []
        self.latest: bool | None = None
        for rule in self.rules:
            enabled = self.global_exp(rule["enable"])
            if enabled not in ("true", "false"):
                model.fail(f"Invalid value for enable attribute: {enabled}")
            if enabled == "true":
                self.process(rule)
        self.partial = list(dict.fromkeys(self.partial))
        self.latest = bool(self.latest)

    def branch(self) -> str:
        return self.ref.removeprefix("refs/heads/") if self.ref.startswith("refs/heads/") else ""

    def tag(self) -> str:
        return self.ref.removeprefix("refs/tags/") if self.ref.startswith("refs/tags/") else ""

    def is_default_branch(self) -> str:
        branch = self.ref.removeprefix("refs/heads/")
        if not branch:
            return "false"
        if (self.payload.get("repository") or {}).get("default_branch") == branch:
            return "true"
        return "true" if re.search("create|discussion|issues|schedule", self.event) else "false"

    def global_exp(self, text: str) -> str:
        pr_base = ((self.payload.get("pull_request") or {}).get("base") or {}).get("ref", "")
        values = {
            "branch": self.branch, "tag": self.tag, "sha": lambda: self.sha[:7],
            "base_ref": lambda: pr_base if self.ref.startswith("refs/pull/") else "",
            "is_default_branch": self.is_default_branch,
            "is_not_default_branch": lambda: "false" if self.is_default_branch() == "true" else "true",
        }
        return render(text, values, self.when)

    def latest_for(self, auto: bool) -> bool:
        return auto if self.flavor["latest"] == "auto" else self.flavor["latest"] == "true"

    def set_value(self, value: str, rule: dict[str, str]) -> str:
        if "prefix" in rule:
            value = self.global_exp(rule["prefix"]) + value
        elif self.flavor["prefix"]:
            value = self.global_exp(self.flavor["prefix"]) + value
        if "suffix" in rule:
            value = value + self.global_exp(rule["suffix"])
        elif self.flavor["suffix"]:
            value = value + self.global_exp(self.flavor["suffix"])
        return value

    def set_version(self, value: str, latest: bool) -> None:
        if not value:
            return
        value = re.sub(r"[^a-zA-Z0-9._-]+", "-", value)
        if self.main is None:
            self.main = value
        elif value != self.main:
            self.partial.append(value)
        if self.latest is None:
            self.latest = latest

    def process(self, rule: dict[str, str]) -> None:
        kind = rule["type"]
        if kind == "schedule":
            if "schedule" in self.event:
                value = self.set_value(render(rule["pattern"], {}, self.when), rule)
                self.set_version(value, self.latest_for(False))
        elif kind == "semver":
            self.semver(rule)
        elif kind == "match":
            self.match(rule)
        elif kind == "ref":
            prefix = {"branch": "refs/heads/", "tag": "refs/tags/", "pr": "refs/pull/"}[rule["event"]]
            if self.ref.startswith(prefix):
                raw = self.ref.removeprefix(prefix)
                raw = re.sub(r"/merge$", "", raw) if rule["event"] == "pr" else raw
                self.set_version(self.set_value(raw, rule), self.latest_for(rule["event"] == "tag"))
        elif kind == "edge":
            branch = self.branch()
            wanted = rule["branch"] or (self.payload.get("repository") or {}).get("default_branch", "")
            if branch and branch == wanted:
                self.set_version(self.set_value("edge", rule), self.latest_for(False))
        elif kind == "raw":
            self.set_version(self.set_value(self.global_exp(rule["value"]), rule), self.latest_for(False))
        elif kind == "sha":
            if self.sha:
                value = self.sha if rule["format"] == "long" else self.sha[:7]
                self.set_version(self.set_value(value, rule), self.latest_for(False))
        else:
            model.fail(f"the metadata-action model does not implement type={kind}")

    def semver(self, rule: dict[str, str]) -> None:
        if not self.ref.startswith("refs/tags/") and not rule["value"]:
            return
        raw = self.global_exp(rule["value"]) if rule["value"] else self.ref.removeprefix("refs/tags/")
        if rule["match"]:
            m = re.search(rule["match"], raw)
            if m:
                raw = m[1]
        raw = raw.replace("/", "-")
        m = SEMVER.match(raw)
        if not m:
            model.out(f"::warning::{raw} is not a valid semver. More info: https://semver.org/")
            return
        version = f"{int(m[1])}.{int(m[2])}.{int(m[3])}" + (f"-{m[4]}" if m[4] else "")
        values = {"raw": raw, "version": version, "major": int(m[1]), "minor": int(m[2]), "patch": int(m[3]),
                  "prerelease": m[4].split(".") if m[4] else [], "build": m[5].split(".") if m[5] else []}
        if m[4]:
            pattern = rule["pattern"] if re.fullmatch(r"\{\{\s*raw\s*\}\}", rule["pattern"]) else "{{version}}"
            self.set_version(self.set_value(render(pattern, values, self.when), rule), self.latest_for(False))
        else:
            self.set_version(self.set_value(render(rule["pattern"], values, self.when), rule), self.latest_for(True))

    def match(self, rule: dict[str, str]) -> None:
        if not self.ref.startswith("refs/tags/") and not rule["value"]:
            return
        raw = self.global_exp(rule["value"]) if rule["value"] else self.ref.removeprefix("refs/tags/")
        pattern = rule["pattern"]
        regex = re.fullmatch(r"/(.+)/(.*)", pattern)
        m = re.search(regex[1], raw, re.I if "i" in regex[2] else 0) if regex else re.search(pattern, raw)
        group = int(rule["group"])
        if not m or group > (m.re.groups or 0) or m[group] is None:
            return
        self.set_version(self.set_value(m[group], rule), self.latest_for(True))

    def tags(self, images: list[str], names_only: bool = False) -> list[str]:
        if not self.main:
            return []
        versions = [self.main, *self.partial]
        if self.latest:
            latest = (self.flavor["prefix"] if self.flavor["prefixLatest"] else "") + "latest"
            latest += self.flavor["suffix"] if self.flavor["suffixLatest"] else ""
            versions.append(re.sub(r"[^a-zA-Z0-9._-]+", "-", latest))
        if names_only or not images:
            return versions
        return [f"{image}:{v}" for image in images for v in versions]

    def oci(self, extra: list[str]) -> list[str]:
        repo = model.env().get("GITHUB_REPOSITORY", "")
        url = f"{model.env().get('GITHUB_SERVER_URL', 'https://github.com')}/{repo}"
        pairs = {
            "org.opencontainers.image.title": repo.split("/")[-1],
            "org.opencontainers.image.description": "",
            "org.opencontainers.image.url": url,
            "org.opencontainers.image.source": url,
            "org.opencontainers.image.version": self.main or "",
            "org.opencontainers.image.created": self.when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "org.opencontainers.image.revision": self.sha,
            "org.opencontainers.image.licenses": "",
        }
        for item in extra:
            key, sep, value = self.global_exp(item).partition("=")
            if sep:
                pairs[key] = value
        return [f"{k}={v}" for k, v in sorted(pairs.items())]


def image_names(lines: list[str]) -> list[str]:
    """metadata-action's images input: one per line (or comma-separated on a single line), with
    optional name=/enable= attributes; names lower-cased."""
    if len(lines) == 1 and "=" not in lines[0]:
        lines = [x.strip() for x in lines[0].split(",") if x.strip()]
    names = []
    for line in lines:
        name, enable = "", True
        for field in next(csv.reader([line], skipinitialspace=True)):
            key, sep, value = (x.strip() for x in field.partition("="))
            if not sep:
                name = key
            elif key.lower() == "name":
                name = value
            elif key.lower() == "enable":
                enable = value == "true"
            else:
                model.fail(f"Unknown image attribute: {line}")
        if enable:
            names.append(name.lower())
    return names


def metadata_action(inputs: dict[str, str]) -> None:
    if (inputs.get("context") or "workflow") != "workflow":
        model.fail("the metadata-action model implements context=workflow only")
    meta = Meta(inputs)
    images = image_names(input_list(inputs.get("images", ""), ignore_comma=True, comments=True))
    tags = meta.tags(images)
    labels = meta.oci(input_list(inputs.get("labels", ""), ignore_comma=True, comments=True))
    levels = (model.env().get("DOCKER_METADATA_ANNOTATIONS_LEVELS") or "manifest").split(",")
    raw_annotations = meta.oci(input_list(inputs.get("annotations", ""), ignore_comma=True, comments=True))
    annotations = [f"{level}:{a}" for level in levels for a in raw_annotations]
    outputs = {
        "version": meta.main or "",
        "tags": (inputs.get("sep-tags") or "\n").join(tags),
        "tag-names": (inputs.get("sep-tags") or "\n").join(meta.tags(images, names_only=True)),
        "labels": (inputs.get("sep-labels") or "\n").join(labels),
        "annotations": (inputs.get("sep-annotations") or "\n").join(annotations),
        "json": json.dumps({"tags": tags, "tag-names": meta.tags(images, names_only=True),
                            "labels": dict(label.split("=", 1) for label in labels), "annotations": annotations}),
    }
    bake = Path(model.env().get("RUNNER_TEMP", "/tmp")) / f"docker-metadata-action-bake-{uuid.uuid4().hex[:6]}.json"
    bake.write_text(json.dumps({"target": {"docker-metadata-action": {"tags": tags}}}))
    for name in ("bake-file-tags", "bake-file-labels", "bake-file-annotations", "bake-file"):
        outputs[name] = str(bake)
    model.record("metadata", images=images, rules=meta.rules, flavor=meta.flavor, tags=tags,
                 version=meta.main or "", ref=meta.ref)
    if not tags:
        model.out("::warning::No Docker tag has been generated. Check tags input.")
    env_too = model.env().get("DOCKER_METADATA_SET_OUTPUT_ENV", "true").strip().lower() not in ("false", "0")
    for name, value in outputs.items():
        set_output(name, value)
        if env_too:
            export_env("DOCKER_METADATA_OUTPUT_" + re.sub(r"\W", "_", name).upper(), value)
    model.out("\n".join(tags))


# ------------------------------------------------------------------------------------------- build

IMAGE_REF = re.compile(
    r"^(?:docker-image://)?([a-z0-9][a-z0-9.-]*\.[a-z]+(?::[0-9]+)?/[a-z0-9._/-]+)(?::([\w.-]+))?(@sha256:[0-9a-f]{64})?$")


def exporters(inputs: dict[str, str], tags: list[str]) -> list[dict[str, Any]]:
    """buildx's outputs: the `outputs` entries, plus --push (type=registry) and --load (type=docker)."""
    out = []
    for spec in input_list(inputs.get("outputs", ""), ignore_comma=True):
        attrs: dict[str, Any] = {}
        for field in next(csv.reader([spec])):
            key, _, value = field.partition("=")
            attrs[key.strip()] = value.strip()
        kind = attrs.get("type", "")
        if kind in ("image", "registry"):
            # buildx gives every image exporter the tags as its names when there are tags (build/opt.go).
            names = tags or [n.strip() for n in attrs.get("name", "").split(",") if n.strip()]
            push = kind == "registry" or as_bool(attrs.get("push", "false"))
            out.append({"type": "image", "names": names, "push": push,
                        "by_digest": as_bool(attrs.get("push-by-digest", "false"))})
        elif kind == "docker":
            out.append({"type": "docker", "names": tags or [n for n in attrs.get("name", "").split(",") if n]})
        elif kind == "oci":  # an OCI layout: a directory with tar=false, else a tarball
            out.append({"type": kind, "dest": attrs.get("dest", ""), "tar": as_bool(attrs.get("tar", "true"))})
        elif kind in ("local", "tar", "cacheonly"):
            out.append({"type": kind})
        else:
            model.fail(f"the build-push-action model does not implement outputs type={kind or spec}")
    if as_bool(inputs.get("push", "false")):
        out.append({"type": "image", "names": tags, "push": True, "by_digest": False})
    if as_bool(inputs.get("load", "false")):
        out.append({"type": "docker", "names": tags})
    return out


def fails_here(inputs: dict[str, str], build_args: dict[str, str], platforms: list[str]) -> str:
    """The platform an injected failure (scenario fail_builds) breaks in this build, or ""."""
    rule = _planted("fail_builds", inputs, build_args, platforms)
    return str(rule["platform"]) if rule else ""


def built_for(inputs: dict[str, str], build_args: dict[str, str], platforms: list[str]) -> dict[str, str]:
    """platform -> the platform its image is really built for, where a planted fault (scenario
    wrong_platform) makes them differ: the image's configuration says one platform while the index
    entry the build pushes claims another (an "aarch64" tag holding an amd64 image, say a Dockerfile
    whose FROM pins --platform=linux/amd64)."""
    rule = _planted("wrong_platform", inputs, build_args, platforms)
    return {str(rule["platform"]): str(rule["built_for"])} if rule else {}


def _planted(key: str, inputs: dict[str, str], build_args: dict[str, str], platforms: list[str]) -> dict[str, Any]:
    """The first rule of the scenario's `key` that names this build (its context, file, target and
    arguments, as far as the rule gives them) and one of its platforms, or {}."""
    for rule in model.scenario().get(key, []):
        if rule["platform"] not in platforms:
            continue
        if rule.get("context", inputs.get("context", "")) != inputs.get("context", ""):
            continue
        if rule.get("file", inputs.get("file", "")) != inputs.get("file", ""):
            continue
        if rule.get("target", inputs.get("target", "")) != inputs.get("target", ""):
            continue
        if any(build_args.get(k) != v for k, v in rule.get("build_args", {}).items()):
            continue
        return dict(rule)
    return {}


def build_push_action(inputs: dict[str, str]) -> None:
    build_id = uuid.uuid4().hex[:12]
    platforms = input_list(inputs.get("platforms", "")) or ["linux/amd64"]
    tags = input_list(inputs.get("tags", ""))
    build_args = dict(a.partition("=")[::2] for a in input_list(inputs.get("build-args", ""), ignore_comma=True))
    contexts = dict(a.split("=", 1) for a in input_list(inputs.get("build-contexts", ""), ignore_comma=True)
                    if "=" in a)
    outs = exporters(inputs, tags)
    cache_to = input_list(inputs.get("cache-to", ""), ignore_comma=True)
    provenance = inputs.get("provenance", "").strip()
    sbom = as_bool(inputs.get("sbom", "false"))
    entry: dict[str, Any] = {
        "build": build_id, "context": inputs.get("context", ""), "file": inputs.get("file", ""),
        "target": inputs.get("target", ""), "platforms": platforms, "build_args": build_args,
        "build_contexts": contexts, "tags": tags, "exporters": outs, "cache_to": cache_to,
        "cache_from": input_list(inputs.get("cache-from", ""), ignore_comma=True),
        "provenance": provenance, "sbom": sbom,
    }

    def refuse(message: str) -> None:
        model.record("build", failed=message, **entry)
        model.fail(message)

    broken = fails_here(inputs, build_args, platforms)
    if broken:
        refuse(f"failed to solve: process \"/bin/sh -c make\" did not complete successfully: exit code: 2 "
               f"(injected failure on {broken})")
    # Every image the build starts from must be there for every platform it builds: BuildKit resolves FROM
    # references (and named contexts) before it runs anything. A build argument whose value is a named
    # context's name reaches that context (FROM ${ARG}); one naming an image reads the registry.
    bases = []
    for kind, name, value in [("arg", k, v) for k, v in build_args.items()] + [
            ("context", k, v) for k, v in contexts.items() if k not in build_args.values()]:
        value = value.strip()
        via = contexts[value] if kind == "arg" and value in contexts else value
        if via.startswith("oci-layout://"):
            layout = read_layout(via)
            if isinstance(layout, str):
                refuse(f"failed to solve: {via}: {layout}")
                continue
            missing = [p for p in platforms if p not in layout]
            if missing:
                refuse(f"failed to solve: {via}: no match for platform in manifest: {', '.join(missing)}")
            bases.append({"kind": kind, "name": name, "ref": via, "source": "oci-layout",
                          "builds": {p: layout[p]["build"] for p in platforms}})
            continue
        m = IMAGE_REF.match(via)
        if not m:
            continue
        with model.registry() as reg:
            found = model.resolve(reg, via.removeprefix("docker-image://"))
            have = [] if found is None else [model.platform_text(c["platform"]) for _, c in
                                              model.image_children(reg, found[0], found[2])]
        if found is None:
            refuse(f"failed to solve: {via}: failed to resolve source metadata: not found")
        missing = [p for p in platforms if p not in have]
        if missing:
            refuse(f"failed to solve: {via}: no match for platform in manifest: {', '.join(missing)}")
        bases.append({"kind": kind, "name": name, "ref": via, "source": "registry",
                      "digest": found[1] if found else ""})
    entry["bases"] = bases
    if any(o["type"] == "docker" for o in outs) and len(platforms) > 1:
        refuse("docker exporter does not currently support exporting manifest lists")
    for o in outs:
        if o["type"] == "image" and o["push"]:
            if not o["names"]:
                refuse("tag is needed when pushing to registry")
            for name in o["names"]:
                repo, tag, _ = model.split_ref(name)
                if o["by_digest"] and (":" in name.rsplit("/", 1)[-1] or name in tags):
                    refuse(f"can't push tagged ref {name} by digest")
                host = model.registry_host(repo)
                if not model.logged_in(host):
                    refuse(f"failed to push {name}: unauthorized: authentication required")
                if host == "ghcr.io" and model.job_permissions().get("packages") != "write":
                    refuse(f"failed to push {name}: denied: installation not allowed to Write organization package")

    images = []
    really = built_for(inputs, build_args, platforms)
    for p in platforms:
        images.append({"mediaType": model.MANIFEST, "build": build_id, "platform": model.platform_dict(p),
                       "config": {**model.platform_dict(really.get(p, p)), "build": build_id}})
    attest = provenance.lower() not in ("false", "0") or sbom
    pushing = any(o["type"] == "image" and o["push"] for o in outs)
    with model.registry() as reg:
        digests = [model.digest_of(i) for i in images]
        children = [{"mediaType": model.MANIFEST, "digest": d, "platform": i["platform"]}
                    for d, i in zip(digests, images, strict=True)]
        extra = {}
        if attest and pushing:
            for d in digests:
                att = {"mediaType": model.MANIFEST, "build": build_id, "attestation-for": d,
                       "platform": {"os": "unknown", "architecture": "unknown"}, "config": {}}
                extra[model.digest_of(att)] = att
                children.append({"mediaType": model.MANIFEST, "digest": model.digest_of(att),
                                 "platform": {"os": "unknown", "architecture": "unknown"},
                                 "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                                 "vnd.docker.reference.digest": d}})
        top: dict[str, Any]
        if len(images) == 1 and len(children) == 1:
            top = images[0]
        else:
            top = {"mediaType": model.INDEX, "schemaVersion": 2, "manifests": children}
        digest = model.digest_of(top)
        pushed: list[dict[str, str]] = []
        for o in outs:
            if o["type"] == "image" and o["push"]:
                for name in o["names"]:
                    repo, tag, _ = model.split_ref(name)
                    store = reg["repos"].setdefault(repo, {"manifests": {}, "tags": {}})
                    for d, i in zip(digests, images, strict=True):
                        store["manifests"][d] = i
                    store["manifests"].update(extra)
                    model.put_manifest(reg, repo, top)
                    explicit_tag = ":" in name.rsplit("/", 1)[-1]
                    if not o["by_digest"] and explicit_tag:
                        model.put_tag(reg, repo, tag, digest, by=build_id)
                    pushed.append({"repo": repo, "tag": tag if not o["by_digest"] and explicit_tag else ""})
            elif o["type"] == "oci" and o["dest"] and not o["tar"]:
                write_layout(Path(o["dest"]), [(p, really.get(p, p)) for p in platforms], build_id)
            elif o["type"] == "docker":
                local = reg["local"].setdefault(model.runner_key(), [])
                local.append({"names": o["names"], "platform": platforms[0], "build": build_id, "digest": digests[0]})
    entry.update(digest=digest, images=dict(zip(platforms, digests, strict=True)), pushed=pushed)
    model.record("build", **entry)
    set_output("digest", digest)
    set_output("imageid", digests[0])
    set_output("metadata", json.dumps({"containerimage.digest": digest, "image.name": ",".join(
        n for o in outs if o["type"] == "image" for n in o["names"])}))
    model.out(f"build {build_id}: {', '.join(platforms)} -> {digest}")


def _blob(directory: Path, media_type: str, content: dict[str, Any]) -> dict[str, Any]:
    data = json.dumps(content, sort_keys=True).encode()
    digest = hashlib.sha256(data).hexdigest()
    (directory / "blobs/sha256" / digest).write_bytes(data)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(data)}


def write_layout(dest: Path, images: list[tuple[str, str]], build_id: str) -> None:
    """BuildKit's oci exporter with tar=false: an OCI image layout directory (oci-layout, index.json, blobs)
    whose one entry is the image, or an index of one per platform; each (platform it claims, platform its
    configuration says) carries the build in its configuration."""
    (dest / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    (dest / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    entries = []
    for claimed, real in images:
        config = _blob(dest, "application/vnd.oci.image.config.v1+json",
                       {**model.platform_dict(real), "build": build_id})
        manifest = {"schemaVersion": 2, "mediaType": model.MANIFEST, "config": config, "layers": []}
        entries.append({**_blob(dest, model.MANIFEST, manifest), "platform": model.platform_dict(claimed)})
    top = {k: v for k, v in entries[0].items() if k != "platform"} if len(entries) == 1 else \
        _blob(dest, model.INDEX, {"schemaVersion": 2, "mediaType": model.INDEX, "manifests": entries})
    (dest / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))


def read_layout(ref: str) -> dict[str, dict[str, str]] | str:
    """platform -> {build, digest} of what an `oci-layout://<dir>[:tag][@digest]` holds (as buildx resolves
    it: the digest, else the tag, else the layout's single entry, then BuildKit picks each platform from
    that index's entries), or why it cannot be read."""
    path, _, digest = ref.removeprefix("oci-layout://").partition("@")
    directory = Path(path)
    if not (directory / "index.json").is_file():
        directory = Path(path.rsplit(":", 1)[0])
    try:
        entries = json.loads((directory / "index.json").read_text())["manifests"]
        top = next(e for e in entries if e["digest"] == digest) if digest else entries[0]
        if not digest and len(entries) != 1:
            return "oci-layout reference could not be resolved: more than one entry"

        def load(descriptor: dict[str, Any]) -> Any:
            return json.loads((directory / "blobs/sha256" / descriptor["digest"].removeprefix("sha256:")).read_text())

        found = {}
        top_content = load(top)
        children = top_content.get("manifests", [top])
        for child in children:
            manifest = load(child)
            if "config" not in manifest:  # a nested index: BuildKit never looks inside one
                continue
            config = load(manifest["config"])
            claimed = model.platform_text(child.get("platform") or config)
            if claimed.startswith("unknown"):
                continue
            found[claimed] = {"build": config.get("build", ""), "digest": child["digest"],
                              "built_for": model.platform_text(config)}
        return found
    except (OSError, ValueError, KeyError, StopIteration) as e:
        return f"oci-layout reference could not be resolved: {e}"


# ----------------------------------------------------------------------------------------- artifacts


def artifact_root() -> Path:
    root = model.state_dir() / "artifacts"
    root.mkdir(exist_ok=True)
    return root


def upload_artifact(inputs: dict[str, str]) -> None:
    name = inputs.get("name") or "artifact"
    workspace = Path(model.env().get("GITHUB_WORKSPACE", "."))
    files: list[Path] = []
    for pattern in input_list(inputs["path"], ignore_comma=True):
        if pattern.startswith("!"):
            excluded = {Path(p) for p in glob.glob(str(workspace / pattern[1:]), recursive=True)}
            files = [f for f in files if f not in excluded]
            continue
        for match in sorted(glob.glob(str(workspace / pattern), recursive=True)):
            path = Path(match)
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    model.record("upload-artifact", name=name, files=[str(f) for f in files])
    if not files:
        mode = inputs.get("if-no-files-found") or "warn"
        message = f"No files were found with the provided path: {inputs['path']}. No artifacts will be uploaded."
        if mode == "error":
            model.fail(message)
        model.out(f"::warning::{message}" if mode == "warn" else message)
        return
    target = artifact_root() / name
    if target.exists() and not as_bool(inputs.get("overwrite", "false")):
        model.fail(f"Failed to CreateArtifact: Received non-retryable error: Conflict: an artifact with this name "
                   f"already exists on the workflow run ({name})")
    shutil.rmtree(target, ignore_errors=True)  # overwrite: the earlier artifact is deleted, not added to
    # upload-artifact's root: a single directory given is the root (its subdirectories kept), else the
    # least common ancestor of what was found.
    patterns = input_list(inputs["path"], ignore_comma=True)
    single = workspace / patterns[0] if len(patterns) == 1 else None
    common = single if single is not None and single.is_dir() else \
        Path(os.path.commonpath([str(f.parent) for f in files]))
    for f in files:
        dest = target / f.relative_to(common)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    set_output("artifact-id", str(abs(hash(name)) % 10**8))
    set_output("artifact-digest", "0" * 64)


def _braces(pattern: str) -> list[str]:
    m = re.search(r"\{([^{}]*,[^{}]*)\}", pattern)
    if not m:
        return [pattern]
    return [x for part in m[1].split(",") for x in _braces(pattern[:m.start()] + part + pattern[m.end():])]


def download_artifact(inputs: dict[str, str]) -> None:
    root = artifact_root()
    path = Path(inputs.get("path") or model.env().get("GITHUB_WORKSPACE", "."))
    name, pattern = inputs.get("name", ""), inputs.get("pattern", "")
    model.record("download-artifact", name=name, pattern=pattern)
    if name:
        if not (root / name).is_dir():
            model.fail(f"Unable to download artifact(s): Artifact not found for name: {name}")
        shutil.copytree(root / name, path, dirs_exist_ok=True)
    else:
        # minimatch, as the real action filters: braces expand ({a,b}), then globs.
        alternatives = _braces(pattern or "*")
        found = sorted(d.name for d in root.iterdir()
                       if d.is_dir() and any(fnmatch.fnmatchcase(d.name, p) for p in alternatives))
        for artifact in found:
            # v8.0.1: one artifact found is extracted into `path` itself, as `merge-multiple` does.
            alone = as_bool(inputs.get("merge-multiple", "false")) or len(found) == 1
            dest = path if alone else path / artifact
            shutil.copytree(root / artifact, dest, dirs_exist_ok=True)
        model.out(f"downloaded {len(found)} artifact(s): {', '.join(found)}")
    path.mkdir(parents=True, exist_ok=True)
    set_output("download-path", str(path))


# ------------------------------------------------------------------------------------- the others


def attest(inputs: dict[str, str]) -> None:
    subject = f"{inputs.get('subject-name', '')}@{inputs.get('subject-digest', '')}"
    model.record("attest", subject=subject, push=inputs.get("push-to-registry", ""))
    perms = model.job_permissions()
    if perms.get("id-token") != "write" or perms.get("attestations") != "write":
        model.fail("Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable (needs id-token: write and "
                   "attestations: write)")
    with model.registry() as reg:
        if model.resolve(reg, subject) is None:
            model.fail(f"{subject}: MANIFEST_UNKNOWN")
    if as_bool(inputs.get("push-to-registry", "false")):
        host = model.registry_host(model.split_ref(subject)[0])
        if not model.logged_in(host):
            model.fail(f"pushing the attestation to {host}: unauthorized")
    set_output("attestation-id", uuid.uuid4().hex[:8])


def setup_qemu(inputs: dict[str, str]) -> None:
    platforms = input_list(inputs.get("platforms", "")) or ["all"]
    model.record("setup-qemu", platforms=platforms, image=inputs.get("image", ""))
    set_output("platforms", ",".join(platforms))


def setup_buildx(inputs: dict[str, str]) -> None:
    model.record("setup-buildx")
    set_output("name", "builder-behaviour")
    set_output("driver", inputs.get("driver") or "docker-container")
    set_output("platforms", "linux/amd64,linux/arm64,linux/arm/v7")


def checkout(inputs: dict[str, str]) -> None:
    # act copies the workspace for the job itself; the stub only keeps the call on record.
    model.record("checkout", fetch_tags=inputs.get("fetch-tags", ""))


def cosign_installer(inputs: dict[str, str]) -> None:
    model.record("cosign-installer")


STUBS = {
    "actions/checkout": checkout,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/attest": attest,
    "docker/setup-qemu-action": setup_qemu,
    "docker/setup-buildx-action": setup_buildx,
    "docker/metadata-action": metadata_action,
    "docker/build-push-action": build_push_action,
    "docker/login-action": login_action,
    "aws-actions/configure-aws-credentials": configure_aws_credentials,
    "aws-actions/amazon-ecr-login": amazon_ecr_login,
    "google-github-actions/auth": google_auth,
    "azure/login": azure_login,
    "sigstore/cosign-installer": cosign_installer,
}


@functools.cache
def declared(action: str) -> dict[str, Any]:
    return tomllib.loads(ACTION_IO.read_text())["actions"][action]  # type: ignore[no-any-return]


def main(action: str) -> None:
    inputs = {k: v if isinstance(v, str) else json.dumps(v) for k, v in
              json.loads(model.env().get("STUB_INPUTS") or "{}").items()}
    for name in declared(action)["required"]:
        if not inputs.get(name, "").strip():
            # @actions/core getInput(name, {required: true}) as the real action calls it.
            model.record("stub-refused", action=action, missing=name)
            model.fail(f"Input required and not supplied: {name}")
    model.record("stub", action=action, inputs=inputs)
    STUBS[action](inputs)
