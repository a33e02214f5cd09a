"""Spec -> Analyses: each Dockerfile the decisions need, read once and analysed.

`auto` needs the Dockerfile of its build (per-platform Dockerfiles excepted: such a build goes native
without reading one). `plan` shows estimates for every build, so it asks for all of them; a Dockerfile
that only `plan` reads and cannot analyse gives no estimate rather than an error, so that every command
gives one verdict on a spec. Problems carry the Dockerfile's own location, or the spec's `target:`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from .dockerfile import DockerfileInfo, read_dockerfile
from .errors import Problem, UserError
from .model import Requested, Spec, Variant
from .spec import did_you_mean

# Dockerfile path (relative to the repository root) -> its analysis; None where it could not be used.
Analyses = Mapping[str, DockerfileInfo | None]


def needs_analysis(build: Variant) -> bool:
    """Whether deciding this build's strategy reads its Dockerfile."""
    return build.strategy is Requested.AUTO and not any(o.dockerfile for _, o in build.per_platform)


def analyse(root: Path, spec: Spec, *, every: bool = False) -> dict[str, DockerfileInfo | None]:
    """The analyses `decide` needs (with `every`, also those `plan`'s estimates use). Raises UserError
    with every problem of a Dockerfile a decision depends on."""
    problems: list[Problem] = []
    read: dict[str, DockerfileInfo | None] = {}
    for image in spec.images:
        for build in image.variants:
            needed = needs_analysis(build)
            if not needed and (not every or any(o.dockerfile for _, o in build.per_platform)):
                continue
            if build.dockerfile not in read:
                try:
                    read[build.dockerfile] = read_dockerfile(root / build.dockerfile, build.dockerfile)
                except UserError as exc:
                    read[build.dockerfile] = None
                    if needed:
                        problems += exc.problems
            analysis = read[build.dockerfile]
            if needed and analysis is not None and build.target and analysis.find_stage(build.target) is None:
                problems.append(_unknown_target(spec, build, analysis))
    if problems:
        raise UserError(problems)
    return read


def analysis_for(analyses: Analyses, build: Variant) -> DockerfileInfo | None:
    """The build's analysis, when its Dockerfile was read and its target is one of the stages."""
    analysis = analyses.get(build.dockerfile)
    if analysis is None or (build.target and analysis.find_stage(build.target) is None):
        return None
    return analysis


def _unknown_target(spec: Spec, build: Variant, analysis: DockerfileInfo) -> Problem:
    stages = [s.name for s in analysis.stages if s.name]
    hint = did_you_mean(build.target, stages) or f"stages: {', '.join(stages) or '(none named)'}"
    line, column = build.target_at
    return Problem(spec.path, line, column, f'"{build.label}": {build.dockerfile} has no stage "{build.target}"',
                   hint)
