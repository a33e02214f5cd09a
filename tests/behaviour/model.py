"""The world the stubs and shims share during one act run: a registry model, the runner-local image
store, and a log of what every stub and shim was asked to do.

Standard library only: the stubs (stubs.py) and shims (shims.py) import this file as a script-side
module, in processes that act starts. Everything lives in the run's state directory
($BEHAVIOUR_STATE), one per act run, so parallel runs never see each other. Matrix legs of one run
do run in parallel, so every read-modify-write holds a lock.

Manifests are plain JSON; a digest is the sha256 of a manifest's canonical JSON, as a registry's is
of its bytes. Image manifests carry the build that produced them, so a check can follow any tag back
to the build behind it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NoReturn

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# What the step recorders (harness.write_shims) print as each step starts: act's JSON log ties the line
# to its job and matrix, which nothing on the runner can see (a composite action's `matrix` context is
# empty under act), and records carry the runner key, so every record finds its job and matrix.
MARKER = "behaviour-runner "


_call = threading.local()


def env() -> Mapping[str, str]:
    """The environment of the step being served (server.py), else this process's."""
    return getattr(_call, "env", None) or os.environ


def out(*parts: object) -> None:
    """print() for the step being served: its stdout, replayed by the client."""
    text = " ".join(str(p) for p in parts) + "\n"
    buffer = getattr(_call, "out", None)
    if buffer is None:
        sys.stdout.write(text)
    else:
        buffer.append(text)


def err(*parts: object) -> None:
    text = " ".join(str(p) for p in parts) + "\n"
    buffer = getattr(_call, "err", None)
    if buffer is None:
        sys.stderr.write(text)
    else:
        buffer.append(text)


@contextlib.contextmanager
def serving(environment: Mapping[str, str]) -> Iterator[tuple[list[str], list[str]]]:
    """Make env(), out() and err() this thread's call's, for the duration."""
    _call.env, _call.out, _call.err = environment, [], []
    try:
        yield _call.out, _call.err
    finally:
        _call.env = _call.out = _call.err = None


def state_dir() -> Path:
    return Path(env()["BEHAVIOUR_STATE"])


@contextlib.contextmanager
def _locked(name: str) -> Iterator[Path]:
    path = state_dir() / name
    with (state_dir() / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def registry() -> Iterator[dict[str, Any]]:
    """The registry model, locked for the duration, written back on a clean exit only."""
    with _locked("registry.json") as path:
        data = json.loads(path.read_text()) if path.exists() else empty_registry()
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        tmp.replace(path)


def read_registry(directory: Path) -> dict[str, Any]:
    path = directory / "registry.json"
    return json.loads(path.read_text()) if path.exists() else empty_registry()


def empty_registry() -> dict[str, Any]:
    # repos: name -> {manifests: digest -> manifest, tags: tag -> digest}; writes: every tag written,
    # in order; local: images a build loaded, per runner (RUNNER_TEMP is unique per job under act).
    return {"repos": {}, "writes": [], "local": {}}


def scenario() -> dict[str, Any]:
    path = state_dir() / "scenario.json"
    return json.loads(path.read_text()) if path.exists() else {}


def job_permissions() -> dict[str, str]:
    """The scopes the job's GITHUB_TOKEN holds, from the workflow file (act does not enforce them)."""
    table = scenario().get("permissions", {})
    jobs = table.get(env().get("GITHUB_WORKFLOW", ""), {})
    return dict(jobs.get(env().get("GITHUB_JOB", ""), {}))


def record(kind: str, **data: Any) -> str:
    """Log one call (a stub run, a docker command)."""
    rid = uuid.uuid4().hex[:12]
    entry = {
        "id": rid,
        "kind": kind,
        "time": time.time(),
        "workflow": env().get("GITHUB_WORKFLOW", ""),
        "job": env().get("GITHUB_JOB", ""),
        "runner": runner_key(),
        "event": env().get("GITHUB_EVENT_NAME", ""),
        **data,
    }
    with _locked("records.jsonl") as path, path.open("a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")
    return rid


def read_records(directory: Path) -> list[dict[str, Any]]:
    path = directory / "records.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def runner_key() -> str:
    """One job on one runner: act gives every job (and every matrix leg) its own RUNNER_TEMP."""
    return env().get("RUNNER_TEMP", "")


def digest_of(manifest: dict[str, Any]) -> str:
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def fail(message: str, code: int = 1) -> NoReturn:
    err(f"ERROR: {message}")
    raise SystemExit(code)


# ------------------------------------------------------------------------------------ references


def registry_host(repo: str) -> str:
    """Docker's rule: the first component is a registry host when it has a dot or a colon, or is
    localhost; otherwise the name is on Docker Hub."""
    first = repo.split("/", 1)[0]
    if "/" in repo and ("." in first or ":" in first or first == "localhost"):
        return "docker.io" if first in ("index.docker.io", "registry-1.docker.io") else first
    return "docker.io"


def canonical_repo(repo: str) -> str:
    """docker.io/library/x and x are one repository, as are docker.io/a/b and a/b."""
    repo = repo.lower()
    host = registry_host(repo)
    if host == "docker.io":
        path = repo.split("/", 1)[1] if repo.split("/", 1)[0] in ("docker.io", "index.docker.io") else repo
        if "/" not in path:
            path = f"library/{path}"
        return f"docker.io/{path}"
    return repo


def split_ref(ref: str) -> tuple[str, str, str]:
    """(repository, tag, digest) of `repo[:tag][@digest]`; tag and digest may be empty. A name with
    capitals fails as Docker's reference parser refuses it (GHCR owners often have capitals)."""
    name = ref.split("@", 1)[0]
    repo_part = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    if repo_part != repo_part.lower():
        fail(f"invalid reference format: repository name ({ref}) must be lowercase")
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    tag = ""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1 :]
    if not digest and not tag:
        tag = "latest"
    return canonical_repo(ref), tag, digest


