"""What a run must have done, as lists of problems (empty when it behaved), so the mutation checks
can show that a broken workflow makes them speak.

The checks read only what the run did to the world (the stubs' and shims' records, the registry
model, the recorded step environments, act's job results) against what the spec promises
(expectations.py), never the workflow text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from . import model
from .expectations import Build, dependents, given, match
from .harness import ENTERED, HANDED, Run

LOGINS = ("docker/login-action", "aws-actions/configure-aws-credentials", "aws-actions/amazon-ecr-login",
          "google-github-actions/auth", "azure/login")
ARCH_SUFFIX = {"linux/amd64": "amd64", "linux/arm64": "arm64", "linux/arm/v7": "armv7", "linux/arm/v6": "armv6",
               "linux/386": "386", "linux/ppc64le": "ppc64le", "linux/s390x": "s390x", "linux/riscv64": "riscv64"}


class Facts:
    """A run's builds matched to the spec, and its registry writes followed back to their builds."""

    def __init__(self, run: Run, builds: dict[str, Build]) -> None:
        self.run, self.builds = run, builds
        self.problems: list[str] = []
        self.records = [r for r in run.of("build") if not r.get("failed")]
        self.label: dict[str, str] = {}  # build id -> spec label
        # Bases first: a build is told apart from its twin by the build its base reference names.
        for r in sorted(run.of("build"), key=lambda r: r["time"]):
            found = match(builds, r, self.base_label)
            if len(found) == 1:
                self.label[r["build"]] = found[0].label
            elif not r.get("failed"):
                what = "matches no build of the spec" if not found else f"matches {len(found)} builds of the spec"
                self.problems.append(f"a build of {r['platforms']} from {r['file']} (job {r['job']}) {what}")
        self.writes = run.registry["writes"]  # every tag written in this run, in order

    def base_label(self, record: dict[str, Any], name: str) -> str:
        """The build an input a record was given names: an OCI layout by the builds of this run that made its
        images; a reference by digest in this run's registry, by tag as it was seeded."""
        base = given(record, name)
        if base.get("source") == "oci-layout":
            owners = {self.label.get(b, "") for b in base["builds"].values()}
            return owners.pop() if len(owners) == 1 else ""
        ref = str(base.get("ref", "")).removeprefix("docker-image://")
        for reg in (self.run.registry, self.run.seeded):
            try:
                hit = model.resolve(reg, ref) if ref else None
            except SystemExit:
                return ""
            if hit is None:
                continue
            owners = {self.owner(m) or m.get("build", "").removeprefix("seed:")
                      for _, m in model.image_children(reg, hit[0], hit[2])}
            return owners.pop() if len(owners) == 1 else ""
        return ""

    def children(self, repo: str, digest: str) -> list[tuple[str, dict[str, Any]]]:
        store = self.run.registry["repos"][repo]["manifests"]
        return model.image_children(self.run.registry, repo, store[digest])

    def owner(self, image: dict[str, Any]) -> str:
        """The spec label of the build that made an image, "" when no build of this run did."""
        return self.label.get(image.get("build", ""), "")

    def published(self, label: str) -> dict[str, set[str]]:
        """repo -> digests of multi-platform results tagged for `label` in this run."""
        out: dict[str, set[str]] = {}
        for w in self.writes:
            kids = self.children(w["repo"], w["digest"])
            if kids and all(self.owner(m) == label for _, m in kids) and \
                    len(kids) == len(self.builds[label].platforms):
                out.setdefault(w["repo"], set()).add(w["digest"])
        return out

    @staticmethod
    def load_only(record: dict[str, Any]) -> bool:
        return all(e["type"] == "docker" for e in record["exporters"]) and bool(record["exporters"])

    @staticmethod
    def pushes(record: dict[str, Any]) -> bool:
        return any(e["type"] == "image" and e["push"] for e in record["exporters"])


# ------------------------------------------------------------------------------------------ common


