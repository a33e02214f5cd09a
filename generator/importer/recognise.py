"""Find the jobs of hand-written workflows that build and push images, and what each build is.

The shapes understood: docker/build-push-action (with docker/metadata-action, QEMU or not), a matrix over
platforms pushed by digest and merged with `imagetools create` (native), matrices over images or variants
(`${{ matrix.x }}` substituted), a local reusable workflow called per image (`with:` inputs substituted),
docker/bake-action with a bake file (read with python-hcl2), Docker's github-builder reusable workflows,
and plain `docker buildx build` run lines. Everything else a build job does is reported, located."""

from __future__ import annotations

import itertools
import os
import re
import shlex
import unicodedata
from collections import ChainMap
from pathlib import Path, PurePosixPath
from typing import Any

from ..contract import WORKFLOWS_DIR
from ..errors import UserError, printable
from ..platforms import parse_platform
from ..spec.document import Document, Path_
from .load import MAX_TOTAL_BYTES, load_hcl, load_workflow
from .model import Build, Finding, Login, Note, Triggers

MAX_COMBOS = 256  # GitHub's own limit on a matrix's jobs
MAX_EXCLUDES = 4 * MAX_COMBOS  # each removes at least one of at most 256 rows, or nothing
MAX_VALUE = 64 * 1024  # what one value may grow to as its expressions are substituted (env of env of env ...)
MAX_SCOPE = 1024 * 1024  # what one env block's values may grow to together; the rest stay as written
MAX_WORK = 100_000  # steps read over every matrix row and every call of a reusable workflow
# Linear on any text: no `\s*` around the lazy group (an unclosed `${{` followed by spaces backtracked over them
# cubically), and an expression never runs into the next `${{` (each unclosed one scanned to its line's end).
EXPR = re.compile(r"\$\{\{((?:[^\n$]|\$(?!\{\{))*?)\}\}")
GITHUB_BUILDER = re.compile(r"^docker/github-builder(?:-experimental)?/\.github/workflows/(build|bake)\.ya?ml@")
# Actions a build job runs around the build that the generated workflows do themselves.
KNOWN = ("actions/checkout", "docker/setup-qemu-action", "docker/setup-buildx-action", "docker/login-action",
         "docker/metadata-action", "docker/build-push-action", "docker/bake-action", "sigstore/cosign-installer",
         "actions/attest-build-provenance", "actions/attest", "aws-actions/configure-aws-credentials",
         "aws-actions/amazon-ecr-login", "actions/upload-artifact", "actions/download-artifact")
# Run steps that only pass values along (digests to the merge, values to later steps) or log in.
_PLUMBING_RUN = re.compile(r"digest|mkdir -p|touch |GITHUB_ENV|GITHUB_OUTPUT|docker login", re.IGNORECASE)


class Scope:
    """What `${{ }}` expressions can be resolved to: env, matrix, inputs; the rest is left as written. A child's
    env is a layer over its parent's (never a copy: a job's env is read by every step of every row)."""

    def __init__(self, env: dict[str, str] | None = None, matrix: dict[str, Any] | None = None,
                 inputs: dict[str, Any] | None = None) -> None:
        self.env: ChainMap[str, str] = ChainMap(dict(env or {}))
        self.matrix = dict(matrix or {})
        self.inputs = dict(inputs or {})

    def child(self, env: Any = None, matrix: dict[str, Any] | None = None) -> Scope:
        scope = Scope(None, self.matrix if matrix is None else matrix, self.inputs)
        scope.env = self.env
        if isinstance(env, dict):
            scope.env = self.env.new_child(self.resolved(env))
        return scope

    def resolved(self, values: dict[Any, Any]) -> dict[str, str]:
        """Each value with its expressions resolved, until together they hold MAX_SCOPE: the rest as written."""
        out, total = {}, 0
        for k, v in values.items():
            text = self.text(v)[0] if total <= MAX_SCOPE else str(v)
            total += len(text)
            out[str(k)] = text
        return out

    def text(self, value: Any) -> tuple[str, list[str]]:
        """The value with the expressions it can resolve resolved, and the ones it cannot."""
        if value is None:
            return "", []
        if isinstance(value, bool):
            return ("true" if value else "false"), []
        unresolved: list[str] = []
        budget = [MAX_VALUE]

        def one(m: re.Match[str]) -> str:
            expr = m[1].strip()
            for space, table in (("env", self.env), ("matrix", self.matrix), ("inputs", self.inputs)):
                found = re.fullmatch(rf"{space}\.([A-Za-z0-9_-]+)", expr)
                if found and found[1] in table:
                    got = table[found[1]]
                    text = ("true" if got else "false") if isinstance(got, bool) else str(got)
                    budget[0] -= len(text)
                    if budget[0] < 0:  # a value made of values made of values: left as written
                        unresolved.append(m[0])
                        return m[0]
                    return text
            if not expr.startswith(("github.", "secrets.", "steps.", "needs.", "runner.")):
                unresolved.append(m[0])
            return m[0]

        out = str(value)
        for _ in range(3):  # an env value may hold another expression
            if len(out) > MAX_VALUE:
                break
            new = EXPR.sub(one, out)
            if new == out:
                break
            out = new
        return out, list(dict.fromkeys(unresolved))


