"""The events each sample is run against, and which checks judge each run.

Every sample: a pull request and a fork's, a push to main, three version tags against a repository
that already holds v1.2.0 and v1.3.0 (the highest, a lower patch, a pre-release), manual runs with push
ticked and unticked (and ticked on a branch that is not a publishing one, and on main in capitals), and a
tag push whose build fails on one platform. Where the workflows have a schedule, a scheduled run; where they
run on merge queues, a queued group (judged as a pull request); for a sample per strategy, a tag push whose image for
one platform is built for another (VERIFIED); where a build has a smoke test, a run whose image crashes
on one platform and one whose image prints the wrong thing. A sample with CalVer releases (CALVER) gets a published
GitHub release instead of the version tags (the highest, and one below a later release), and the exact
tags its push, releases and schedule write.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.platforms import parse_platform
from generator.spec import load_spec

from . import checks, expectations, harness
from .expectations import Build

SAMPLES = Path(__file__).resolve().parents[2] / "sample-projects"
EXISTING = ("v1.2.0", "v1.3.0")
# What each sample's images print when a smoke test runs them (the software, not the check): the
# hello tool of sample-projects/smoke-test answers --version with its version and compiler.
# Where a tag push plants an image built for another platform than its entry claims (wrong-platform):
# a build per strategy, each tagging in its engine's merge job after verification. qemu (webapp's
# worker, objective: cost): one leg builds both platforms under emulation, beside an independent image
# that must still be tagged; buildx: one leg cross-compiles six; native: a leg per platform, beside an
# independent image. The build, by label (None: the failed-leg case's).
VERIFIED: dict[str, str | None] = {"webapp": "worker", "go-cross": None, "native-services": None}
# Samples whose releases are CalVer (2025.08.0), which semver cannot parse: their version-tag cases
# would not start their workflows. Instead a published GitHub release of this name, above the one the
# repository holds, is judged by the exact tags each event writes (TAGS; <sha>, <date> filled in),
# and the failed-leg case is that release.
CALVER: dict[str, tuple[str, str]] = {"appliance": ("2025.08.0", "2025.07.1")}
# The same release published while a higher one of its scheme exists: latest stays where it was.
CALVER_LOWER: dict[str, tuple[str, str]] = {"appliance": ("2025.08.0", "2025.09.1")}
TAGS: dict[tuple[str, str], tuple[str, ...]] = {
    # latest too: 2025.08.0 is the highest release (zero-padded months compare as numbers).
    ("appliance", "release"): ("2025.08.0", "sha-<sha>", "latest"),
    # 2025.09.1 is higher: the release's own tag and its commit's, never latest.
    ("appliance", "release-lower"): ("2025.08.0", "sha-<sha>"),
    ("appliance", "schedule"): ("<date>", "nightly", "edge", "sha-<sha>"),
    ("appliance", "push-main"): ("edge", "sha-<sha>"),
}
# Samples whose registry cache has per-branch keys (cache: {repository, key}): each leg's reference, {arch}
# and {branch} filled in. A run reads its branch's key and the default branch's, and writes only its own,
# only when it publishes; a push to a release branch (added for these samples) shows the fallback to main.
CACHE_KEYS: dict[str, str] = {"compile-heavy": "type=registry,ref=ghcr.io/acme/cache:mediad-{arch}-{branch}"}
# The branch a scenario's keys name (a pull request's head branch; tags and releases the default branch's).
BRANCH_KEY = {"push-release": "release-1.x", "pull-request": "feature", "fork-pull-request": "feature",
              "manual-push-other-branch": "experiment"}
# Samples whose registries differ by run (registries[].on, skip-without-secret): their own cases instead of the
# usual ones (which other samples run), each judged by the registries it must publish to, log in to, and no
# other (REACHED: case -> hosts/namespaces, each a repository prefix; <owner> is the repository's owner).
REGISTRY_CASES: dict[str, tuple[str, ...]] = {
    "multi-registry": ("pull-request", "push-main", "push-develop", "tag-highest"),
}
REACHED: dict[tuple[str, str], tuple[str, ...]] = {
    ("multi-registry", "push-main"): ("ghcr.io/acme/", "europe-docker.pkg.dev/acme-prod/images/"),
    ("multi-registry", "push-develop"): ("ghcr.io/acme/",),
    ("multi-registry", "tag-highest"): ("ghcr.io/acme/", "docker.io/acme/", "europe-docker.pkg.dev/acme-prod/images/"),
    # skip-without-secret: a mirror without the Docker Hub token publishes the release everywhere else.
    ("multi-cloud", "tag-without-hub-token"): ("ghcr.io/acme/", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/",
                                               "europe-docker.pkg.dev/acme-prod/images/", "acme.azurecr.io/"),
}
# Cases beside a sample's usual ones, judged as REGISTRY_CASES' are.
EXTRA_CASES: dict[str, tuple[str, ...]] = {"multi-cloud": ("tag-without-hub-token",)}
# The legs' first step checks a manual run's ref with its case, the same step in every engine: a sample of
# each strategy (native, buildx, qemu: webapp's worker) runs from MAIN, to keep the suite short.
REF_CASE = {"minimal", "go-cross", "webapp"}
# "Re-run all jobs" is the same workflow run: each upload meets its first attempt's artifact of the same name
# (the digests on publishing runs, the OCI layouts handed to dependents on pull requests).
RERUN: dict[str, str] = {"minimal": "push-main", "robotics": "pull-request"}
# Samples run for a few events only, to keep the suite short: the ROS stack's point is how its dependents
# get their inputs (the same run's OCI layouts on a pull request, digests on a push), and that a lower fix
# release leaves the variants' bare names (core-humble) where they are. remote-desktop (36 images, 40% of
# the suite's act time) runs every event once: the lower release, the pre-release and the ticked manual
# run are judged on every other sample.
ONLY: dict[str, tuple[str, ...]] = {
    "ros-stack": ("pull-request", "push-main", "tag-lower"),
    "remote-desktop": ("pull-request", "fork-pull-request", "push-main", "tag-highest", "manual-no-push",
                       "manual-push-other-branch", "failed-leg"),
}
PROGRAMS: dict[str, tuple[dict[str, Any], ...]] = {
    "smoke-test": ({"args": ["--version"], "output": "hello 1.4.0 (12.2.0)", "exit": 0},),
}


@dataclass(frozen=True)
class Case:
    sample: str
    scenario: harness.Scenario
    check: str  # which checks judge it (CHECKS)
    failed: str = ""  # the build an injected failure breaks

    @property
    def id(self) -> str:
        return f"{self.sample}-{self.scenario.name}"


@functools.cache
def builds(sample: str) -> dict[str, Build]:
    return expectations.load(SAMPLES / sample, harness.OWNER)


@functools.cache
def docs(sample: str) -> dict[str, dict[str, Any]]:
    return harness.workflow_docs(SAMPLES / sample)


@functools.cache
def weight(sample: str) -> int:
    """How long a sample's runs take, roughly: its workflows' size."""
    return sum(len(p.read_bytes()) for p in (SAMPLES / sample / ".github/workflows").glob("*.y*ml"))


def failing_target(sample: str) -> tuple[Build, str]:
    """The build whose last platform fails: one with dependents first (their blocking is the point),
    then any with more than one platform."""
    every = builds(sample)
    multi = [b for b in every.values() if len(b.platforms) > 1] or list(every.values())
    with_dependents = [b for b in multi if expectations.dependents(every, b.label)]
    chosen = (with_dependents or multi)[0]
    return chosen, chosen.platforms[-1]


def _failure(build: Build, platform: str) -> dict[str, Any]:
    context, file, target, args = build.recipes[platform]
    return {"platform": platform, "context": context, "file": file, "target": target, "build_args": dict(args)}


def registry_cases(sample: str, names: tuple[str, ...]) -> list[Case]:
    S = harness.Scenario
    every = {
        "pull-request": Case(sample, S("pull-request", "pull_request"), "pull_request"),
        "push-main": Case(sample, S("push-main", "push"), "registries"),
        "push-develop": Case(sample, S("push-develop", "push", ref="refs/heads/develop"), "registries"),
        "tag-highest": Case(sample, S("tag-highest", "push", ref="refs/tags/v1.4.0", existing_tags=EXISTING),
                            "registries"),
        "tag-without-hub-token": Case(sample, S("tag-without-hub-token", "push", ref="refs/tags/v1.4.0",
                                                existing_tags=EXISTING,
                                                withheld=("DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN")), "registries"),
    }
    return [every[name] for name in names]


def cases(sample: str) -> list[Case]:
    if sample in REGISTRY_CASES:
        return registry_cases(sample, REGISTRY_CASES[sample])
    return usual_cases(sample) + registry_cases(sample, EXTRA_CASES.get(sample, ()))


def usual_cases(sample: str) -> list[Case]:
    S = harness.Scenario
    programs = PROGRAMS.get(sample, ())
    calver = CALVER.get(sample)
    released = (S("release", "release", ref=f"refs/tags/{calver[0]}", existing_tags=calver[1:], programs=programs)
                if calver else
                S("tag-highest", "push", ref="refs/tags/v1.4.0", existing_tags=EXISTING, programs=programs))
    out = [
        Case(sample, S("pull-request", "pull_request", programs=programs), "pull_request"),
        Case(sample, S("fork-pull-request", "pull_request", fork=True, programs=programs), "pull_request"),
        Case(sample, S("push-main", "push", programs=programs), "publishing"),
    ]
    if calver:
        lower = CALVER_LOWER[sample]
        out += [Case(sample, released, "publishing"),
                Case(sample, S("release-lower", "release", ref=f"refs/tags/{lower[0]}", existing_tags=lower[1:],
                               programs=programs), "publishing")]
    else:
        out += [
            Case(sample, released, "release"),
            Case(sample, S("tag-lower", "push", ref="refs/tags/v1.2.1", existing_tags=EXISTING, programs=programs),
                 "release"),
            Case(sample, S("tag-prerelease", "push", ref="refs/tags/v1.4.0-rc.1", existing_tags=EXISTING,
                           programs=programs), "release"),
        ]
    out += [
        Case(sample, S("manual-push", "workflow_dispatch", push_input="true", programs=programs), "publishing"),
        Case(sample, S("manual-no-push", "workflow_dispatch", push_input="false", programs=programs), "no_push"),
        # DESIGN.md: a manual run publishes only from the configured refs, push ticked or not.
        Case(sample, S("manual-push-other-branch", "workflow_dispatch", ref="refs/heads/experiment",
                       push_input="true", programs=programs), "no_push"),
    ]
    if sample in REF_CASE:  # ... and main with its case: GitHub's expressions take MAIN for main, the legs must not.
        out.append(Case(sample, S("manual-push-main-upper-case", "workflow_dispatch", ref="refs/heads/MAIN",
                                  push_input="true", programs=programs), "refused_ref"))
    if harness.has_trigger(docs(sample), "schedule"):
        out.append(Case(sample, S("schedule", "schedule", programs=programs), "publishing"))
    if sample in CACHE_KEYS:
        out.append(Case(sample, S("push-release", "push", ref="refs/heads/release/1.x", programs=programs),
                        "publishing"))
    if harness.has_trigger(docs(sample), "merge_group"):
        # A merge queue's group holds pull requests' code, forks' included: judged as a pull request is.
        out.append(Case(sample, S("merge-queue", "merge_group", programs=programs), "pull_request"))
    build, platform = failing_target(sample)
    out.append(Case(sample, replace(released, name="failed-leg", fail_builds=(_failure(build, platform),)),
                    "failed", build.label))
    if sample in VERIFIED:
        # The leg succeeds, but one platform's image is built for another: the merge's verification
        # must refuse it before any tag points at it.
        # Komodo's bug where it applies: the arm64 entry holding an amd64 image.
        label = VERIFIED[sample]
        build = builds(sample)[label] if label else build
        claimed = "linux/arm64" if "linux/arm64" in build.platforms[1:] else build.platforms[-1]
        wrong = {**_failure(build, claimed), "built_for": build.platforms[0]}
        out.append(Case(sample, S("wrong-platform", "push", ref="refs/tags/v1.4.0", existing_tags=EXISTING,
                                  wrong_platform=(wrong,), programs=programs), "unverified", build.label))
    tested = [b for b in builds(sample).values() if b.test]
    if tested:
        b = tested[0]
        crash = {"platform": b.platforms[-1], "exit": 139, "output": "Segmentation fault (core dumped)"}
        wrong = {"platform": b.platforms[0], "args": None, "output": "hello", "exit": 0}
        for name, rule in (("smoke-crash", crash), ("smoke-wrong-output", wrong)):
            out.append(Case(sample, S(name, "push", ref="refs/tags/v1.4.0", existing_tags=EXISTING,
                                      programs=(rule, *programs)), "failed", b.label))
    out += [replace(c, scenario=replace(c.scenario, name=f"{c.scenario.name}-rerun", rerun=True))
            for c in out if c.scenario.name == RERUN.get(sample)]
    return [c for c in out if c.scenario.name in ONLY[sample]] if sample in ONLY else out


def judge(case: Case, run: harness.Run) -> list[str]:
    every = builds(case.sample)
    if case.check in ("pull_request", "no_push", "publishing", "release"):
        return _judge(case, run, every) + cache_keys(case, run)
    return _judge(case, run, every)


def cache_keys(case: Case, run: harness.Run) -> list[str]:
    """Where CACHE_KEYS lists the sample: every leg reads exactly its branch's key and the default branch's
    (one key on the default branch), and writes its branch's only when the run publishes."""
    reference = CACHE_KEYS.get(case.sample)
    if reference is None:
        return []
    branch = BRANCH_KEY.get(case.scenario.name, "main")
    problems = []
    for r in run.of("build"):
        arch = parse_platform(r["platforms"][0]).arch  # type: ignore[union-attr]  # a leg per platform
        own, fallback = (reference.replace("{arch}", arch).replace("{branch}", b) for b in (branch, "main"))
        reads = [own] if own == fallback else [own, fallback]
        writes = [f"{own},mode=max,ignore-error=true"] if case.check in ("publishing", "release") else []
        if (r["cache_from"], r["cache_to"]) != (reads, writes):
            problems.append(f"{case.scenario.name}: the {r['platforms']} leg reads {r['cache_from']} and writes "
                            f"{r['cache_to']}, not {reads} and {writes}")
    return problems