def job_failures(run: Run) -> list[str]:
    """Every job that did not succeed, with the step that failed and what it said last."""
    out = []
    for j in run.jobs:
        if j["result"] == "success":
            continue
        where = f"job {j['job']}{' ' + json.dumps(j['matrix'], sort_keys=True) if j['matrix'] else ''}"
        out.append(f"{where}: {j['result']}{run.failed_step(j['job'], j['matrix'])}")
    if run.undeclared:
        out += [f"undeclared input: {u}" for u in run.undeclared]
    out += stopped(run)
    if run.returncode != 0 and not out:
        out.append(f"act failed: {run.error}")
    return out


def stopped(run: Run) -> list[str]:
    """Jobs act stopped that GitHub would have run: what the run shows of them is not GitHub's."""
    return [f"{job} never ran, though every job it needs succeeded (act stopped it after another job "
            "failed: harness.act_groups)" for job in run.stopped]


def unsupported(run: Run) -> list[str]:
    return [f"{r['kind']}: {r.get('args')}" for r in run.records if r["kind"].endswith("-unsupported")]


# What a runner executes without emulation. arm/v7 on an arm64 runner is left alone: whether it needs
# QEMU there is unverified (reference/multiarch-facts.md, section 5).
NATIVE = {"amd64": {"linux/amd64", "linux/386"}, "arm64": {"linux/arm64", "linux/arm/v7", "linux/arm/v6"}}
QEMU_NAMES = {"linux/arm64": {"arm64", "aarch64"}, "linux/arm/v7": {"arm"}, "linux/arm/v6": {"arm"},
              "linux/ppc64le": {"ppc64le"}, "linux/s390x": {"s390x"}, "linux/riscv64": {"riscv64"},
              "linux/amd64": {"amd64", "x86_64"}, "linux/386": {"386", "i386"}}


