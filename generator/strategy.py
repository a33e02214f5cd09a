"""The decide stage (Spec + Analyses -> Decisions): each build's strategy, the reason, and its legs.

`strategy: auto`: which strategy builds an image fastest, why, and the cost model behind it.

The decision (product rules; `choose_strategy`):

1. buildx when no RUN executes for a target platform (every RUN is in a `FROM --platform=$BUILDPLATFORM`
   stage: cross-compilation; or the stages built only copy), or when no platform needs emulation on an
   x64 runner (linux/amd64, linux/386): one job, no QEMU.
2. native when RUN steps for the target do heavy work (compilers, package builds: dockerfile.RunStep.heavy)
   and at least one platform that x64 cannot run has a native runner. Platforms without one still build,
   under QEMU in their own leg. When none has one, every foreign leg would be emulated anyway and native
   only adds a merge job: qemu.
3. qemu otherwise: light work (package installs, copies, chmod, useradd ...) emulates at about 1.4x, not
   worth a matrix and a merge job.

The cost model (`estimate`): relative wall-clock time, 1.0 = one native build of one platform.

- EMULATION_FACTOR, how much slower a platform builds under QEMU, from projects' measurements
  (reference/multiarch-facts.md §6): light images 1.4x (DSpace PR #10565: 4m42s vs 3m25s); typical builds
  6-7x (DSpace 6.9x, gpuweb PR #5274 7.0x, elk PR #3475 5-6x, "about 1/6 of native speed"); compile-heavy
  Rust/C 10-25x (git-cliff#879 hit the 6 h limit). "heavy" takes 7: the middle of the typical builds
  (our heavy class also holds `npm ci` and `pip install`), and conservative against the Rust/C reports,
  which would only favour native more. "none" is 1.0: nothing executes for the target, only layers move.
- One job building several platforms (qemu, buildx): BuildKit builds them concurrently on the same
  runner (4 vCPU), so they overlap but compete for the cores. Wall clock = the slowest platform plus
  CONCURRENT_SHARE (0.5) of the others' work: 0 would be perfect overlap, 1 full contention (compiles
  with make -j$(nproc) use every core). 0.5 gives DSpace's light pair: (1.4 + 0.5) / (1.0 + 0.3) = 1.46
  for the measured 1.37.
- native: each platform on its own runner, in parallel: the slowest leg (1.0 on a native runner, the
  emulation factor on a QEMU leg) plus MERGE_OVERHEAD (0.3: a second job's start, downloading the
  digests, `imagetools create`; about a minute against a few minutes of build). An assumption, not a
  measurement.
- buildx: no QEMU, so a platform x64 cannot run costs infinity when anything executes for it; otherwise
  every platform builds at native speed (cross-compiling costs about what compiling does).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from functools import partial

from .analyse import Analyses, analysis_for
from .dockerfile import DockerfileInfo, RunStep, Stage
from .errors import printable
from .model import Requested, Spec, Strategy, Variant
from .platforms import HOSTED_RUNNERS, Platform, default_runner, hosted, needs_emulation, runner_host
from .platforms import info as platform_info
from .record import record

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
CONCURRENT_SHARE = 0.5
MERGE_OVERHEAD = 0.3
SHOWN_COMMAND = 40  # characters of a light RUN's command quoted in a reason


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


def choose_strategy(info: DockerfileInfo, target: str | None, platforms: Sequence[Platform],
                    native_runner: NativeRunner) -> Decision:
    """The strategy `auto` stands for, with its reason. Raises UserError for an unknown target."""
    runs = info.target_platform_runs(target)
    heaviness = heaviness_of(info, target)
    foreign = [p for p in platforms if needs_emulation(p, RUNNER_HOST)]
    if not runs:
        return Decision(Strategy.BUILDX, heaviness, f"buildx: {_nothing_for_target(info, target)}")
    stage, run = next(((s, r) for s, r in runs if r.heavy), runs[0])
    step = _describe(stage, run)
    if not foreign:
        return Decision(Strategy.BUILDX, heaviness,
                        f"buildx: {step} executes for the target, but {_names(platforms)} "
                        f"{'runs' if len(platforms) == 1 else 'all run'} natively on an {RUNNER_HOST} runner; "
                        "nothing needs emulation")
    with_runner = [(p, label) for p in foreign if (label := native_runner(p))]
    without = [p for p in foreign if not native_runner(p)]
    emulable = all(platform_info(p).qemu for p in foreign)
    if heaviness is Heaviness.HEAVY or not emulable:
        if not with_runner:
            return Decision(Strategy.QEMU, heaviness,
                            f"qemu: {step} executes for {_names(foreign)}, which "
                            f"{'has' if len(foreign) == 1 else 'have'} no native runner; native legs would "
                            f"emulate it too")
        natively = "; ".join(f"{label} builds {p} natively" for p, label in with_runner)
        fallback = (f"; {_names(without)} {'falls' if len(without) == 1 else 'fall'} back to QEMU in "
                    f"{'its own leg' if len(without) == 1 else 'their own legs'}") if without else ""
        return Decision(Strategy.NATIVE, heaviness,
                        f"native: {step} executes for {_names(foreign)}; {natively}{fallback}")
    steps = "the RUN step" if len(runs) == 1 else f"the {len(runs)} RUN steps"
    return Decision(Strategy.QEMU, heaviness,
                    f"qemu: {steps} executing for {_names(foreign)} {'is' if len(runs) == 1 else 'are'} light, "
                    f"such as {step}; emulation costs them about {EMULATION_FACTOR[Heaviness.LIGHT]}x")


def estimate(strategy: Strategy, heaviness: Heaviness, platforms: Sequence[Platform],
             native_runner: NativeRunner) -> float:
    """Relative wall-clock time of building every platform (see the module docstring); inf when the
    strategy cannot build them (buildx with work to run for a platform an x64 runner cannot execute)."""
    if not platforms:
        return 0.0
    factor = EMULATION_FACTOR[heaviness]
    if strategy is Strategy.NATIVE:
        # A platform without a native runner builds on an x64 runner: emulated unless x64 runs it.
        legs = [factor if needs_emulation(p, RUNNER_HOST) and not native_runner(p) else 1.0 for p in platforms]
        return max(legs) + MERGE_OVERHEAD
    emulated = [needs_emulation(p, RUNNER_HOST) for p in platforms]
    if strategy is Strategy.BUILDX:
        if any(emulated) and heaviness is not Heaviness.NONE:
            return math.inf
        return _one_job([1.0] * len(platforms))
    return _one_job([factor if e else 1.0 for e in emulated])


def _one_job(costs: Sequence[float]) -> float:
    """Platforms built concurrently on one runner: the slowest, plus a share of the others (docstring)."""
    slowest = max(costs)
    return slowest + CONCURRENT_SHARE * (sum(costs) - slowest)


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
                choice = choose_strategy(analysis, build.target or None, build.platforms, partial(native_runner, build))
                strategy, reason = choice.strategy, f"auto: {choice.reason}"
            decisions[build.key] = BuildDecision(strategy, reason, heaviness, legs_for(build, strategy),
                                                 strategy is Strategy.NATIVE or build.legs_differ)
    return decisions


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