def _judge(case: Case, run: harness.Run, every: dict[str, Build]) -> list[str]:
    if case.check == "pull_request":
        return checks.pull_request(run, every)
    if case.check == "no_push":
        return checks.manual_without_push(run, every)
    if case.check == "refused_ref":
        return checks.refused_ref(run, every)
    if case.check == "publishing":
        return checks.publishing(run, every) + exact_tags(case, run, every)
    if case.check == "release":
        pushed = case.scenario.ref.removeprefix("refs/tags/")
        return checks.publishing(run, every) + checks.release_tags(run, every, pushed, case.scenario.existing_tags)
    if case.check == "registries":
        reached = REACHED[(case.sample, case.scenario.name)]
        return checks.publishing(run, only_reached(every, case)) + checks.reached(run, reached) + \
            checks.held_in_environment(run, docs(case.sample), held_secrets(case.sample), reached)
    if case.check == "failed":
        return checks.failed_build(run, every, case.failed)
    if case.check == "unverified":
        return checks.failed_build(run, every, case.failed) + checks.refused_by_verification(run, every, case.failed)
    raise ValueError(case.check)


@functools.cache
def held_secrets(sample: str) -> set[str]:
    """The secrets of the sample's registries that an environment holds."""
    return {s for r in load_spec(SAMPLES / sample).registries if r.environment
            for s in (r.username_secret, r.password_secret) if s}


