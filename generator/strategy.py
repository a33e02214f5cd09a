"""The decide stage (Spec + Analyses -> Decisions): each build's strategy, the reason, and its legs.

`strategy: auto`: which strategy builds an image best under the spec's `objective`, why, and the cost
model behind it.

The decision (`choose_strategy`): the strategy whose estimate (below) is best under the objective, so the
choice always agrees with the numbers `plan` prints. Ties go to the simpler build: buildx (one job, no
QEMU), then qemu (one job), then native (a job per platform). Under `time` that makes:

1. buildx when nothing executes for the target platforms (every RUN is in a `FROM --platform=$BUILDPLATFORM`
   stage: cross-compilation; or the stages built only copy), or for one platform an x64 runner runs.
2. native as soon as two platforms do work: legs in parallel are never slower than one job building them
   all. Platforms without a native runner still build, under QEMU in legs of their own.
Under `cost` (runner time), light work stays in one qemu job (1.4x for the emulated platforms costs less
than a runner per platform), platforms x64 runs share a buildx job, and heavy work goes native where a
native runner exists (7x under QEMU against 1x on the runner); without one, native legs would emulate as
much as one qemu job does, which wins the tie.

The reason names the heaviest RUN for the target (dockerfile.commands.heavy_rank: a build tool such as
`colcon build` before an install that may compile such as `pip install`, the first of them on a tie).

The cost model (`estimate`): 1.0 = one native build of one platform.

- EMULATION_FACTOR, how much slower a platform builds under QEMU, from projects' measurements
  (reference/multiarch-facts.md §6): light images 1.4x (DSpace PR #10565: 4m42s vs 3m25s); typical builds
  6-7x (DSpace 6.9x, gpuweb PR #5274 7.0x, elk PR #3475 5-6x, "about 1/6 of native speed"); compile-heavy
  Rust/C 10-25x (git-cliff#879 hit the 6 h limit). "heavy" takes 7: the middle of the typical builds
  (our heavy class also holds `npm ci` and `pip install`), and conservative against the Rust/C reports,
  which would only favour native more. "none" is 1.0: nothing executes for the target, only layers move.
- One job building several platforms (qemu, buildx): BuildKit builds them concurrently on the same
  runner (4 vCPU), so they overlap but compete for the cores. Wall clock = the slowest platform plus
  CONCURRENT_SHARE of the others' work: 0 would be perfect overlap, 1 full contention. Light work takes
  0.5, which gives DSpace's light pair: (1.4 + 0.5) / 1.3 = 1.46 for the measured 1.37 (its QEMU run was
  one job without a merge). Heavy work takes 1: compilers and package builds use every core
  (`make -j$(nproc)`, cargo, colcon's parallel workers), so platforms on one runner take turns. When
  nothing executes for the target the platforms only move layers: they overlap fully (0). The
  build-platform stages a cross-compile runs are outside the model, as they were before.
- native: each platform on its own runner, in parallel: the slowest leg (1.0 on a native runner, the
  emulation factor on a QEMU leg).
- buildx: no QEMU, so a platform x64 cannot run costs infinity when anything executes for it; otherwise
  every platform builds at native speed (cross-compiling costs about what compiling does).
- Every strategy's legs are followed by the engine's merge job (verify, then tag): MERGE_OVERHEAD (0.3: a
  job's start, downloading the digests, `imagetools create`; about a minute against a few minutes of
  build). An assumption, not a measurement.

The objectives:
- time: wall clock, as above.
- cost: runner time, every job's minutes summed: a one-job strategy costs its wall clock; native costs
  the sum of its legs; each adds the merge job. Minutes are not weighted by architecture: GitHub-hosted
  arm64 runners are free for public repositories as x64 ones are, and the larger ones cost less than x64
  (2 cores: $0.005 against $0.006 a minute, reference §5), so counting them alike is conservative against
  native. Self-hosted runners' costs are the owner's: they count as minutes too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from functools import partial

from .analyse import Analyses, analysis_for
from .dockerfile import DockerfileInfo, RunStep, Stage
from .dockerfile.commands import heavy_rank
from .errors import printable
from .model import Objective, Requested, Spec, Strategy, Variant
from .platforms import HOSTED_RUNNERS, Platform, default_runner, hosted, needs_emulation, runner_host
from .platforms import info as platform_info
from .record import record
from .spec.defaults import IMAGE, schema_default

# The runner label that builds a platform without emulation, or None: platforms.default_runner, or a
# lookup in the spec's runner overrides.
NativeRunner = Callable[[Platform], str | None]

RUNNER_HOST = "x64"  # qemu and buildx jobs run on an x64 runner
X64_RUNNER = HOSTED_RUNNERS[RUNNER_HOST]


class Heaviness(StrEnum):
    NONE = "none"  # no RUN executes for the target platform
    LIGHT = "light"  # only package installs, copies, chmod, useradd ...
    HEAVY = "heavy"  # compilers and package builds for the target platform


EMULATION_FACTOR: dict[Heaviness, float] = {Heaviness.NONE: 1.0, Heaviness.LIGHT: 1.4, Heaviness.HEAVY: 7.0}
CONCURRENT_SHARE: dict[Heaviness, float] = {Heaviness.NONE: 0.0, Heaviness.LIGHT: 0.5, Heaviness.HEAVY: 1.0}
MERGE_OVERHEAD = 0.3
# A heavy build's legs when the spec sets no timeout: the most a GitHub-hosted job may run (the schema's
# maximum for timeout-minutes). A full compile (a ROS workspace, a Rust server) can pass the default 120
# minutes natively, and a leg that falls back to QEMU runs it 7x slower.
HEAVY_TIMEOUT = 360
DEFAULT_TIMEOUT = schema_default(f"{IMAGE}.timeout-minutes")
SHOWN_COMMAND = 40  # characters of a light RUN's command quoted in a reason
# On equal estimates the simpler build wins: fewer jobs, no QEMU.
PREFERENCE = (Strategy.BUILDX, Strategy.QEMU, Strategy.NATIVE)
# What the reason calls the best estimate under each objective.
BEST = {Objective.TIME: "fastest", Objective.COST: "least runner time"}


@record
class Decision:
    strategy: Strategy
    heaviness: Heaviness
    reason: str  # short, for `plan`: the strategy, then the RUN, stage, line and platforms that decided it


def heaviness_of(info: DockerfileInfo, target: str | None) -> Heaviness:
    runs = info.target_platform_runs(target)
    if not runs:
        return Heaviness.NONE
    return Heaviness.HEAVY if any(run.heavy for _, run in runs) else Heaviness.LIGHT


def estimates(heaviness: Heaviness, platforms: Sequence[Platform], native_runner: NativeRunner,
              objective: Objective = Objective.TIME) -> dict[Strategy, float]:
    """Every strategy's estimate under the objective, in PREFERENCE order."""
    return {s: estimate(s, heaviness, platforms, native_runner, objective) for s in PREFERENCE}


