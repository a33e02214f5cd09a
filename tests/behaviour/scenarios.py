"""The events each sample is run against, and which checks judge each run.

Every sample: a pull request and a fork's, a push to main, three version tags against a repository
that already holds v1.2.0 and v1.3.0 (the highest, a lower patch, a pre-release), manual runs with push
ticked and unticked (and ticked on a branch that is not a publishing one), and a tag push whose build
fails on one platform. Where the workflows have a
schedule, a scheduled run; for a sample per strategy, a tag push whose image for one platform is built
for another (VERIFIED); where a build has a smoke test, a run whose image crashes on one platform
and one whose image prints the wrong thing. A sample with CalVer releases (CALVER) gets a published
GitHub release instead of the version tags, and the exact tags its push, release and schedule write.
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
TAGS: dict[tuple[str, str], tuple[str, ...]] = {
    # latest too: 2025.08.0 is the highest release. The tag rule moves latest on every release (the
    # spec language has no forward-only latest for CalVer yet), so no lower release is run here.
    ("appliance", "release"): ("2025.08.0", "sha-<sha>", "latest"),
    ("appliance", "schedule"): ("<date>", "nightly", "edge", "sha-<sha>"),
    ("appliance", "push-main"): ("edge", "sha-<sha>"),
}
# Samples run for a few events only, to keep the suite short: the ROS stack's point is how its dependents
# get their inputs (the same run's OCI layouts on a pull request, digests on a push).
ONLY: dict[str, tuple[str, ...]] = {"ros-stack": ("pull-request", "push-main")}
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


def cases(sample: str) -> list[Case]:
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
        out.append(Case(sample, released, "publishing"))
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
    if harness.has_trigger(docs(sample), "schedule"):
        out.append(Case(sample, S("schedule", "schedule", programs=programs), "publishing"))
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
    return [c for c in out if c.scenario.name in ONLY[sample]] if sample in ONLY else out


def judge(case: Case, run: harness.Run) -> list[str]:
    every = builds(case.sample)
    if case.check == "pull_request":
        return checks.pull_request(run, every)
    if case.check == "no_push":
        return checks.manual_without_push(run, every)
    if case.check == "publishing":
        return checks.publishing(run, every) + exact_tags(case, run, every)
    if case.check == "release":
        pushed = case.scenario.ref.removeprefix("refs/tags/")
        return checks.publishing(run, every) + checks.release_tags(run, every, pushed, case.scenario.existing_tags)
    if case.check == "failed":
        return checks.failed_build(run, every, case.failed)
    if case.check == "unverified":
        return checks.failed_build(run, every, case.failed) + checks.refused_by_verification(run, every, case.failed)
    raise ValueError(case.check)


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
            self.futures[key] = self.pool.submit(
                harness.run_scenario, self.toolkit, SAMPLES / case.sample, case.scenario, self.root / key,
                expectations.seed(builds(case.sample)), edit)
        return self.futures[key]

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