def resolve(reg: dict[str, Any], ref: str) -> tuple[str, str, dict[str, Any]] | None:
    """(repository, digest, manifest) a reference names, or None where a registry answers 404."""
    repo, tag, digest = split_ref(ref)
    store = reg["repos"].get(repo)
    if store is None:
        return None
    if not digest:
        digest = store["tags"].get(tag, "")
    manifest = store["manifests"].get(digest)
    return None if manifest is None else (repo, digest, manifest)


def put_manifest(reg: dict[str, Any], repo: str, manifest: dict[str, Any], source_repo: str = "") -> str:
    """Store a manifest (and, for an index, its children, copied from source_repo) in repo."""
    repo = canonical_repo(repo)
    store = reg["repos"].setdefault(repo, {"manifests": {}, "tags": {}})
    if manifest["mediaType"] == INDEX:
        src = reg["repos"].get(source_repo or repo, {"manifests": {}})["manifests"]
        for child in manifest["manifests"]:
            if child["digest"] not in store["manifests"]:
                if child["digest"] not in src:
                    fail(f"{repo}: blob {child['digest']} not found")
                store["manifests"][child["digest"]] = src[child["digest"]]
    digest = digest_of(manifest)
    store["manifests"][digest] = manifest
    return digest


def put_tag(reg: dict[str, Any], repo: str, tag: str, digest: str, by: str) -> None:
    repo = canonical_repo(repo)
    store = reg["repos"].setdefault(repo, {"manifests": {}, "tags": {}})
    if digest not in store["manifests"]:
        fail(f"{repo}@{digest}: manifest unknown")
    store["tags"][tag] = digest
    reg["writes"].append({"repo": repo, "tag": tag, "digest": digest, "by": by, "time": time.time()})


def platform_text(p: dict[str, str]) -> str:
    return "/".join(x for x in (p.get("os", ""), p.get("architecture", ""), p.get("variant", "")) if x)


def platform_dict(text: str) -> dict[str, str]:
    parts = text.split("/")
    out = {"os": parts[0], "architecture": parts[1] if len(parts) > 1 else ""}
    if len(parts) > 2:
        out["variant"] = parts[2]
    return out


def image_children(reg: dict[str, Any], repo: str, manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(digest, image manifest) of every platform image a manifest holds; attestations left out."""
    if manifest["mediaType"] != INDEX:
        return [("", manifest)]
    store = reg["repos"][canonical_repo(repo)]["manifests"]
    out = []
    for child in manifest["manifests"]:
        if (child.get("annotations") or {}).get("vnd.docker.reference.type") == "attestation-manifest":
            continue
        out.append((child["digest"], store[child["digest"]]))
    return out


# ------------------------------------------------------------------------------------------ logins


def logged_in(host: str) -> bool:
    """Whether this job logged in to the registry host (a login lasts for the job: one runner)."""
    with registry() as reg:
        return host in reg.setdefault("logins", {}).get(runner_key(), [])


def add_login(host: str) -> None:
    with registry() as reg:
        hosts = reg.setdefault("logins", {}).setdefault(runner_key(), [])
        if host not in hosts:
            hosts.append(host)