def best_strategy(found: Mapping[Strategy, float]) -> Strategy:
    """The strategy with the lowest estimate; on a tie the first in PREFERENCE. Rounded so that sums made
    in another order compare equal."""
    return min(PREFERENCE, key=lambda s: round(found[s], 9))


def choose_strategy(info: DockerfileInfo, target: str | None, platforms: Sequence[Platform],
                    native_runner: NativeRunner, objective: Objective = Objective.TIME) -> Decision:
    """The strategy `auto` stands for, with its reason. Raises UserError for an unknown target."""
    runs = info.target_platform_runs(target)
    heaviness = heaviness_of(info, target)
    found = estimates(heaviness, platforms, native_runner, objective)
    chosen = best_strategy(found)
    if not runs and chosen is Strategy.BUILDX:
        return Decision(Strategy.BUILDX, heaviness, f"buildx: {_nothing_for_target(info, target)}")
    score = _score(chosen, found, objective)
    if math.isinf(found[chosen]):
        chosen = Strategy.QEMU  # nothing can build it; qemu's error is the one a user can act on
    foreign = [p for p in platforms if needs_emulation(p, RUNNER_HOST)]
    if not runs:
        return Decision(chosen, heaviness, f"{chosen}: nothing executes for the target platforms; {score}")
    stage, run = max(runs, key=lambda sr: heavy_rank(sr[1].heavy))  # the first of the heaviest
    step = _describe(stage, run)
    with_runner = [(p, label) for p in foreign if (label := native_runner(p))]
    without = [p for p in foreign if not native_runner(p)]
    if chosen is Strategy.BUILDX:
        return Decision(chosen, heaviness,
                        f"buildx: {step} executes for the target, but {_names(platforms)} "
                        f"{'runs' if len(platforms) == 1 else 'all run'} natively on an {RUNNER_HOST} runner; "
                        f"nothing needs emulation; {score}")
    if chosen is Strategy.NATIVE:
        where = [f"{label} builds {p} natively" for p, label in with_runner]
        if without:
            where.append(f"{_names(without)} {'builds' if len(without) == 1 else 'build'} under QEMU in "
                         f"{'a leg of its own' if len(without) == 1 else 'legs of their own'}")
        if not foreign:
            where.append(f"{_names(platforms)} build on {RUNNER_HOST} runners of their own, in parallel")
        work = f"light work such as {step}" if heaviness is Heaviness.LIGHT else step
        return Decision(chosen, heaviness,
                        f"native: {work} executes for {_names(foreign or platforms)}; {'; '.join(where)}; {score}")
    if heaviness is Heaviness.LIGHT:
        steps = "the RUN step" if len(runs) == 1 else f"the {len(runs)} RUN steps"
        return Decision(chosen, heaviness,
                        f"qemu: {steps} executing for {_names(foreign)} {'is' if len(runs) == 1 else 'are'} "
                        f"light, such as {step}; emulation costs them about {EMULATION_FACTOR[heaviness]}x; {score}")
    runners = (f", which {'has' if len(foreign) == 1 else 'have'} no native runner" if not with_runner else "")
    return Decision(chosen, heaviness, f"qemu: {step} executes for {_names(foreign)}{runners}; {score}")