def runner_label(run: Run, workflow: str, job: str, matrix: dict[str, Any]) -> str:
    """The runner label a job ran on: its runs-on, with a matrix value filled in."""
    for doc in run.docs.values():
        if str(doc.get("name") or "") == workflow and job in (doc.get("jobs") or {}):
            runs_on = doc["jobs"][job].get("runs-on", "")
            value = runs_on[0] if isinstance(runs_on, list) else str(runs_on)
            m = re.fullmatch(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", value)
            return str(matrix.get(m[1], "")) if m else value
    return ""


def emulation(run: Run) -> list[str]:
    """Every build ran where its RUN steps can execute: on a runner of the platform's architecture, with
    QEMU set up in that job for the platform, or from a Dockerfile that runs nothing on the target
    platform (cross-compilation); otherwise BuildKit fails with `exec format error`."""
    from generator.dockerfile import read_dockerfile  # the tool's BuildKit-parser reading, as strategy auto uses

    problems = []
    target_runs: dict[tuple[str, str], list[str]] = {}
    qemu: dict[str, list[tuple[float, set[str]]]] = {}
    for r in run.of("setup-qemu"):
        qemu.setdefault(r["runner"], []).append((r["time"], {p.strip().lower() for p in r["platforms"]}))
    for r in run.of("build"):
        label = runner_label(run, r["workflow"], r["job"], r["matrix"])
        arch = "arm64" if label.endswith("-arm") or "arm64" in label else "amd64"
        for p in r["platforms"]:
            if p in NATIVE[arch]:
                continue
            names = QEMU_NAMES.get(p, {p}) | {p, "all"}
            if any(t < r["time"] and names & set_ for t, set_ in qemu.get(r["runner"], [])):
                continue
            key = (r["file"], r["target"])
            if key not in target_runs:
                info = read_dockerfile(run.directory / "repo" / r["file"], r["file"])
                target_runs[key] = [step.command for _, step in info.target_platform_runs(r["target"] or None)]
            runs_there = target_runs[key]
            if runs_there:
                problems.append(f"{p} built on {label} ({arch}) in job {r['job']} without QEMU for it, but "
                                f"{r['file']} runs {runs_there[0][:40]!r} on the target platform")
    return problems


def built_once(facts: Facts) -> list[str]:
    """Each (build, platform) of the spec built exactly once (a smoke test's load-only rebuild aside,
    which must rebuild what its own job built)."""
    problems = list(facts.problems)
    counts: Counter[tuple[str, str]] = Counter()
    made_here: set[tuple[str, str, str]] = set()
    for r in facts.records:
        label = facts.label.get(r["build"])
        if label is None or facts.load_only(r):
            continue
        for p in r["platforms"]:
            counts[(label, p)] += 1
            made_here.add((r["runner"], label, p))
    for b in facts.builds.values():
        for p in b.platforms:
            if counts[(b.label, p)] != 1:
                problems.append(f"{b.label} {p} built {counts[(b.label, p)]} times, not once")
    for r in facts.records:
        label = facts.label.get(r["build"])
        if label and facts.load_only(r) and any((r["runner"], label, p) not in made_here for p in r["platforms"]):
            problems.append(f"{label} {r['platforms']}: a load-only build in a job that did not build it")
    return problems


def secrets_seen(run: Run, *, logins_may: bool = False) -> list[str]:
    """Every place a sentinel secret reached: a step's environment or script, a stub's inputs. With
    logins_may (publishing runs), the login actions are the one place secrets may go."""
    problems = []
    texts = [(f"a run step of job {job}", _HANDED.sub("", text)) for job, text in run.step_dumps()
             if not (logins_may and any(f'client" "{action}"' in text for action in LOGINS))]
    texts += [(f"{r.get('action') or r['kind']} in job {r['job']}", json.dumps(r)) for r in run.records
              if not (logins_may and (r["kind"] == "login" or r.get("action") in LOGINS))]
    for name, value in run.sentinels.items():
        for where, text in texts:
            if value in text:
                problems.append(f"secret {name} reached {where}")
                break
    return problems


# harness.probe_called_workflows' variable in a step dump (`declare -px` quotes a value with line breaks as $'...').
_HANDED = re.compile(rf"""^declare -x {HANDED}=(\$'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")$""", re.M)


def secrets_handed(run: Run) -> list[str]:
    """The secrets a call handed the engine (its steps' HANDED): none on a run that publishes nothing for a pull
    request, though no step reads them (GITHUB_TOKEN aside, which GitHub gives every job)."""
    handed = {job: m[1] for job, text in run.step_dumps() if (m := _HANDED.search(text))}
    return [f"secret {name} handed to the engine (job {job})" for name, value in sorted(run.sentinels.items())
            if name != "GITHUB_TOKEN" for job in sorted(j for j, seen in handed.items() if value in seen)[:1]]


def nothing_published(facts: Facts) -> list[str]:
    run = facts.run
    problems = [f"{w['repo']}:{w['tag']} written" for w in facts.writes]
    for repo, store in run.registry["repos"].items():
        before = run.seeded["repos"].get(repo, {}).get("manifests", {})
        new = set(store["manifests"]) - set(before)
        if new:
            problems.append(f"{len(new)} manifest(s) pushed to {repo}")
    problems += [f"a build of {facts.label.get(r['build'], r['platforms'])} pushes ({r['exporters']})"
                 for r in run.of("build") if facts.pushes(r)]
    problems += [f"a build of {facts.label.get(r['build'], r['platforms'])} writes the cache ({r['cache_to']})"
                 for r in run.of("build") if r.get("cache_to")]
    for kind, what in (("imagetools-create", "a multi-platform tag was created"), ("cosign-sign", "cosign signed"),
                       ("attest", "an attestation was made")):
        problems += [f"{what} ({r.get('tags') or r.get('ref') or r.get('subject')}) in job {r['job']}"
                     for r in run.of(kind)]
    return problems


# ------------------------------------------------------------------------------------------- events


def pull_request(run: Run, builds: dict[str, Build]) -> list[str]:
    """Issue 13, 1: no login, no secret, nothing pushed, no cache written, no merge/sign/attest; and the
    pull request still builds every platform."""
    facts = Facts(run, builds)
    problems = job_failures(run) + unsupported(run)
    problems += [f"login step ran: {r['action']} in job {r['job']}" for r in run.of("stub") if r["action"] in LOGINS]
    problems += secrets_seen(run) + secrets_handed(run)
    problems += nothing_published(facts) + same_run_inputs(facts)
    problems += built_once(facts) + emulation(run)
    return problems


def manual_without_push(run: Run, builds: dict[str, Build]) -> list[str]:
    """Issue 13, 5: a manual run with push unticked builds everything and publishes nothing."""
    facts = Facts(run, builds)
    return (job_failures(run) + unsupported(run) + nothing_published(facts) + same_run_inputs(facts) + built_once(facts)
            + emulation(run))


def refused_ref(run: Run, builds: dict[str, Build]) -> list[str]:
    """DESIGN.md: a manual run publishes only from the configured refs. From one they name only when case
    is ignored (refs/heads/MAIN for main), as GitHub's and act's expressions compare, every leg stops before
    it logs in and says why: no login, no secret, no build, nothing pushed, and the run fails."""
    facts = Facts(run, builds)
    problems = [] if run.returncode != 0 else ["the run succeeded from a ref it must refuse"]
    problems += unsupported(run) + stopped(run)
    problems += [f"login step ran: {r['action']} in job {r['job']}" for r in run.of("stub") if r["action"] in LOGINS]
    problems += secrets_seen(run) + nothing_published(facts)
    problems += [f"{r['platforms']} built in job {r['job']} from a refused ref" for r in run.of("build")]
    # Judged by the step that failed, which act always reports: a step's last output line (the ::error, whose
    # wording tests/unit/test_manual_note.py checks) is sometimes lost when the step exits at once.
    failed = [str(e.get("step")) for e in run.log if e.get("stepResult") == "failure" and e.get("stage") == "Main"]
    if not failed or any(f != "Check the manual run's ref" for f in failed):
        problems.append(f"the legs did not stop at the ref check (failed steps: {failed})")
    return problems


def publishing(run: Run, builds: dict[str, Build]) -> list[str]:
    """Issue 13, 2: each (image, variant, platform) built once; legs push by digest; each tag holds
    exactly its build's images; verification ran before the tags; dependents get their base by digest."""
    facts = Facts(run, builds)
    problems = job_failures(run) + unsupported(run) + built_once(facts) + emulation(run)
    problems += secrets_seen(run, logins_may=True)
    problems += _legs(facts) + _tags(facts) + _verified(facts) + _dependents(facts) + _signed(facts)
    for b in builds.values():
        if not facts.published(b.label):
            problems.append(f"{b.label}: nothing tagged")
    return problems


def reached(run: Run, prefixes: tuple[str, ...]) -> list[str]:
    """A run that publishes to some registries only: tags written in each of them and in no other, and no
    login anywhere else (no OIDC exchange, no secret handed to a login) than the registries it publishes to."""
    problems = []
    written = {w["repo"] for w in run.registry["writes"]}
    problems += [f"wrote {repo}, a registry this run skips" for repo in sorted(written)
                 if not repo.startswith(prefixes)]
    problems += [f"nothing written under {prefix}" for prefix in prefixes
                 if not any(repo.startswith(prefix) for repo in written)]
    hosts = {prefix.split("/", 1)[0] for prefix in prefixes}
    # The OIDC exchanges, by the registries they serve.
    clouds = {"gcp": "-docker.pkg.dev", "azure": ".azurecr.", "aws": ".dkr.ecr.", "ecr": ".dkr.ecr."}
    for r in run.of("login"):
        where = r.get("registry", "")
        if where in clouds and not any(clouds[where] in host for host in hosts):
            problems.append(f"{r.get('action')} ran in job {r['job']}, for a registry this run skips")
        elif where not in clouds and where not in hosts:
            problems.append(f"logged in to {where} in job {r['job']}, a registry this run skips")
    return problems


def entered(run: Run) -> dict[str, str]:
    """The environment each job that ran took in this run (harness.probe_called_workflows), "" for none; jobs
    without an `environment:` are not in it."""
    found = {}
    for job, text in run.step_dumps():
        m = re.search(rf'^declare -x {ENTERED}="([^"]*)"$', text, re.M)
        if m:
            found[job] = m[1]
    return found


def held_in_environment(run: Run, docs: dict[str, dict[str, Any]], names: set[str],
                        reached: tuple[str, ...]) -> list[str]:
    """The jobs with an environment (the engine's merge and signing, which never run on pull requests) enter it
    exactly on the runs that publish to a registry it holds the secrets of (`reached`: the run's repository
    prefixes), so its protection rules hold up no other publish; the secrets `names` it holds reach only jobs
    inside it, and no leg pushes to its registries."""
    problems = []
    took = entered(run)
    inside = {job for job, environment in took.items() if environment}
    for doc in docs.values():
        held = str((doc.get("env") or {}).get("HELD", "")).split()
        if not held:
            continue
        pushes_there = any(prefix.startswith(tuple(held)) for prefix in reached)
        for job in (job for job, spec in doc.get("jobs", {}).items() if spec.get("environment") and job in took):
            if bool(took[job]) != pushes_there:
                problems.append(f"job {job} entered the environment {took[job]!r}, on a run that "
                                f"{'publishes' if pushes_there else 'does not publish'} to {', '.join(held)}"
                                if took[job] else f"job {job} entered no environment, on a run that publishes to "
                                f"{', '.join(held)}")
        for name in sorted(names):
            value = run.sentinels.get(name, "")
            problems += [f"secret {name} reached {r.get('action') or r['kind']} in job {r['job']}, outside the "
                         "environment" for r in run.records if value and value in json.dumps(r)
                         and r["job"] not in inside]
        problems += [f"a leg in job {r['job']} pushed to {p['repo']}, whose secrets an environment holds"
                     for r in run.of("build") for p in r.get("pushed", []) if p["repo"].startswith(tuple(held))]
    return problems


def _legs(facts: Facts) -> list[str]:
    """A build of some of its image's platforms is a leg: it pushes by digest, never a tag."""
    problems = []
    for r in facts.records:
        label = facts.label.get(r["build"])
        if label is None or facts.load_only(r) or set(r["platforms"]) == set(facts.builds[label].platforms):
            continue
        if not facts.pushes(r):
            problems.append(f"{label} leg {r['platforms']} pushed nothing")
        if any(e["type"] == "image" and e["push"] and not e["by_digest"] for e in r["exporters"]):
            problems.append(f"{label} leg {r['platforms']} pushes with tags, not by digest")
        problems += [f"{label} leg {r['platforms']} wrote {w['repo']}:{w['tag']}" for w in facts.writes
                     if w["by"] == r["build"]]
    return problems


def _tags(facts: Facts) -> list[str]:
    """Every tag written holds images of one build of this run, all its platforms (a per-architecture
    tag: its one platform), in one of its repositories, with its affixes; a merged index holds exactly
    the digests its legs pushed."""
    problems = []
    legs: dict[str, set[str]] = {}
    for r in facts.records:
        label = facts.label.get(r["build"])
        if label and not facts.load_only(r) and set(r["platforms"]) != set(facts.builds[label].platforms):
            legs.setdefault(label, set()).update(r["images"].values())
    for w in facts.writes:
        ref = f"{w['repo']}:{w['tag']}"
        kids = facts.children(w["repo"], w["digest"])
        owners = {facts.owner(m) for _, m in kids}
        if "" in owners:
            problems.append(f"{ref} holds an image no build of this run made")
            continue
        if len(owners) != 1:
            problems.append(f"{ref} mixes images of {sorted(owners)}")
            continue
        b = facts.builds[owners.pop()]
        platforms = [model.platform_text(m["platform"]) for _, m in kids]
        if w["repo"] not in b.repos:
            problems.append(f"{ref} holds {b.label}, whose repositories are {list(b.repos)}")
        bare = ("variant", "") in b.rules and w["tag"] == b.label.partition("/")[2]  # the variant's name alone
        if not bare and not (w["tag"].startswith(b.prefix) and (w["tag"].endswith(b.suffix)
                                                                or _per_arch(b, w["tag"], platforms))):
            problems.append(f"{ref} lacks {b.label}'s affix ({b.prefix!r}, {b.suffix!r})")
        if _per_arch(b, w["tag"], platforms):
            continue
        if sorted(platforms) != sorted(b.platforms):
            problems.append(f"{ref} holds {sorted(platforms)}, not {b.label}'s {sorted(b.platforms)}")
        if b.label in legs and {d for d, _ in kids} != legs[b.label]:
            problems.append(f"{ref} holds {sorted(d for d, _ in kids)}, not the digests {b.label}'s legs pushed "
                            f"({sorted(legs[b.label])})")
    return problems


def _per_arch(b: Build, tag: str, platforms: list[str]) -> bool:
    return b.per_arch_tags and len(platforms) == 1 and tag.endswith("-" + ARCH_SUFFIX.get(platforms[0], "?"))


def _verified(facts: Facts) -> list[str]:
    """No tag before verification (issue 15, 4): every platform image a tagged digest holds had its
    configuration read ({{json .Image}}) before the tag was written, and every index the tagging
    command merged was read (--raw) before that command ran, so a wrong platform is caught while
    nothing points at it yet. Digests name content, so a copy of a checked image into another
    registry is the image that was checked."""
    raw: dict[str, float] = {}  # digest -> when it was first read with --raw
    image: dict[str, float] = {}  # digest -> when its configuration was first read
    for r in facts.run.of("imagetools-inspect"):
        if r.get("failed"):
            continue
        repo = model.split_ref(r["ref"])[0]
        if r["raw"]:
            raw[r["digest"]] = min(raw.get(r["digest"], r["time"]), r["time"])
        elif ".Image" in r["format"]:
            for d in [r["digest"], *(d for d, _ in facts.children(repo, r["digest"]) if d)]:
                image[d] = min(image.get(d, r["time"]), r["time"])
    creates = {r["id"]: r for r in facts.run.of("imagetools-create") if not r.get("failed")}
    first_write: dict[tuple[str, str], dict[str, Any]] = {}
    for w in facts.writes:
        key = (w["repo"], w["digest"])
        if key not in first_write or w["time"] < first_write[key]["time"]:
            first_write[key] = w
    problems = []
    never = float("inf")
    for (repo, digest), w in sorted(first_write.items()):
        store = facts.run.registry["repos"][repo]["manifests"]
        where = f"{repo}:{w['tag']} ({digest[:19]})"
        if store[digest]["mediaType"] != model.INDEX:
            if image.get(digest, never) >= w["time"]:
                problems.append(f"{where}: tagged before its platform was checked")
            continue
        problems += [f"{where}: tagged before the platform of {d[:19]} was checked"
                     for d, _ in facts.children(repo, digest) if image.get(d, never) >= w["time"]]
        create = creates.get(w["by"])
        if create is None:
            problems.append(f"{where}: tagged by a build, not by a merge of verified digests")
            continue
        for src_ref, src in zip(create["sources"], create["source_digests"], strict=True):
            hit = model.resolve(facts.run.registry, src_ref)
            if hit and hit[2]["mediaType"] == model.INDEX and raw.get(src, never) >= create["time"]:
                problems.append(f"{where}: merged from {src_ref} before reading what it holds (--raw)")
    return problems


def _dependents(facts: Facts) -> list[str]:
    """A build that starts from others gets each by the digest that input's tags were given in this run."""
    problems = []
    for r in facts.records:
        label = facts.label.get(r["build"])
        for base, arg, context in facts.builds[label].inputs if label else ():
            ref = str(given(r, arg or context).get("ref", "")).removeprefix("docker-image://")
            repo, _, digest = model.split_ref(ref) if ref else ("", "", "")
            published = facts.published(base)
            if not digest:
                problems.append(f"{label} got its input {base} as {ref!r}, not by digest")
            elif digest not in published.get(repo, set()):
                problems.append(f"{label} got {ref}, not a digest {base}'s tags were given in this run "
                                f"({ {k: sorted(v) for k, v in published.items()} })")
    return problems


def same_run_inputs(facts: Facts) -> list[str]:
    """Runs that publish nothing (issue 16, defect 1): a build that starts from others gets each as the OCI
    layout that input's legs built in this run, the image of the platform it builds, and no build reads a
    registry for an image of this spec."""
    problems = []
    built = {r["build"]: r for r in facts.run.of("build") if not r.get("failed")}
    for r in facts.records:
        label = facts.label.get(r["build"])
        for base, arg, context in facts.builds[label].inputs if label else ():
            got = given(r, arg or context)
            if got.get("source") != "oci-layout":
                problems.append(f"{label} got its input {base} as {got.get('ref')!r} ({got.get('source')}), "
                                "not as the layout this run built")
                continue
            for platform, build in got["builds"].items():
                maker = built.get(build)
                if facts.label.get(build) != base or maker is None or platform not in maker["platforms"]:
                    problems.append(f"{label} {platform} got a layout image of {facts.label.get(build) or build}, "
                                    f"not {base}'s {platform} image built in this run")
    problems += [f"a build of {facts.label.get(r['build'], r['platforms'])} read {b['ref']} from the registry"
                 for r in facts.run.of("build") for b in r.get("bases") or [] if b.get("source") == "registry"]
    return problems


def _signed(facts: Facts) -> list[str]:
    problems = []
    signed = {(s["repo"], s["digest"]) for s in facts.run.registry.get("signatures", [])}
    attested = {r["subject"] for r in facts.run.of("attest")}
    for b in facts.builds.values():
        for repo, digests in facts.published(b.label).items():
            for d in digests:
                if b.sign and (repo, d) not in signed:
                    problems.append(f"{b.label}: {repo}@{d[:19]} was published unsigned")
            if b.attest and repo.startswith("ghcr.io/") and not any(f"{repo}@{d}" in attested for d in digests):
                problems.append(f"{b.label}: {repo} was published without an attestation")
    return problems


# -------------------------------------------------------------------------------------------- tags


def _release_key(tag: str) -> tuple[int, int, int, bool] | None:
    m = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?", tag)
    return None if m is None else (int(m[1]), int(m[2]), int(m[3]), m[4] is None)


def release_tags(run: Run, builds: dict[str, Build], pushed: str, existing: tuple[str, ...]) -> list[str]:
    """Issue 13, 3: a version tag moves latest, MAJOR and MAJOR.MINOR only when it is the highest
    release (of all, of its major, of its minor); a pre-release moves none of them, nor a variant's bare name
    (the `variant` rule), which moves as latest does."""
    key = _release_key(pushed)
    assert key is not None
    major, minor, _patch, final = key
    version = pushed.removeprefix("v")
    releases = [k for t in existing if (k := _release_key(t)) and k[3]]
    highest = final and all(k[:3] <= key[:3] for k in releases)
    major_highest = final and major > 0 and all(k[:3] <= key[:3] for k in releases if k[0] == major)
    minor_highest = final and all(k[:3] <= key[:3] for k in releases if k[:2] == (major, minor))
    written = {(w["repo"], w["tag"]): w["digest"] for w in run.registry["writes"]}
    problems = []
    for b in builds.values():
        floating = b.floating()
        want = {b.tag(version): True,
                b.tag("latest"): highest,
                b.tag(str(major)): floating["major"] and major_highest,
                b.tag(f"{major}.{minor}"): floating["minor"] and minor_highest}
        if ("variant", "") in b.rules and "/" in b.label:  # the variant's bare name is its latest
            want[b.label.rsplit("/", 1)[1]] = highest
        for repo in b.repos:
            for tag, expected in want.items():
                if (repo, tag) in written and not expected:
                    problems.append(f"{pushed} moved {repo}:{tag}")
                if expected and (repo, tag) not in written:
                    problems.append(f"{pushed} did not write {repo}:{tag}")
    return problems


def failed_build(run: Run, builds: dict[str, Build], failed: str) -> list[str]:
    """Issue 13, 4: when a leg (or its smoke test) of `failed` fails, no tag in any registry points at
    anything this run built for it or for a build that starts from it; and the failure shows."""
    facts = Facts(run, builds)
    blocked = {failed} | dependents(builds, failed)
    problems = [] if run.returncode != 0 else ["the run succeeded although a build failed"]
    problems += unsupported(run) + stopped(run)
    # Whether or not it got as far as writing a tag, a merge must not even start for a failed build.
    for r in run.of("imagetools-create"):
        for ref in r["tags"]:
            repo, tag, _ = model.split_ref(ref)
            owner = tag_owner(builds, repo, tag)
            if owner in blocked:
                problems.append(f"a merge for {owner} ran although {failed} failed (imagetools create --tag {ref})")
    for w in facts.writes:
        owners = {facts.owner(m) for _, m in facts.children(w["repo"], w["digest"])}
        if owners & blocked:
            problems.append(f"{w['repo']}:{w['tag']} points at a build of {sorted(owners & blocked)} "
                            f"although {failed} failed")
    return problems


def refused_by_verification(run: Run, builds: dict[str, Build], failed: str) -> list[str]:
    """Issue 15, 4: the legs of `failed` built and pushed by digest, and succeeded; an image they pushed
    is built for another platform than its entry claims (the planted fault); a later step failed with
    an error naming that image, before anything was tagged (failed_build: nothing of it is)."""
    facts = Facts(run, builds)
    legs = [r for r in facts.records if facts.label.get(r["build"]) == failed and not facts.load_only(r)]
    if not legs:
        return [f"no build of {failed} ran"]
    problems = []
    wrong = []  # (digest, platform its entry claims, platform it is built for)
    for r in legs:
        where = f"{failed} leg {r['platforms']} (job {r['job']})"
        if not any(e["type"] == "image" and e["push"] and e["by_digest"] for e in r["exporters"]):
            problems.append(f"{where} did not push by digest")
        result = next((j["result"] for j in run.jobs if (j["job"], j["matrix"]) == (r["job"], r["matrix"])), "")
        if result != "success":
            problems.append(f"{where}: {result or 'no result'}, so its verification was never the one to refuse it")
        for repo in {p["repo"] for p in r["pushed"]}:
            for platform, digest in r["images"].items():
                built = model.platform_text(run.registry["repos"][repo]["manifests"][digest]["config"])
                if built != platform:
                    wrong.append((digest, platform, built))
    if not wrong:
        problems.append(f"no image {failed} pushed is built for another platform than it claims: no fault to catch")
    failed_steps = {(e.get("job"), str(e.get("step"))) for e in run.log
                    if e.get("stepResult") == "failure" and e.get("stage") == "Main"}
    said = [e for e in run.log if e.get("command") == "error" and (e.get("job"), str(e.get("step"))) in failed_steps]
    for digest, platform, built in sorted(set(wrong)):
        if not any(digest in str(e.get("arg", "")) for e in said):
            problems.append(f"no failed step named {digest[:19]}, the {platform} image of {failed} built for {built}")
    return problems


def tag_owner(builds: dict[str, Build], repo: str, tag: str) -> str:
    """The build a tag in a repository belongs to: the one whose affixes it carries (the longest)."""
    fits = [b for b in builds.values() if repo in b.repos and tag.startswith(b.prefix) and tag.endswith(b.suffix)]
    return max(fits, key=lambda b: len(b.prefix) + len(b.suffix)).label if fits else ""


def others_published(run: Run, builds: dict[str, Build], failed: str) -> list[str]:
    """A failed leg blocks only its own build and its dependents (DESIGN.md): the rest still publish."""
    facts = Facts(run, builds)
    blocked = {failed} | dependents(builds, failed)
    return stopped(run) + [f"{b.label} was not published although only {failed} failed" for b in builds.values()
                           if b.label not in blocked and not facts.published(b.label)]