def only_reached(every: dict[str, Build], case: Case) -> dict[str, Build]:
    """The builds with only the repositories this run publishes to (the others must stay untouched)."""
    prefixes = REACHED[(case.sample, case.scenario.name)]
    return {label: replace(b, repos=tuple(r for r in b.repos if r.startswith(prefixes))) for label, b in every.items()}


def exact_tags(case: Case, run: harness.Run, every: dict[str, Build]) -> list[str]:
    """Where TAGS lists a case: every build writes exactly those tags (with its affixes) in each of its
    repositories, <sha> the run's short commit, <date> its UTC day (YYYYMMDD, on either side of midnight)."""
    wanted = TAGS.get((case.sample, case.scenario.name))
    if wanted is None:
        return []
    sha = harness._git(run.directory / "repo", "rev-parse", "--short=7", "HEAD").strip()
    times = [w["time"] for w in run.registry["writes"]]
    days = {datetime.fromtimestamp(t, UTC).strftime("%Y%m%d") for t in [*times, min(times, default=0) - run.seconds]}
    problems = []
    for b in every.values():
        for repo in b.repos:
            written = {w["tag"] for w in run.registry["writes"] if w["repo"] == repo}
            dated = {t for t in written if "<date>" in wanted and any(t == b.tag(d) for d in days)}
            want = {b.tag(t.replace("<sha>", sha)) for t in wanted if t != "<date>"}
            if "<date>" in wanted and len(dated) != 1:
                problems.append(f"{case.scenario.name}: {repo} date tags {sorted(dated)}, not one of {sorted(days)}")
            if written - dated != want:
                problems.append(f"{case.scenario.name}: {repo} got tags {sorted(written)}, not {sorted(want)}"
                                + (" and the date" if "<date>" in wanted else ""))
    return problems