def _score(chosen: Strategy, found: Mapping[Strategy, float], objective: Objective) -> str:
    """`fastest: 1.3x against qemu 7.8x`: the chosen estimate and the next best one, under the objective."""
    others = sorted((v, s) for s, v in found.items() if s is not chosen and not math.isinf(v))
    against = f" against {others[0][1]} {_times(others[0][0])}" if others else ""
    tie = " (a tie: the simpler build wins)" if others and round(others[0][0], 9) == round(found[chosen], 9) else ""
    return f"{BEST[objective]}: {_times(found[chosen])}{against}{tie}"


def _times(value: float) -> str:
    return "n/a" if math.isinf(value) else f"{value:.1f}x"


def estimate(strategy: Strategy, heaviness: Heaviness, platforms: Sequence[Platform],
             native_runner: NativeRunner, objective: Objective = Objective.TIME) -> float:
    """Relative wall-clock time (`time`) or runner time (`cost`) of building every platform (see the
    module docstring); inf when the strategy cannot build them (buildx with work to run for a platform
    an x64 runner cannot execute, QEMU for a platform it cannot emulate)."""
    if not platforms:
        return 0.0
    factor = EMULATION_FACTOR[heaviness]
    emulated = [needs_emulation(p, RUNNER_HOST) for p in platforms]
    if strategy is Strategy.NATIVE:
        # A platform without a native runner builds on an x64 runner: emulated unless x64 runs it.
        fallback = [e and not native_runner(p) for p, e in zip(platforms, emulated, strict=True)]
        if any(f and not platform_info(p).qemu for p, f in zip(platforms, fallback, strict=True)):
            return math.inf
        legs = [factor if f else 1.0 for f in fallback]
        return (max(legs) if objective is Objective.TIME else sum(legs)) + MERGE_OVERHEAD
    if strategy is Strategy.BUILDX:
        if any(emulated) and heaviness is not Heaviness.NONE:
            return math.inf
        return _one_job([1.0] * len(platforms), heaviness) + MERGE_OVERHEAD
    if any(e and not platform_info(p).qemu for p, e in zip(platforms, emulated, strict=True)):
        return math.inf
    return _one_job([factor if e else 1.0 for e in emulated], heaviness) + MERGE_OVERHEAD


def _one_job(costs: Sequence[float], heaviness: Heaviness) -> float:
    """Platforms built concurrently on one runner: the slowest, plus a share of the others (docstring).
    One runner's wall clock is also its runner time: both objectives count it alike."""
    slowest = max(costs)
    return slowest + CONCURRENT_SHARE[heaviness] * (sum(costs) - slowest)


def _nothing_for_target(dockerfile: DockerfileInfo, target: str | None) -> str:
    stages = dockerfile.stages_for(target)
    cross = [s for s in stages if s.build_platform and s.runs]
    if not cross:
        return "no RUN in the stages built; nothing executes for the target platforms"
    first = cross[0]
    how = "cross-compiles" if first.uses_target_args else "runs there"
    # Dockerfile text, shown escaped: a reason goes to terminals (`plan`) and into workflow headers.
    origin = printable(f"FROM --platform={first.platform}" if first.platform else f"FROM {first.base}")
    return (f"every RUN is on the build platform ({first.label} at line {first.line} {how}: {origin}); "
            f"nothing executes for the target platforms")


def _describe(stage: Stage, run: RunStep) -> str:
    """`RUN make in stage "build" (line 12)`: the heavy command, or the start of a light one, escaped
    (a heredoc script may hold control characters, and a reason reaches terminals and workflow files)."""
    text = run.heavy or run.command
    if len(text) > SHOWN_COMMAND:
        text = text[:SHOWN_COMMAND].rsplit(" ", 1)[0] + " ..."
    return f"RUN {printable(text)} in {stage.label} (line {run.line})"