def lines_of(text: str) -> list[str]:
    """An action's list input: one item a line or comma-separated on a line, `#` comments dropped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.append(line)
    return out


def list_of(text: str) -> list[str]:
    return [p.strip() for line in lines_of(text) for p in line.split(",") if p.strip()]


class Recogniser:
    """Reads workflow files under root and says what each builds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.docs: dict[str, Document] = {}
        self.hcl: dict[str, dict[str, Any]] = {}  # bake files by path, as load_hcl read them
        self.read_bytes = 0  # the size of every file parsed so far: bounded by MAX_TOTAL_BYTES
        self.rows: dict[tuple[str, Path_], list[dict[str, Any]]] = {}  # each job's matrix rows, by file and job
        self.stack: list[str] = []  # reusable workflows being read, so a cycle stops
        self.keep: set[str] = set()  # reusable workflows that also do something else: --replace keeps them
        self.work = 0  # steps read so far (every matrix row, every call): bounded by MAX_WORK

    def spend(self, work: int, doc: Document, at: Path_) -> None:
        """Count steps read and jobs visited (every matrix row, every call); a UserError past MAX_WORK."""
        self.work += work
        if self.work > MAX_WORK:
            line, col = doc.at(at, key=True)
            raise UserError.single(doc.file, f"more than {MAX_WORK} steps to read over the matrices and calls",
                                   line=line, column=col, hint="import the workflows a few at a time with --from")

    # ------------------------------------------------------------------ files

    def inside(self, rel: str) -> bool:
        """Whether a path a workflow names is in the repository: relative, no `..`, and no directory on the
        way a symlink that leaves it (what a pull request names is never read from elsewhere)."""
        if rel.startswith("/") or ".." in PurePosixPath(rel).parts:
            return False
        try:
            return (self.root / rel).parent.resolve().is_relative_to(self.root.resolve())
        except (OSError, RuntimeError):  # a symlink loop
            return False

    def doc(self, rel: str) -> Document:
        if rel not in self.docs:
            self.spend_bytes(rel)
            self.docs[rel] = load_workflow(self.root / rel, rel)
        return self.docs[rel]

    def spend_bytes(self, rel: str) -> None:
        """Count a file's size before it is parsed; a UserError once the files read add up to MAX_TOTAL_BYTES."""
        try:
            self.read_bytes += os.lstat(self.root / rel).st_size
        except OSError:
            return  # the read says what is wrong with it
        if self.read_bytes > MAX_TOTAL_BYTES:
            raise UserError.single(rel, f"the workflows and bake files to read add up to more than {MAX_TOTAL_BYTES} "
                                   "bytes", line=1, column=1, hint="import a few at a time with --from")

    def finding(self, rel: str) -> Finding:
        doc = self.doc(rel)
        data = doc.data
        found = Finding(rel)
        if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
            return found
        on = data.get("on")
        found.reusable = isinstance(on, dict) and set(on) == {"workflow_call"}
        if not found.reusable:
            found.triggers = self.triggers(doc, found)
        scope = Scope().child(data.get("env"))
        self.jobs(doc, data["jobs"], scope, found)
        return found

    # ------------------------------------------------------------------ triggers

    def triggers(self, doc: Document, found: Finding) -> Triggers:
        on = doc.data.get("on")
        trig = Triggers(doc.file, *doc.at(("on",), key=True))
        if isinstance(on, str):
            on = {on: None}
        elif isinstance(on, list):
            on = {str(e): None for e in on}
        if not isinstance(on, dict):
            return trig
        for event, body in on.items():
            body = body if isinstance(body, dict) else {}
            where = doc.at(("on", event), key=True)
            if event == "push":
                branches, tags = body.get("branches"), body.get("tags")
                if branches is None and tags is None:
                    trig.branches, trig.tags = ["**"], ["**"]
                trig.branches += [str(b) for b in as_list(branches)]
                trig.tags += [str(t) for t in as_list(tags)]
                trig.paths += [str(p) for p in as_list(body.get("paths"))]
                for key in ("branches-ignore", "tags-ignore", "paths-ignore"):
                    if key in body:
                        line, col = doc.at(("on", event, key), key=True)
                        found.notes.append(Note(doc.file, line, col, f"`{key}` is not carried",
                                                "the spec lists what triggers, not what does not; write the "
                                                "patterns with `!` in triggers or paths"))
            elif event in ("pull_request", "pull_request_target"):
                trig.pull_requests = True
                if event == "pull_request_target":
                    found.notes.append(Note(doc.file, *where, "pull_request_target becomes pull_request",
                                            "generated workflows never build a pull request with the base's "
                                            "secrets"))
            elif event == "workflow_dispatch":
                trig.manual = True
            elif event == "release":
                trig.releases = True
            elif event == "schedule":
                trig.schedule += [str(s.get("cron")) for s in as_list(on.get("schedule"))
                                  if isinstance(s, dict) and s.get("cron")]
            elif event not in ("workflow_call", "merge_group"):
                found.notes.append(Note(doc.file, *where, f"the `{event}` trigger is not carried",
                                        "the spec knows pushes, tags, pull requests, releases, schedules and "
                                        "manual runs"))
                found.extra_steps.append((f"the `{event}` trigger", *where))  # what it runs on would be lost
        return trig

    # ------------------------------------------------------------------ jobs

    def jobs(self, doc: Document, jobs: dict[str, Any], scope: Scope, found: Finding) -> None:
        digest_jobs: dict[str, list[tuple[Build, dict[str, Any]]]] = {}
        merges: list[tuple[str, dict[str, Any]]] = []
        for job_id, job in jobs.items():
            if not isinstance(job, dict):
                continue
            at: Path_ = ("jobs", job_id)
            uses = job.get("uses")
            combos = self.combos(doc, at, job, scope, found)
            # A job that calls a reusable workflow has no step to count, but each of its rows reads that
            # workflow again: a chain of workflows calling the next many times is counted here.
            self.spend(len(combos), doc, at)
            before = len(found.builds)
            if isinstance(uses, str):
                self.call(doc, at, job, uses, combos, scope, found)
                if len(found.builds) == before:
                    found.other_jobs.append((job_id, *doc.at(at, key=True)))
                continue
            steps = job.get("steps")
            if not isinstance(steps, list):
                continue
            if any(isinstance(s, dict) and "imagetools create" in str(s.get("run", "")) for s in steps):
                merges.append((job_id, job))
                continue
            built = self.steps(doc, at, job, steps, combos, scope, found)
            if not built:
                found.other_jobs.append((job_id, *doc.at(at, key=True)))
            for build, combo in built:
                if build.how.endswith("by digest"):
                    digest_jobs.setdefault(job_id, []).append((build, combo))
                else:
                    found.builds.append(build)
        self.merge(doc, digest_jobs, merges, scope, found)

    def combos(self, doc: Document, at: Path_, job: dict[str, Any], scope: Scope,
               found: Finding) -> list[dict[str, Any]]:
        """The job's matrix rows, as GitHub expands them (product, include, exclude)."""
        strategy = job.get("strategy")
        matrix = strategy.get("matrix") if isinstance(strategy, dict) else None
        if matrix is None:
            return [{}]
        if isinstance(matrix, str):
            line, col = doc.at((*at, "strategy", "matrix"))
            found.notes.append(Note(doc.file, line, col, "a matrix made by an expression is not read",
                                    "the import reads matrices written out in the workflow"))
            return [{}]
        if not isinstance(matrix, dict):
            return [{}]
        if (doc.file, at) not in self.rows:  # a reusable workflow's matrices are expanded once, however often called
            self.rows[doc.file, at] = self.expand(doc, at, matrix)
        return [dict(row) for row in self.rows[doc.file, at]]

    def expand(self, doc: Document, at: Path_, matrix: dict[str, Any]) -> list[dict[str, Any]]:
        axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude") and isinstance(v, list)}
        size = 1
        for values in axes.values():
            size *= max(1, len(values))
        if size > MAX_COMBOS:
            line, col = doc.at((*at, "strategy", "matrix"))
            raise UserError.single(doc.file, f"the matrix has {size} combinations; GitHub allows {MAX_COMBOS}",
                                   line=line, column=col)
        includes: list[Any] = matrix["include"] if isinstance(matrix.get("include"), list) else []
        if len(includes) > MAX_COMBOS:
            line, col = doc.at((*at, "strategy", "matrix", "include"), key=True)
            raise UserError.single(doc.file, f"the matrix includes {len(includes)} rows; GitHub allows {MAX_COMBOS}",
                                   line=line, column=col)
        # Each exclude is compared with every row, on every call of a reusable workflow: bounded, as includes are.
        excludes = as_list(matrix.get("exclude"))
        if len(excludes) > MAX_EXCLUDES:
            line, col = doc.at((*at, "strategy", "matrix", "exclude"), key=True)
            raise UserError.single(doc.file, f"the matrix excludes {len(excludes)} rows; import reads at most "
                                   f"{MAX_EXCLUDES}", line=line, column=col)
        rows = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] if axes else []
        for excluded in excludes:
            if isinstance(excluded, dict):
                rows = [r for r in rows if any(r.get(k) != v for k, v in excluded.items())]
        original = list(rows)  # an include extends only the product's rows, never another include's
        for extra in includes:
            if not isinstance(extra, dict):
                continue
            matched = False
            for row in original:
                if all(row.get(k, v) == v for k, v in extra.items() if k in axes):
                    row.update({k: v for k, v in extra.items() if k not in axes})
                    matched = True
            if not matched:
                rows.append(dict(extra))
            if len(rows) > MAX_COMBOS:
                break
        out: list[dict[str, Any]] = rows[:MAX_COMBOS]
        return out or [{}]

    @staticmethod
    def platform_key(combos: list[dict[str, Any]]) -> str:
        """The matrix key whose values are platforms (`linux/arm64`), "" when none is."""
        keys = set().union(*combos) if combos else set()
        for key in sorted(keys):
            values = [c.get(key) for c in combos]
            if all(isinstance(v, str) and v.startswith("linux/") for v in values):
                return key
        return ""

    # ------------------------------------------------------------------ steps of one job

    def steps(self, doc: Document, at: Path_, job: dict[str, Any], steps: list[Any], combos: list[dict[str, Any]],
              scope: Scope, found: Finding) -> list[tuple[Build, dict[str, Any]]]:
        pkey = self.platform_key(combos)
        # Matrix keys that say where a leg runs (`runs-on: ${{ matrix.runner }}`) tell legs apart, not builds.
        leg_keys = {pkey, *re.findall(r"matrix\.([A-Za-z0-9_-]+)", str(job.get("runs-on", "")))}
        built: list[tuple[Build, dict[str, Any]]] = []
        notes_before, extra_before = len(found.notes), len(found.extra_steps)
        self.spend(len(combos) * len(steps), doc, at)
        for index, combo in enumerate(combos):
            jscope = scope.child(matrix=combo).child(job.get("env"))
            runs_on = jscope.text(job.get("runs-on"))[0] if not isinstance(job.get("runs-on"), list) else \
                ",".join(jscope.text(x)[0] for x in job["runs-on"])
            qemu = any(isinstance(s, dict) and str(s.get("uses", "")).startswith("docker/setup-qemu-action")
                       for s in steps)
            meta: dict[str, Any] | None = None
            signs = any(isinstance(s, dict) and ("cosign sign" in str(s.get("run", "")) or
                                                  str(s.get("uses", "")).startswith("sigstore/cosign-installer"))
                        for s in steps)
            attests = any(isinstance(s, dict) and str(s.get("uses", "")).startswith("actions/attest")
                          for s in steps)
            job_builds: list[Build] = []
            for i, step in enumerate(steps):
                if not isinstance(step, dict):
                    continue
                sat: Path_ = (*at, "steps", i)
                uses = str(step.get("uses", ""))
                action = uses.split("@", 1)[0]
                sscope = jscope.child(step.get("env"))
                with_: dict[str, Any] = step["with"] if isinstance(step.get("with"), dict) else {}
                first = index == 0
                if action == "docker/metadata-action":
                    meta = self.meta(doc, sat, with_, sscope, found if first else None)
                elif action == "docker/login-action" and first:
                    self.login(with_, sscope, found)
                elif action == "aws-actions/configure-aws-credentials" and first:
                    found.ecr.update({"role": sscope.text(with_.get("role-to-assume"))[0],
                                      "region": sscope.text(with_.get("aws-region"))[0]})
                    if "aws-access-key-id" in with_:
                        found.notes.append(Note(doc.file, *doc.at((*sat, "with", "aws-access-key-id"), key=True),
                                                "stored AWS keys are not carried",
                                                "the spec logs in to ECR through OIDC with `role`; no stored keys"))
                elif action == "docker/build-push-action":
                    build = self.build_push(doc, sat, with_, sscope, meta, found if first else None)
                    if build:
                        job_builds.append(build)
                elif action == "docker/bake-action":
                    job_builds += self.bake(doc, sat, with_, sscope, meta, found if first else None)
                elif "run" in step:
                    run = sscope.text(step.get("run"))[0]
                    if "docker buildx build" in run or re.search(r"\bdocker build\b", run):
                        job_builds += self.run_builds(doc, sat, run, sscope, found if first else None)
                    elif "cosign " in run or _PLUMBING_RUN.search(run) or re.fullmatch(r"\s*(echo|docker (buildx )?"
                                                                                       r"(imagetools )?inspect)\b.*",
                                                                                       run, re.DOTALL):
                        pass
                    elif first:
                        found.notes.append(Note(doc.file, *doc.at((*sat, "run")), "a custom run step is not carried",
                                                "generated workflows run only the build; put it in the Dockerfile "
                                                "or a workflow of its own"))
                        found.extra_steps.append(("a custom run step", *doc.at((*sat, "run"))))
                elif uses and first and not action.startswith(KNOWN):
                    found.notes.append(Note(doc.file, *doc.at((*sat, "uses")), f"the step `{action}` is not carried",
                                            "an action the import does not know; add it to a workflow of its own "
                                            "if the build needs it"))
                    found.extra_steps.append((f"the step `{action}`", *doc.at((*sat, "uses"))))
            for build in job_builds:
                build.sign = build.sign or signs
                build.attest = build.attest or attests
                if pkey:
                    build.platforms = [str(combo[pkey])]
                    build.runners = {str(combo[pkey]): runs_on}
                    build.label = label_of(combo, combos, leg_keys)
                else:
                    build.runners = dict.fromkeys(build.platforms, runs_on)
                    build.label = label_of(combo, combos, set()) if len(combos) > 1 else ""
                if build.how == "build-push-action" or build.how.startswith(("bake", "buildx")):
                    build.strategy = "qemu" if qemu and len(build.platforms) > 1 else "buildx"
                    if qemu and len(build.platforms) <= 1:
                        build.strategy = "qemu"
                built.append((build, combo))
        if not built:
            del found.notes[notes_before:]  # a job that builds nothing is none of the import's business
            del found.extra_steps[extra_before:]
            return []
        if pkey and not any(b.how.endswith("by digest") for b, _ in built):
            # A matrix over platforms where each leg pushes its own tags: the last leg wins them.
            line, col = doc.at((*at, "strategy", "matrix"))
            found.notes.append(Note(doc.file, line, col, "each platform's leg pushes the same tags",
                                    "the last leg to finish wins the tags; the spec builds every platform and "
                                    "writes one multi-platform tag"))
            return self.join_legs(built)
        return built

    @staticmethod
    def join_legs(built: list[tuple[Build, dict[str, Any]]]) -> list[tuple[Build, dict[str, Any]]]:
        """Legs of one build (same image, different platform) joined into one build with every platform."""
        joined: dict[tuple[str, str], tuple[Build, dict[str, Any]]] = {}
        for build, combo in built:
            key = (build.label, ",".join(build.refs))
            if key in joined:
                first = joined[key][0]
                first.platforms += [p for p in build.platforms if p not in first.platforms]
                first.runners.update(build.runners)
            else:
                joined[key] = (build, combo)
                if build.how.endswith("by digest"):
                    build.how = build.how.removesuffix(" by digest")
                build.strategy = "native"
        return list(joined.values())

    # ------------------------------------------------------------------ actions

    def meta(self, doc: Document, at: Path_, with_: dict[str, Any], scope: Scope,
             found: Finding | None) -> dict[str, Any]:
        images = [self.ref(doc, (*at, "with", "images"), line, scope, found)
                  for line in lines_of(scope.text(with_.get("images"))[0])]
        images = [i for i in images if i]
        tags = with_.get("tags")
        tag_text, unresolved = scope.text(tags)
        if unresolved and found is not None:
            found.notes.append(Note(doc.file, *doc.at((*at, "with", "tags")), f"tag rules use {unresolved[0]}",
                                    "only env, matrix and inputs values are substituted"))
        lines = lines_of(tag_text) if tags is not None else \
            ["type=schedule", "type=ref,event=branch", "type=ref,event=tag", "type=ref,event=pr"]
        flavor = {}
        for item in list_of(scope.text(with_.get("flavor"))[0]):
            key, _, value = item.partition("=")
            flavor[key.strip()] = value.strip()
        where = (doc.file, *doc.at((*at, "with", "tags") if tags is not None else (*at, "uses"), key=tags is not None))
        # A block of rules (`tags: |`) starts on the line after its key, two columns in.
        block = isinstance(tags, str) and "\n" in tags
        places: dict[str, tuple[str, int, int]] = {}
        for number, text in enumerate(str(tags).split("\n") if block else []):
            places.setdefault(text.strip(), (where[0], where[1] + 1 + number, where[2] + 2))
        return {"images": images, "tags": lines, "flavor": flavor, "where": where, "places": places}

    def ref(self, doc: Document, at: Path_, text: str, scope: Scope, found: Finding | None) -> str:
        """An image reference without tag; "" (and a note) when it is not one."""
        text = text.strip()
        parts = dict(p.split("=", 1) for p in text.split(",") if "=" in p)
        if parts:  # metadata-action's `name=...,enable=...` form
            text = parts.get("name", "")
        if EXPR.search(text.replace("${{ github.repository_owner }}", "").replace("${{ github.repository }}", "")):
            if found is not None:
                found.notes.append(Note(doc.file, *doc.at(at), f"the image name {text} is not known before the run",
                                        "write it out in the spec"))
            return ""
        return text

    def login(self, with_: dict[str, Any], scope: Scope, found: Finding) -> None:
        host = scope.text(with_.get("registry"))[0] or "docker.io"
        login = Login(host)
        for key, attr in (("username", "username_secret"), ("password", "password_secret")):
            m = re.fullmatch(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", str(with_.get(key, "")).strip())
            if m:
                setattr(login, attr, m[1])
        found.logins.append(login)

    @staticmethod
    def cache_of(text: str) -> str:
        if "type=gha" in text:
            return "gha"
        if "type=registry" in text:
            return "registry"
        return "none"

    def build_push(self, doc: Document, at: Path_, with_: dict[str, Any], scope: Scope,
                   meta: dict[str, Any] | None, found: Finding | None) -> Build | None:
        def get(key: str) -> str:
            return scope.text(with_.get(key))[0]

        outputs = get("outputs")
        push = get("push")
        by_digest = "push-by-digest=true" in outputs
        if not by_digest and push.strip().lower() in ("", "false") and "push=true" not in outputs:
            return None  # a test build: loads or only builds
        line, col = doc.at(at)
        build = Build(doc.file, line, col, "build-push-action by digest" if by_digest else "build-push-action")
        context = get("context") or "."
        build.context = self.path(context)
        file = get("file")
        build.dockerfile = self.path(file) if file else ""
        build.target = get("target")
        for arg in lines_of(get("build-args")):
            key, _, value = arg.partition("=")
            build.build_args[key.strip()] = value.strip()
        build.platforms = list_of(get("platforms")) or ["linux/amd64"]
        build.cache = self.cache_of(get("cache-from") + get("cache-to"))
        provenance = get("provenance")
        build.provenance = "false" if provenance == "false" else "max" if "mode=max" in provenance else \
            "min" if provenance else ""
        build.sbom = get("sbom").lower() == "true"
        if by_digest:
            name = re.search(r'"?name=([^,"]+)', outputs)
            build.refs = [self.ref(doc, (*at, "with", "outputs"), r, scope, found)
                          for r in (name[1].split(",") if name else [])]
        elif meta:
            build.refs = list(meta["images"])
            self.take_meta(build, meta)
        else:
            tags = list_of(get("tags"))
            self.fixed_tags(doc, (*at, "with", "tags"), build, tags, found)
        build.refs = [r for r in dict.fromkeys(build.refs) if r]
        for key in ("secrets", "secret-files", "ssh", "build-contexts", "labels", "annotations"):
            from_meta = re.fullmatch(r"\$\{\{\s*steps\.[A-Za-z0-9_-]+\.outputs\.(labels|annotations)\s*\}\}",
                                     str(with_.get(key, "")).strip())
            if key in with_ and found is not None and not from_meta:  # metadata-action's: the engine's too
                found.notes.append(Note(doc.file, *doc.at((*at, "with", key), key=True), f"`{key}` is not carried",
                                        "the spec has no such input; a human must decide"))
        return build

    @staticmethod
    def take_meta(build: Build, meta: dict[str, Any]) -> None:
        build.tag_lines = list(meta["tags"])
        build.tags_at = meta.get("where")
        build.tag_places = dict(meta.get("places") or {})
        flavor = meta["flavor"]
        build.prefix, build.suffix = flavor.get("prefix", ""), flavor.get("suffix", "")
        build.latest = flavor.get("latest", "auto")
        build.onlatest = flavor.get("onlatest", "false").lower() == "true"

    def fixed_tags(self, doc: Document, at: Path_, build: Build, tags: list[str], found: Finding | None) -> None:
        """Tags written out (`ghcr.io/acme/app:1.0`): each a raw rule, or the rules an expression implies."""
        for tag in tags:
            ref, _, name = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
            ref = self.ref(doc, at, ref, Scope(), found)
            if ref:
                build.refs.append(ref)
            name = EXPR.sub(lambda m: "${{ " + m[1].replace(" ", "") + " }}", name)
            if name == "${{ github.ref_name }}":
                build.tag_lines += ["type=ref,event=branch", "type=ref,event=tag"]
            elif name == "${{ github.sha }}":
                build.tag_lines.append("type=sha,format=long")
                if found is not None:
                    found.notes.append(Note(doc.file, *doc.at(at), f"the tag {name} becomes sha-<full sha>",
                                            "metadata-action writes a full sha with a `sha-` prefix"))
            elif EXPR.search(name) or "$" in name:
                if found is not None:
                    found.notes.append(Note(doc.file, *doc.at(at), f"the tag {name} is not carried",
                                            "a tag made at run time; write a tag rule for it"))
            else:
                build.tag_lines.append(f"type=raw,value={name}")
        build.tag_lines = list(dict.fromkeys(build.tag_lines))

    @staticmethod
    def path(text: str) -> str:
        text = text.strip()
        if not text or text in (".", "./"):
            return "."
        return str(PurePosixPath(text.removeprefix("./"))) if not text.startswith("/") else text

    # ------------------------------------------------------------------ bake

    def bake(self, doc: Document, at: Path_, with_: dict[str, Any], scope: Scope,
             meta: dict[str, Any] | None, found: Finding | None) -> list[Build]:
        def get(key: str) -> str:
            return scope.text(with_.get(key))[0]

        if get("push").lower() != "true" and not get("push").startswith("${{") and \
                "*.output=type=registry" not in get("set") and "push=true" not in get("set"):
            return []
        files = [f for f in lines_of(get("files")) if not f.startswith("cwd://") and "${{" not in f] or \
            ["docker-bake.hcl"]
        line, col = doc.at(at)
        data: dict[str, Any] = {"target": {}, "group": {}, "variable": {}}
        for file in files:
            rel = self.path(file)
            if not self.inside(rel):
                if found is not None:
                    found.notes.append(Note(doc.file, *doc.at((*at, "with", "files")),
                                            f"the bake file {rel} is not read", "it is not in the repository"))
                continue
            if not rel.endswith(".hcl"):
                if found is not None:
                    found.notes.append(Note(doc.file, *doc.at((*at, "with", "files")),
                                            f"the bake file {rel} is not read", "the import reads HCL bake files"))
                continue
            if rel not in self.hcl:  # each bake file is parsed once, however many rows and steps read it
                self.spend_bytes(rel)
                self.hcl[rel] = load_hcl(self.root / rel, rel)
            loaded = self.hcl[rel]
            for block in ("target", "group", "variable"):
                for entry in as_list(loaded.get(block)):
                    if isinstance(entry, dict):
                        data[block].update({str(k): v for k, v in entry.items() if isinstance(v, dict)})
        variables = {k: str(v.get("default", "")) for k, v in data["variable"].items()}
        variables.update({k: scope.env[k] for k in variables if k in scope.env})

        def interpolate(value: Any) -> Any:
            if isinstance(value, str):
                return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: variables.get(m[1], m[0]), value)
            if isinstance(value, list):
                return [interpolate(v) for v in value]
            if isinstance(value, dict):
                return {k: interpolate(v) for k, v in value.items()}
            return value

        # A bake file may come from a pull request: each target resolves once and each group expands once,
        # so inherits and targets naming the same names many times over cost their length, never a product.
        resolved: dict[str, dict[str, Any]] = {}

        def resolve(name: str, depth: int = 0) -> dict[str, Any]:
            target = data["target"].get(name)
            if not isinstance(target, dict) or depth > 10:
                return {}
            if name not in resolved:
                merged: dict[str, Any] = {}
                for parent in dict.fromkeys(str(p) for p in as_list(target.get("inherits"))):
                    merged.update(resolve(parent, depth + 1))
                merged.update({k: v for k, v in target.items() if k != "inherits"})
                merged["inherits"] = as_list(target.get("inherits"))
                resolved[name] = merged
            return resolved[name]

        expanded: set[str] = set()

        def expand(names: list[str], depth: int = 0) -> list[str]:
            out: list[str] = []
            for name in dict.fromkeys(names):
                group = data["group"].get(name)
                if isinstance(group, dict) and depth < 10:
                    if name not in expanded:
                        expanded.add(name)
                        out += expand([str(t) for t in as_list(group.get("targets"))], depth + 1)
                elif name in data["target"]:
                    out.append(name)
            return list(dict.fromkeys(out))

        overrides: dict[str, dict[str, str]] = {}
        for item in lines_of(get("set")):
            key, _, value = item.partition("=")
            pattern, _, attribute = key.strip().rpartition(".")
            overrides.setdefault(pattern, {})[attribute] = value.strip()
        builds = []
        for name in expand(list_of(get("targets")) or ["default"]):
            target = interpolate(resolve(name))
            build = Build(doc.file, line, col, "bake")
            build.label = name
            build.context = self.path(str(target.get("context", ".")))
            dockerfile = str(target.get("dockerfile", "Dockerfile"))
            joined = str(PurePosixPath(build.context) / dockerfile)
            build.dockerfile = "" if joined == str(PurePosixPath(build.context) / "Dockerfile") else self.path(joined)
            build.target = str(target.get("target", ""))
            args = target["args"] if isinstance(target.get("args"), dict) else {}
            build.build_args = {str(k): str(v) for k, v in args.items()}
            build.platforms = [str(p) for p in as_list(target.get("platforms"))]
            caches = " ".join(str(c) for c in as_list(target.get("cache-from")) + as_list(target.get("cache-to")))
            build.cache = self.cache_of(caches)
            for pattern, values in overrides.items():
                if pattern in ("*", name):
                    if "platform" in values:
                        build.platforms = list_of(values["platform"])
                    if "cache-from" in values or "cache-to" in values:
                        build.cache = self.cache_of(values.get("cache-from", "") + values.get("cache-to", ""))
            build.platforms = build.platforms or ["linux/amd64"]
            if "docker-metadata-action" in target["inherits"] and meta:
                build.refs = list(meta["images"])
                self.take_meta(build, meta)
            else:
                self.fixed_tags(doc, at, build, [str(t) for t in as_list(target.get("tags"))], found)
            unread = [str(t) for t in as_list(target.get("tags")) if "${" in str(t)]
            if unread and found is not None:
                found.notes.append(Note(doc.file, line, col, f"bake target {name}: the tag {unread[0]} uses a "
                                        "variable without a default", "set the tag rule in the spec"))
            build.refs = [r for r in dict.fromkeys(build.refs) if r]
            builds.append(build)
        return builds

    # ------------------------------------------------------------------ docker buildx build

    def run_builds(self, doc: Document, at: Path_, run: str, scope: Scope, found: Finding | None) -> list[Build]:
        builds = []
        text = EXPR.sub(lambda m: "${{" + m[1].replace(" ", "") + "}}", re.sub(r"\\\n", " ", run))
        line, col = doc.at((*at, "run"))
        for command in re.split(r"\n|&&|;", text):
            try:
                words = shlex.split(command)
            except ValueError:
                continue
            if words[:3] == ["docker", "buildx", "build"]:
                words = words[3:]
            elif words[:2] == ["docker", "build"]:
                words = words[2:]
            else:
                continue
            build = Build(doc.file, line, col, "buildx run")
            tags: list[str] = []
            positional: list[str] = []
            push = False
            i = 0
            while i < len(words):
                word = words[i]
                name, eq, inline = word.partition("=")
                value = inline if eq else (words[i + 1] if i + 1 < len(words) else "")
                takes = not eq
                if name in ("-t", "--tag"):
                    tags.append(value)
                elif name == "--platform":
                    build.platforms = list_of(value)
                elif name in ("-f", "--file"):
                    build.dockerfile = self.path(value)
                elif name == "--target":
                    build.target = value
                elif name == "--build-arg":
                    key, _, v = value.partition("=")
                    build.build_args[key] = v
                elif name in ("--cache-from", "--cache-to"):
                    build.cache = self.cache_of(value) if build.cache == "none" else build.cache
                elif name == "--push" or (name == "--output" and "push=true" in value):
                    push = name == "--push" or True
                    takes = name != "--push"
                elif name == "--provenance":
                    build.provenance = "false" if value == "false" else "max" if "max" in value else "min"
                elif name == "--sbom":
                    build.sbom = value == "true"
                elif word.startswith("-"):
                    takes = False
                else:
                    positional.append(word)
                    takes = False
                i += 2 if takes else 1
            if not push:
                continue
            build.context = self.path(positional[-1]) if positional else "."
            build.platforms = build.platforms or ["linux/amd64"]
            self.fixed_tags(doc, (*at, "run"), build, tags, found)
            build.refs = [r for r in dict.fromkeys(build.refs) if r]
            builds.append(build)
        return builds

    # ------------------------------------------------------------------ digest legs and their merge

    def merge(self, doc: Document, digest_jobs: dict[str, list[tuple[Build, dict[str, Any]]]],
              merges: list[tuple[str, dict[str, Any]]], scope: Scope, found: Finding) -> None:
        for mid, mjob in merges:
            if not any(n in digest_jobs for n in needs_of(mjob)):
                found.other_jobs.append((mid, *doc.at(("jobs", mid), key=True)))
        for job_id, legs in digest_jobs.items():
            merge = next(((mid, m) for mid, m in merges if job_id in needs_of(m)), None)
            joined = self.join_legs(legs)
            if merge is None:
                build = joined[0][0]
                found.notes.append(Note(doc.file, build.line, build.column, "legs pushed by digest with no merge job",
                                        "no job that needs this one runs `imagetools create`; nothing is tagged"))
                continue
            mid, mjob = merge
            mat: Path_ = ("jobs", mid)
            mcombos = self.combos(doc, mat, mjob, scope, found)
            for build, combo in joined:
                mcombo = next((c for c in mcombos if all(combo.get(k) == v for k, v in c.items() if k in combo)),
                              mcombos[0])
                mscope = scope.child(matrix=mcombo).child(mjob.get("env"))
                metas = [(i, s) for i, s in enumerate(as_list(mjob.get("steps")))
                         if isinstance(s, dict) and str(s.get("uses", "")).startswith("docker/metadata-action")]
                if metas:
                    i, step = metas[0]
                    meta = self.meta(doc, (*mat, "steps", i), step.get("with") or {}, mscope, found)
                    self.take_meta(build, meta)
                    build.refs = build.refs or list(meta["images"])
                    extra = [r for r in meta["images"] if r not in build.refs]
                    build.refs += extra
                for step in as_list(mjob.get("steps")):
                    if not isinstance(step, dict):
                        continue
                    uses = str(step.get("uses", "")).split("@", 1)[0]
                    if uses == "docker/login-action" and mcombo is mcombos[0]:
                        self.login(step.get("with") or {}, mscope, found)
                    if "cosign sign" in str(step.get("run", "")) or uses == "sigstore/cosign-installer":
                        build.sign = True
                    if uses.startswith("actions/attest"):
                        build.attest = True
                build.strategy = "native"
                build.how = "build-push-action, merged with imagetools"
                found.builds.append(build)

    # ------------------------------------------------------------------ reusable workflows

    def call(self, doc: Document, at: Path_, job: dict[str, Any], uses: str, combos: list[dict[str, Any]],
             scope: Scope, found: Finding) -> None:
        with_: dict[str, Any] = job["with"] if isinstance(job.get("with"), dict) else {}
        if GITHUB_BUILDER.match(uses):
            for combo in combos:
                cscope = scope.child(matrix=combo)
                found.builds += self.github_builder(doc, at, uses, with_, job, cscope, found, combo is combos[0])
                if found.builds and len(combos) > 1:
                    found.builds[-1].label = label_of(combo, combos, set())
            return
        if not uses.startswith("./.github/workflows/"):
            return
        rel = uses.removeprefix("./")
        found.uses.add(rel)
        # GitHub runs local reusable workflows only from .github/workflows itself: nothing else is read (a
        # `../` would read a file outside the repository).
        if rel in self.stack or not re.fullmatch(r"\.github/workflows/[^/]+\.ya?ml", rel) or \
                rel.split("/")[-1].startswith(".") or not plain_name(rel) or not self.inside(rel):
            return
        called = self.doc(rel)
        data: dict[str, Any] = called.data if isinstance(called.data, dict) else {}
        on: dict[str, Any] = data["on"] if isinstance(data.get("on"), dict) else {}
        call: dict[str, Any] = on["workflow_call"] if isinstance(on.get("workflow_call"), dict) else {}
        declared: dict[str, Any] = call["inputs"] if isinstance(call.get("inputs"), dict) else {}
        before = len(found.builds)
        self.stack.append(rel)
        try:
            for combo in combos:
                cscope = scope.child(matrix=combo)
                inputs = {k: (v.get("default") if isinstance(v, dict) else None) for k, v in declared.items()}
                inputs.update(cscope.resolved(with_))
                inner = Scope(inputs={k: v for k, v in inputs.items() if v is not None}).child(data.get("env"))
                sub = Finding(rel)
                self.jobs(called, data.get("jobs") or {}, inner, sub)
                for build in sub.builds:
                    build.caller = doc.file
                    if len(combos) > 1 and not build.label:
                        build.label = label_of(combo, combos, set())
                found.builds += sub.builds
                found.logins += sub.logins
                if combo is combos[0] and sub.builds and sub.other_jobs:
                    other, other_line, other_column = sub.other_jobs[0]
                    found.notes.append(Note(rel, other_line, other_column, f"--replace keeps this workflow: job "
                                            f"`{other}` builds no image",
                                            "remove its image jobs by hand once the new workflows run"))
                    self.keep.add(rel)
                elif combo is combos[0] and sub.builds and sub.extra_steps:
                    what, what_line, what_column = sub.extra_steps[0]
                    found.notes.append(Note(rel, what_line, what_column, f"--replace keeps this workflow: {what} "
                                            "is not carried", "remove its image jobs by hand once the new workflows "
                                            "run"))
                    self.keep.add(rel)
                if combo is combos[0] and rel in self.keep:
                    # Its caller stays too: without it, what the reusable workflow does besides building never runs.
                    found.extra_steps.append((f"a call of {rel}, which does more than build", *doc.at(at, key=True)))
                found.ecr.update(sub.ecr)
                if combo is combos[0]:
                    found.notes += sub.notes
        finally:
            self.stack.pop()
        if len(found.builds) > before and rel not in found.called and rel not in self.keep:
            found.called.append(rel)

    def github_builder(self, doc: Document, at: Path_, uses: str, with_: dict[str, Any], job: dict[str, Any],
                       scope: Scope, found: Finding, first: bool) -> list[Build]:
        def get(key: str) -> str:
            return scope.text(with_.get(key))[0]

        if get("output") != "image" or get("push").lower() in ("", "false"):
            return []
        kind = "bake" if "/bake.y" in uses else "build"
        line, col = doc.at((*at, "uses"))
        meta = {"images": [self.ref(doc, (*at, "with", "meta-images"), r, scope, found if first else None)
                           for r in lines_of(get("meta-images"))],
                "tags": lines_of(get("meta-tags")) if with_.get("meta-tags") is not None else
                ["type=schedule", "type=ref,event=branch", "type=ref,event=tag", "type=ref,event=pr"],
                "flavor": {k.strip(): v.strip() for k, _, v in (i.partition("=") for i in list_of(get("meta-flavor")))}}
        if kind == "bake":
            bake_with = {"files": with_.get("files"), "targets": with_.get("target") or "default",
                         "set": with_.get("set"), "push": "true"}
            builds = self.bake(doc, at, bake_with, scope, meta, found if first else None)
            for build in builds:
                if not build.refs:
                    build.refs = [r for r in meta["images"] if r]
                    self.take_meta(build, meta)
        else:
            build = Build(doc.file, line, col, "github-builder")
            build.context = self.path(get("context") or ".")
            build.dockerfile = self.path(get("file")) if get("file") else ""
            build.target = get("target")
            for arg in lines_of(get("build-args")):
                key, _, value = arg.partition("=")
                build.build_args[key.strip()] = value.strip()
            build.platforms = list_of(get("platforms")) or ["linux/amd64"]
            build.refs = [r for r in meta["images"] if r]
            self.take_meta(build, meta)
            builds = [build]
        distribute = get("distribute").lower() != "false"
        runner = get("runner") or "default=ubuntu-24.04\nlinux/arm=ubuntu-24.04-arm\nlinux/arm64=ubuntu-24.04-arm"
        mapping = dict(line.split("=", 1) for line in lines_of(runner) if "=" in line) if "=" in runner else \
            {"default": runner.strip()}
        for build in builds:
            build.how = f"github-builder {kind}"
            build.cache = "gha" if get("cache").lower() == "true" else "none"
            build.sbom = get("sbom").lower() == "true"
            build.sign = get("sign").lower() == "true"
            build.strategy = "native" if distribute and len(build.platforms) > 1 else \
                "qemu" if get("setup-qemu").lower() == "true" else "buildx"
            for platform in build.platforms:
                label = next((v for k, v in sorted(mapping.items(), key=lambda kv: -len(kv[0]))
                              if k != "default" and (platform == k or platform.startswith(k + "/"))),
                             mapping.get("default", "ubuntu-24.04"))
                build.runners[platform] = label.strip()
        if first and builds:
            auths = job.get("secrets", {}).get("registry-auths") if isinstance(job.get("secrets"), dict) else None
            for entry in self.registry_auths(str(auths or "")):
                found.logins.append(entry)
            if get("sign").lower() in ("", "auto"):
                found.notes.append(Note(doc.file, line, col, "github-builder signs its attestation manifests",
                                        "the spec's `sign: true` signs the image with Cosign instead; decide"))
        return builds

    @staticmethod
    def registry_auths(text: str) -> list[Login]:
        """The `registry-auths` secret: YAML objects `- registry: ..., username: ..., password: ...`."""
        logins: list[Login] = []
        current: Login | None = None
        for raw in text.splitlines():
            m = re.match(r"\s*(-\s*)?([a-z-]+)\s*:\s*(.*)$", raw)
            if not m:
                continue
            key, value = m[2], m[3].strip().strip("'\"")
            if m[1] or current is None:
                current = Login("docker.io")
                logins.append(current)
            secret = re.fullmatch(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", value)
            if key == "registry":
                current.host = value
            elif key == "username" and secret:
                current.username_secret = secret[1]
            elif key == "password" and secret:
                current.password_secret = secret[1]
        return logins


def as_list(value: Any) -> list[Any]:
    """A list as written, a lone scalar as a list of one, anything else (a mapping, null) as none."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, str | int | float) and not isinstance(value, bool) else []


def needs_of(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs")
    if isinstance(needs, str):
        return [needs]
    return [n for n in needs if isinstance(n, str)] if isinstance(needs, list) else []


NAMING_KEYS = ("variant", "flavor", "flavour", "name", "image", "target", "tag", "distro", "version")


def label_of(combo: dict[str, Any], combos: list[dict[str, Any]], leg_keys: set[str]) -> str:
    """The matrix value that names this build among the others: a key called like a variant's name, else
    the first key whose values tell every row apart, else all of them."""
    keys = [k for k in sorted(combo) if k not in leg_keys and isinstance(combo[k], str | int | float)]
    for key in sorted(keys, key=lambda k: (NAMING_KEYS.index(k) if k in NAMING_KEYS else len(NAMING_KEYS), k)):
        values = [str(c.get(key)) for c in combos]
        if key in NAMING_KEYS or len(set(values)) == len(values):
            return str(combo[key])
    return ",".join(str(combo[k]) for k in keys)


def leaving(root: Path) -> str:
    """`.github` or `.github/workflows` when it is a symlink that leaves the repository (nothing is read
    through it, and import writes no spec there), else ""."""
    base = root.resolve()
    for part in (".github", WORKFLOWS_DIR):
        try:
            if (root / part).is_symlink() and not (root / part).resolve().is_relative_to(base):
                return part
        except (OSError, RuntimeError):  # a symlink loop
            return part
    return ""


def workflow_files(root: Path, named: list[str]) -> list[str]:
    """The workflow files to read, relative to root: the named ones, else .github/workflows/*.yml."""
    if part := leaving(root):
        raise UserError.single(part, "is a symlink that leaves the repository; import reads nothing there")
    if named:
        out = []
        base = root.resolve()
        for name in named:
            path = Path(name) if Path(name).is_absolute() else root / name
            try:
                rel = Path(os.path.normpath(path.absolute())).relative_to(base).as_posix()
            except ValueError:
                raise UserError.single(name, "is outside the repository (--from)",
                                       hint="name workflows inside the repository, such as .github/workflows/ci.yml") \
                    from None
            if not Recogniser(root).inside(rel):
                raise UserError.single(name, "is outside the repository (--from)",
                                       hint="a directory on the way is a symlink that leaves it")
            if not plain_name(rel):
                raise UserError.single(printable(name), "has a line break, control or format character in its name",
                                       hint="rename it") from None
            out.append(rel)
        return out
    directory = root / WORKFLOWS_DIR
    if not directory.is_dir():
        return []
    return sorted(f"{WORKFLOWS_DIR}/{p.name}" for p in directory.iterdir()
                  if p.suffix in (".yml", ".yaml") and plain_name(p.name) and not p.is_symlink() and p.is_file())


def plain_name(name: str) -> bool:
    """Whether a file's name can be written in the spec's `# from` comments as it is: no line break, control
    or format character (a pull request's file name would otherwise write YAML into the spec). GitHub reads
    workflows named like that all the same; import leaves them alone."""
    return name.isprintable() and not any(unicodedata.category(c) == "Cf" for c in name)


def platform_name(text: str) -> str:
    found = parse_platform(text)
    return found.name if found else ""