class Runs:
    """Runs cases in parallel, each once per session: each act process runs its jobs one at a time
    (harness: --concurrent-jobs 1) and often waits on the processes its steps start, so a pool a little
    wider than the CPUs keeps them busy."""

    def __init__(self, toolkit: harness.Toolkit, root: Path, workers: int | None = None) -> None:
        self.toolkit, self.root = toolkit, root
        self.workers = workers or int(os.environ.get("BEHAVIOUR_WORKERS", "0")) or (os.cpu_count() or 2) + 2
        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="act")
        self.futures: dict[str, Future[harness.Run]] = {}

    def submit(self, case: Case, edit: Callable[[Path], None] | None = None, key: str = "") -> Future[harness.Run]:
        key = key or case.id
        if key not in self.futures:
            self.futures[key] = self.pool.submit(self._run, case, edit, key)
        return self.futures[key]

    def _run(self, case: Case, edit: Callable[[Path], None] | None, key: str) -> harness.Run:
        """The case's run; once more, from scratch, if act itself died of its map race (nektos/act#6055:
        parallel matrix legs of a called workflow still write act's action cache map without a lock). A run
        that fails otherwise is never retried."""
        for attempt in range(3):
            directory = self.root / (key if not attempt else f"{key}-retry-{attempt}")
            run = harness.run_scenario(self.toolkit, SAMPLES / case.sample, case.scenario, directory,
                                       expectations.seed(builds(case.sample)), edit)
            if harness.ACT_CRASH not in (directory / "act.log").read_text(errors="replace"):
                break
        return run

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