def _names(platforms: Sequence[Platform]) -> str:
    return ", ".join(p.name for p in platforms)


def native_runner(build: Variant, platform: Platform) -> str | None:
    """The runner that builds the platform without emulation for this build: its own override when that
    runner is of the platform's CPU family, else GitHub's hosted one, if any."""
    labels = build.runner_for(platform)
    if labels:
        return "+".join(labels) if runner_host(labels, platform) == platform_info(platform).host else None
    return default_runner(platform)


# ------------------------------------------------------------------------------------------ the stage


@record
class Leg:
    """One platform of a build: where it runs and whether it is emulated there."""

    platform: Platform
    runner: tuple[str, ...]
    qemu: str  # setup-qemu-action platform name when emulated, else ""
    pr_runner: tuple[str, ...] = ()  # the GitHub-hosted runner that stands in for a self-hosted one on PRs

    @property
    def runner_value(self) -> str | tuple[str, ...]:
        return self.runner[0] if len(self.runner) == 1 else self.runner


@record
class BuildDecision:
    """What the decide stage says of one build: its strategy, why, how heavy its work is ("" when the
    Dockerfile was not read) and where each platform builds."""

    strategy: Strategy
    reason: str
    heaviness: str
    legs: tuple[Leg, ...]
    legs_apart: bool  # each platform gets a leg (and a cache) of its own: native, or platforms that differ
    timeout_minutes: int  # of each leg: the spec's, or HEAVY_TIMEOUT for heavy work (build_timeout)


# Variant.key -> its decision
Decisions = Mapping[str, BuildDecision]


def decide(spec: Spec, analyses: Analyses) -> dict[str, BuildDecision]:
    """Every build's strategy (what `auto` stands for, from its Dockerfile's analysis), reason and legs."""
    decisions: dict[str, BuildDecision] = {}
    for image in spec.images:
        for build in image.variants:
            analysis = analysis_for(analyses, build)
            heaviness = heaviness_of(analysis, build.target or None).value if analysis is not None else ""
            if build.strategy is not Requested.AUTO:
                strategy, reason = Strategy(build.strategy.value), "set in the spec"
            elif any(o.per_leg for _, o in build.per_platform):
                strategy = Strategy.NATIVE
                reason = ("auto: native: the platforms build from their own Dockerfiles, targets or build arguments, "
                          "so each gets its own leg")
            else:
                assert analysis is not None, "analyse() reads the Dockerfile of every auto build"
                choice = choose_strategy(analysis, build.target or None, build.platforms, partial(native_runner, build),
                                         build.objective)
                strategy, reason = choice.strategy, f"auto: {choice.reason}"
            decisions[build.key] = BuildDecision(strategy, reason, heaviness, legs_for(build, strategy),
                                                 strategy is Strategy.NATIVE or build.legs_differ,
                                                 build_timeout(build, heaviness))
    return decisions


def build_timeout(build: Variant, heaviness: str) -> int:
    """The legs' timeout-minutes: HEAVY_TIMEOUT when the Dockerfile runs heavy work for the target
    platforms and the build keeps the schema's default, else the build's (the schema's text says so).
    The default written out is the default left out, so a value the spec writes counts only when it differs."""
    if heaviness == Heaviness.HEAVY and build.timeout_minutes == DEFAULT_TIMEOUT:
        return HEAVY_TIMEOUT
    return build.timeout_minutes


def legs_for(build: Variant, strategy: Strategy) -> tuple[Leg, ...]:
    """Where each platform builds. qemu and buildx put every platform on one x86 runner; native puts each
    on its runner, and on pull requests a GitHub-hosted one stands in for a self-hosted one."""
    legs = []
    for platform in build.platforms:
        runner: tuple[str, ...] = (X64_RUNNER,)
        pr_runner: tuple[str, ...] = ()
        if strategy is Strategy.NATIVE:
            runner = build.runner_for(platform) or ((default_runner(platform) or X64_RUNNER),)
            if not hosted(runner):
                pr_runner = ((default_runner(platform) or X64_RUNNER),)
        # buildx cross-compiles, but a smoke test still has to run the image on its platform. A stand-in
        # runner may need QEMU where the leg's own does not: setting it up where unused is harmless.
        emulating = strategy is not Strategy.BUILDX or build.test is not None
        emulated = emulating and any(platform_info(platform).host != runner_host(labels, platform)
                                     for labels in (runner, pr_runner) if labels)
        legs.append(Leg(platform, runner, platform_info(platform).qemu if emulated else "", pr_runner))
    return tuple(legs)
