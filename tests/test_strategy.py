"""`auto`: the strategy chosen for each kind of Dockerfile, its reason, and the cost model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("dockerfile", reason="BuildKit's parser (the `dockerfile` package) is not installed")

from generator.dockerfile import DockerfileInfo, analyse_dockerfile, read_dockerfile
from generator.model import Objective, Strategy
from generator.platforms import KNOWN, Platform, default_runner, needs_emulation, parse_platform
from generator.strategy import (
    CONCURRENT_SHARE,
    EMULATION_FACTOR,
    MERGE_OVERHEAD,
    Decision,
    Heaviness,
    choose_strategy,
    estimate,
    heaviness_of,
)

DOCKERFILES = Path(__file__).parent / "data" / "dockerfiles"


def platforms(*names: str) -> list[Platform]:
    found = [parse_platform(n) for n in names]
    assert all(found)
    return [p for p in found if p]


AMD64_ARM64 = platforms("amd64", "arm64")


def no_runner(_: Platform) -> str | None:
    return None


def decide(name: str, names: list[Platform] = AMD64_ARM64, target: str | None = None,
           objective: Objective = Objective.TIME) -> Decision:
    return choose_strategy(load(name), target, names, default_runner, objective)


def load(name: str) -> DockerfileInfo:
    return read_dockerfile(DOCKERFILES / f"{name}.Dockerfile", f"{name}.Dockerfile")


# -------------------------------------------------------------------------------------------- decisions


@pytest.mark.parametrize(("name", "time", "cost", "heaviness"), [
    ("go-cross", Strategy.BUILDX, Strategy.BUILDX, Heaviness.NONE),
    ("copy-only", Strategy.BUILDX, Strategy.BUILDX, Heaviness.NONE),
    ("unused-stage", Strategy.BUILDX, Strategy.BUILDX, Heaviness.NONE),
    ("heavy-cmake", Strategy.NATIVE, Strategy.NATIVE, Heaviness.HEAVY),
    ("heredoc", Strategy.NATIVE, Strategy.NATIVE, Heaviness.HEAVY),
    ("copy-from-index", Strategy.NATIVE, Strategy.NATIVE, Heaviness.HEAVY),
    ("targets", Strategy.NATIVE, Strategy.NATIVE, Heaviness.HEAVY),
    # Light work: two runners in parallel are faster, one job under QEMU uses fewer runner minutes.
    ("light-apk", Strategy.NATIVE, Strategy.QEMU, Heaviness.LIGHT),
    ("light-apt", Strategy.NATIVE, Strategy.QEMU, Heaviness.LIGHT),
    ("data-heredoc", Strategy.NATIVE, Strategy.QEMU, Heaviness.LIGHT),
])
def test_auto_for_amd64_and_arm64(name: str, time: Strategy, cost: Strategy, heaviness: Heaviness) -> None:
    for objective, strategy in ((Objective.TIME, time), (Objective.COST, cost)):
        decision = decide(name, objective=objective)
        assert (decision.strategy, decision.heaviness) == (strategy, heaviness)
        assert decision.reason.startswith(f"{strategy}: ")
    assert heaviness_of(load(name), None) is heaviness


def test_native_reason_names_the_run_stage_line_platform_and_runner() -> None:
    reason = decide("heavy-cmake").reason
    assert reason == ('native: RUN cmake in stage "build" (line 8) executes for linux/arm64; '
                      "ubuntu-24.04-arm builds linux/arm64 natively; fastest: 1.3x against qemu 8.3x")
    assert decide("heavy-cmake", objective=Objective.COST).reason.endswith(
        "; least runner time: 2.3x against qemu 8.3x")


def test_native_with_a_platform_that_falls_back_to_qemu() -> None:
    decision = decide("heavy-cmake", platforms("amd64", "arm64", "armv7"))
    assert decision.strategy is Strategy.NATIVE
    assert "executes for linux/arm64, linux/arm/v7" in decision.reason
    assert "linux/arm/v7 builds under QEMU in a leg of its own" in decision.reason


def test_heavy_without_any_native_runner_emulates_in_parallel_legs_or_in_one_cheaper_job() -> None:
    three = platforms("amd64", "armv7", "ppc64le")
    fastest = decide("heavy-cmake", three)
    assert fastest.strategy is Strategy.NATIVE
    assert fastest.reason == ('native: RUN cmake in stage "build" (line 8) executes for linux/arm/v7, linux/ppc64le; '
                              "linux/arm/v7, linux/ppc64le build under QEMU in legs of their own; "
                              "fastest: 7.3x against qemu 15.3x")
    cheapest = decide("heavy-cmake", three, objective=Objective.COST)
    assert cheapest.strategy is Strategy.QEMU
    assert cheapest.reason == ('qemu: RUN cmake in stage "build" (line 8) executes for linux/arm/v7, linux/ppc64le, '
                               "which have no native runner; least runner time: 15.3x against native 15.3x "
                               "(a tie: the simpler build wins)")
    no_arm_runner = choose_strategy(load("heavy-cmake"), None, AMD64_ARM64, no_runner, Objective.COST)
    assert no_arm_runner.strategy is Strategy.QEMU


def test_runner_labels_come_from_the_callback() -> None:
    def self_hosted(platform: Platform) -> str | None:
        return "self-hosted-arm64" if platform.architecture == "arm64" else None

    decision = choose_strategy(load("heavy-cmake"), None, AMD64_ARM64, self_hosted)
    assert decision.strategy is Strategy.NATIVE
    assert "self-hosted-arm64 builds linux/arm64 natively" in decision.reason


def test_nothing_to_emulate_when_every_platform_runs_on_x64() -> None:
    x64 = platforms("amd64", "386")
    decision = decide("heavy-cmake", x64, objective=Objective.COST)
    assert decision.strategy is Strategy.BUILDX
    assert "linux/amd64, linux/386 all run natively on an x64 runner" in decision.reason
    # Two x64 runners in parallel finish first.
    fastest = decide("heavy-cmake", x64)
    assert fastest.strategy is Strategy.NATIVE
    assert "linux/amd64, linux/386 build on x64 runners of their own, in parallel" in fastest.reason
    assert decide("heavy-cmake", platforms("amd64")).strategy is Strategy.BUILDX  # one platform: nothing to gain


def test_light_reason_names_the_run_stage_line_and_platform() -> None:
    reason = decide("light-apk", objective=Objective.COST).reason
    assert reason.startswith("qemu: the 2 RUN steps executing for linux/arm64 are light, "
                             "such as RUN apk add --no-cache ca-certificates curl ... in unnamed stage 0 (line 2)")
    assert "1.4x" in reason
    assert decide("light-apk").reason.startswith("native: light work such as RUN apk add")


def test_buildx_reason_names_the_build_platform_stage() -> None:
    assert decide("go-cross").reason == (
        'buildx: every RUN is on the build platform (stage "build" at line 3 cross-compiles: '
        "FROM --platform=$BUILDPLATFORM); nothing executes for the target platforms")
    assert 'stage "assets" at line 1 runs there: FROM --platform=${BUILDPLATFORM}' in decide("copy-only").reason


def test_a_copy_only_dockerfile_without_any_run_is_buildx() -> None:
    decision = choose_strategy(load("copy-only"), "assets", AMD64_ARM64, default_runner)
    assert decision.strategy is Strategy.BUILDX  # the assets stage itself runs on the build platform
    copy_only = analyse_dockerfile("FROM scratch\nCOPY app /app\n", "Dockerfile")
    scratch = choose_strategy(copy_only, None, AMD64_ARM64, default_runner)
    assert scratch.reason == "buildx: no RUN in the stages built; nothing executes for the target platforms"


def test_target_changes_the_decision() -> None:
    assert decide("targets", target="base", objective=Objective.COST).strategy is Strategy.QEMU
    assert decide("targets", target="generated").strategy is Strategy.BUILDX  # tools and generated: build platform
    assert decide("targets", target="build").strategy is Strategy.NATIVE
    assert decide("unused-stage", target="docs").strategy is Strategy.NATIVE
    heavy = decide("unused-stage", target="docs").reason
    assert 'RUN make in stage "docs" (line 4)' in heavy


# ----------------------------------------------------------------------------------------- cost model


def test_estimates_for_a_heavy_two_platform_build() -> None:
    heavy = EMULATION_FACTOR[Heaviness.HEAVY]
    assert estimate(Strategy.NATIVE, Heaviness.HEAVY, AMD64_ARM64, default_runner) == 1.0 + MERGE_OVERHEAD
    qemu = heavy + CONCURRENT_SHARE[Heaviness.HEAVY] * 1.0 + MERGE_OVERHEAD
    assert estimate(Strategy.QEMU, Heaviness.HEAVY, AMD64_ARM64, default_runner) == qemu
    assert estimate(Strategy.BUILDX, Heaviness.HEAVY, AMD64_ARM64, default_runner) == math.inf
    # Runner time: the native legs add up; one job's runner time is its wall clock.
    cost = Objective.COST
    assert estimate(Strategy.NATIVE, Heaviness.HEAVY, AMD64_ARM64, default_runner, cost) == 2.0 + MERGE_OVERHEAD
    assert estimate(Strategy.QEMU, Heaviness.HEAVY, AMD64_ARM64, default_runner, cost) == qemu


def test_native_legs_run_in_parallel_and_a_qemu_leg_sets_the_pace() -> None:
    three = platforms("amd64", "arm64", "armv7")
    assert estimate(Strategy.NATIVE, Heaviness.HEAVY, three, default_runner) == 7.0 + MERGE_OVERHEAD
    assert estimate(Strategy.NATIVE, Heaviness.LIGHT, three, default_runner) == 1.4 + MERGE_OVERHEAD
    # Adding a platform with a native runner does not make a native build slower; it does a qemu one.
    assert (estimate(Strategy.NATIVE, Heaviness.HEAVY, platforms("amd64", "arm64", "386"), default_runner)
            == estimate(Strategy.NATIVE, Heaviness.HEAVY, AMD64_ARM64, default_runner))
    assert (estimate(Strategy.QEMU, Heaviness.HEAVY, three, default_runner)
            > estimate(Strategy.QEMU, Heaviness.HEAVY, AMD64_ARM64, default_runner))


def test_a_platform_without_native_runner_builds_on_x64_and_amd64_is_never_emulated() -> None:
    assert estimate(Strategy.NATIVE, Heaviness.HEAVY, platforms("amd64"), no_runner) == 1.0 + MERGE_OVERHEAD
    assert estimate(Strategy.NATIVE, Heaviness.HEAVY, AMD64_ARM64, no_runner) == 7.0 + MERGE_OVERHEAD


def test_buildx_is_cheap_when_nothing_runs_for_the_target() -> None:
    cross = estimate(Strategy.BUILDX, Heaviness.NONE, AMD64_ARM64, default_runner)
    assert cross == 1.0 + MERGE_OVERHEAD  # only layers move: the platforms overlap fully
    assert cross < estimate(Strategy.QEMU, Heaviness.LIGHT, AMD64_ARM64, default_runner)
    assert cross == estimate(Strategy.NATIVE, Heaviness.NONE, AMD64_ARM64, default_runner)  # a tie: one job wins
    assert (estimate(Strategy.BUILDX, Heaviness.HEAVY, platforms("amd64", "386"), default_runner)
            == 2.0 + MERGE_OVERHEAD)  # compiles on one runner take turns


def test_light_emulation_matches_the_measured_pair() -> None:
    # DSpace PR #10565: a light image took 4m42s under QEMU and 3m25s natively (1.37x); its QEMU run was
    # one job without a merge job.
    ratio = ((estimate(Strategy.QEMU, Heaviness.LIGHT, AMD64_ARM64, default_runner) - MERGE_OVERHEAD)
             / estimate(Strategy.NATIVE, Heaviness.LIGHT, AMD64_ARM64, default_runner))
    assert 1.2 < ratio < 1.6


def test_no_platforms_cost_nothing() -> None:
    assert estimate(Strategy.QEMU, Heaviness.HEAVY, [], default_runner) == 0.0


@given(st.lists(st.sampled_from(sorted(KNOWN)), min_size=1, max_size=6, unique=True),
       st.sampled_from(list(Heaviness)))
def test_model_properties(names: list[str], heaviness: Heaviness) -> None:
    chosen = platforms(*names)
    native = estimate(Strategy.NATIVE, heaviness, chosen, default_runner)
    qemu = estimate(Strategy.QEMU, heaviness, chosen, default_runner)
    # Native legs in parallel are never slower than one job building every platform.
    assert native <= qemu + 1e-9
    # Heavier work never costs less.
    for lighter in list(Heaviness)[: list(Heaviness).index(heaviness)]:
        assert estimate(Strategy.QEMU, lighter, chosen, default_runner) <= qemu
        assert estimate(Strategy.NATIVE, lighter, chosen, default_runner) <= native


# ------------------------------------------------------------------------------------ heavy builds


def test_a_ros_workspace_build_is_native_and_the_reason_names_colcon() -> None:
    decision = decide("ros-colcon")
    assert (decision.strategy, decision.heaviness) == (Strategy.NATIVE, Heaviness.HEAVY)
    # The reason names the heaviest work, not the first heavy-looking step (pip install, line 6).
    assert decision.reason.startswith('native: RUN colcon build in stage "build" (line 7) executes for linux/arm64; '
                                      "ubuntu-24.04-arm builds linux/arm64 natively")
    assert "vcs import" not in decision.reason
    assert decide("ros-colcon", objective=Objective.COST).strategy is Strategy.NATIVE


@pytest.mark.parametrize("script", [
    "vcs import src < ros.repos && colcon build",
    "catkin_make -j4",
    "catkin build --no-status",
    "npx node-gyp rebuild",
    "python3 -m build --wheel",
    "pip wheel --no-binary :all: numpy",
    "meson setup build && ninja -C build",
    "bazel build //...",
    "cargo b --release",
])
def test_heavy_work_in_a_run_step_is_recognised(script: str) -> None:
    info = analyse_dockerfile(f"FROM debian\nRUN {script}\n", "Dockerfile")
    assert heaviness_of(info, None) is Heaviness.HEAVY
    for objective in Objective:
        assert choose_strategy(info, None, AMD64_ARM64, default_runner, objective).strategy is Strategy.NATIVE


HEAVY_DOCKERFILES = ("heavy-cmake", "heredoc", "copy-from-index", "targets", "unused-stage", "ros-colcon")


@given(st.sampled_from(HEAVY_DOCKERFILES),
       st.lists(st.sampled_from(sorted(KNOWN)), min_size=1, max_size=6, unique=True),
       st.sampled_from(list(Objective)))
def test_heavy_builds_never_emulate_a_platform_that_has_a_native_runner(
        name: str, names: list[str], objective: Objective) -> None:
    chosen = platforms(*names)
    target = "docs" if name == "unused-stage" else None
    info = load(name)
    if heaviness_of(info, target) is not Heaviness.HEAVY:
        return
    decision = choose_strategy(info, target, chosen, default_runner, objective)
    has_runner = [p for p in chosen if needs_emulation(p, "x64") and default_runner(p)]
    if has_runner:
        assert decision.strategy is Strategy.NATIVE, decision.reason


@given(st.sampled_from(sorted(p.stem for p in DOCKERFILES.glob("*.Dockerfile")
                              if p.stem not in ("no-from", "syntax-error", "unknown-instruction"))),
       st.lists(st.sampled_from(sorted(KNOWN)), min_size=1, max_size=6, unique=True),
       st.sampled_from(list(Objective)))
def test_the_choice_has_the_best_estimate_under_its_objective(
        name: str, names: list[str], objective: Objective) -> None:
    chosen = platforms(*names)
    info = load(name)
    decision = choose_strategy(info, None, chosen, default_runner, objective)
    values = {s: estimate(s, decision.heaviness, chosen, default_runner, objective) for s in Strategy}
    assert values[decision.strategy] <= min(values.values()) + 1e-9, (decision.reason, values)


def test_many_light_platforms_go_native_when_time_counts_and_stay_in_one_job_when_minutes_do() -> None:
    # Six platforms, light work (the appliance of issue 16): one QEMU job is 2.6x slower than native legs.
    six = platforms("amd64", "386", "arm64", "armv7", "armv6", "ppc64le")
    qemu = estimate(Strategy.QEMU, Heaviness.LIGHT, six, default_runner)
    native = estimate(Strategy.NATIVE, Heaviness.LIGHT, six, default_runner)
    assert qemu / native > 2.5
    assert decide("light-apk", six).strategy is Strategy.NATIVE
    cheapest = decide("light-apk", six, objective=Objective.COST)
    assert cheapest.strategy is Strategy.QEMU
    assert "least runner time" in cheapest.reason
