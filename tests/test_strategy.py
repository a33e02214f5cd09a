"""`auto`: the strategy chosen for each kind of Dockerfile, its reason, and the cost model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("dockerfile", reason="BuildKit's parser (the `dockerfile` package) is not installed")

from generator.dockerfile import DockerfileInfo, analyse_dockerfile, read_dockerfile
from generator.model import Strategy
from generator.platforms import KNOWN, Platform, default_runner, parse_platform
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


def decide(name: str, names: list[Platform] = AMD64_ARM64, target: str | None = None) -> Decision:
    return choose_strategy(load(name), target, names, default_runner)


def load(name: str) -> DockerfileInfo:
    return read_dockerfile(DOCKERFILES / f"{name}.Dockerfile", f"{name}.Dockerfile")


# -------------------------------------------------------------------------------------------- decisions


@pytest.mark.parametrize(("name", "strategy", "heaviness"), [
    ("go-cross", Strategy.BUILDX, Heaviness.NONE),
    ("copy-only", Strategy.BUILDX, Heaviness.NONE),
    ("unused-stage", Strategy.BUILDX, Heaviness.NONE),
    ("heavy-cmake", Strategy.NATIVE, Heaviness.HEAVY),
    ("heredoc", Strategy.NATIVE, Heaviness.HEAVY),
    ("copy-from-index", Strategy.NATIVE, Heaviness.HEAVY),
    ("targets", Strategy.NATIVE, Heaviness.HEAVY),
    ("light-apk", Strategy.QEMU, Heaviness.LIGHT),
    ("light-apt", Strategy.QEMU, Heaviness.LIGHT),
    ("data-heredoc", Strategy.QEMU, Heaviness.LIGHT),
])
def test_auto_for_amd64_and_arm64(name: str, strategy: Strategy, heaviness: Heaviness) -> None:
    decision = decide(name)
    assert (decision.strategy, decision.heaviness) == (strategy, heaviness)
    assert decision.reason.startswith(f"{strategy}: ")
    assert heaviness_of(load(name), None) is heaviness


def test_native_reason_names_the_run_stage_line_platform_and_runner() -> None:
    reason = decide("heavy-cmake").reason
    assert reason == ('native: RUN cmake in stage "build" (line 8) executes for linux/arm64; '
                      "ubuntu-24.04-arm builds linux/arm64 natively")


def test_native_with_a_platform_that_falls_back_to_qemu() -> None:
    decision = decide("heavy-cmake", platforms("amd64", "arm64", "armv7"))
    assert decision.strategy is Strategy.NATIVE
    assert "executes for linux/arm64, linux/arm/v7" in decision.reason
    assert "linux/arm/v7 falls back to QEMU in its own leg" in decision.reason


def test_heavy_without_any_native_runner_for_a_foreign_platform_is_qemu() -> None:
    decision = decide("heavy-cmake", platforms("amd64", "armv7", "ppc64le"))
    assert decision.strategy is Strategy.QEMU
    assert decision.reason == ('qemu: RUN cmake in stage "build" (line 8) executes for linux/arm/v7, linux/ppc64le, '
                               "which have no native runner; native legs would emulate it too")
    no_arm_runner = choose_strategy(load("heavy-cmake"), None, AMD64_ARM64, no_runner)
    assert no_arm_runner.strategy is Strategy.QEMU


def test_runner_labels_come_from_the_callback() -> None:
    def self_hosted(platform: Platform) -> str | None:
        return "self-hosted-arm64" if platform.architecture == "arm64" else None

    decision = choose_strategy(load("heavy-cmake"), None, AMD64_ARM64, self_hosted)
    assert decision.strategy is Strategy.NATIVE
    assert "self-hosted-arm64 builds linux/arm64 natively" in decision.reason


def test_nothing_to_emulate_when_every_platform_runs_on_x64() -> None:
    decision = decide("heavy-cmake", platforms("amd64", "386"))
    assert decision.strategy is Strategy.BUILDX
    assert "linux/amd64, linux/386 all run natively on an x64 runner" in decision.reason


def test_light_reason_names_the_run_stage_line_and_platform() -> None:
    reason = decide("light-apk").reason
    assert reason.startswith("qemu: the 2 RUN steps executing for linux/arm64 are light, "
                             "such as RUN apk add --no-cache ca-certificates curl ... in unnamed stage 0 (line 2)")
    assert "1.4x" in reason


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
    assert decide("targets", target="base").strategy is Strategy.QEMU
    assert decide("targets", target="generated").strategy is Strategy.BUILDX  # tools and generated: build platform
    assert decide("targets", target="build").strategy is Strategy.NATIVE
    assert decide("unused-stage", target="docs").strategy is Strategy.NATIVE
    heavy = decide("unused-stage", target="docs").reason
    assert 'RUN make in stage "docs" (line 4)' in heavy


# ----------------------------------------------------------------------------------------- cost model


def test_estimates_for_a_heavy_two_platform_build() -> None:
    heavy = EMULATION_FACTOR[Heaviness.HEAVY]
    assert estimate(Strategy.NATIVE, Heaviness.HEAVY, AMD64_ARM64, default_runner) == 1.0 + MERGE_OVERHEAD
    assert estimate(Strategy.QEMU, Heaviness.HEAVY, AMD64_ARM64, default_runner) == heavy + CONCURRENT_SHARE * 1.0
    assert estimate(Strategy.BUILDX, Heaviness.HEAVY, AMD64_ARM64, default_runner) == math.inf


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
    assert cross == 1.0 + CONCURRENT_SHARE
    assert cross < estimate(Strategy.QEMU, Heaviness.LIGHT, AMD64_ARM64, default_runner)
    assert estimate(Strategy.BUILDX, Heaviness.HEAVY, platforms("amd64", "386"), default_runner) == 1.5


def test_light_emulation_matches_the_measured_pair() -> None:
    # DSpace PR #10565: a light image took 4m42s under QEMU and 3m25s natively (1.37x).
    ratio = (estimate(Strategy.QEMU, Heaviness.LIGHT, AMD64_ARM64, default_runner)
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
    # Native is never slower than qemu by more than its merge job: its legs never cost more than qemu's.
    assert native <= qemu + MERGE_OVERHEAD
    # Heavier work never costs less.
    for lighter in list(Heaviness)[: list(Heaviness).index(heaviness)]:
        assert estimate(Strategy.QEMU, lighter, chosen, default_runner) <= qemu
        assert estimate(Strategy.NATIVE, lighter, chosen, default_runner) <= native
