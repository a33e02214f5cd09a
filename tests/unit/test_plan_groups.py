"""plan/groups.py and the job ids it gives: which builds share a job, in which order."""

from __future__ import annotations

from pathlib import Path

from .plans import jobs, plan_of, planned

VARIANTS = """version: 1
images:
  app:
    strategy: qemu
    variants:
      slim: {build-args: {FLAVOUR: slim}}
      full: {build-args: {FLAVOUR: full}}
"""


def test_a_lone_build_gets_plain_job_ids(tmp_path: Path) -> None:
    assert list(jobs(plan_of(tmp_path, "version: 1\nimages:\n  app: {strategy: native}\n"))) == ["build", "merge"]


def test_variants_of_one_shape_share_one_job_with_a_row_each(tmp_path: Path) -> None:
    (job,) = jobs(plan_of(tmp_path, VARIANTS)).values()
    assert (job.id, job.kind, job.title) == ("build", "build", "app (slim, full)")
    assert job.name == "Build ${{ matrix.variant }}"
    assert [row["variant"] for row in job.matrix] == ["app/slim", "app/full"]


def test_variants_of_different_shapes_get_a_job_each_named_after_the_variant(tmp_path: Path) -> None:
    spec = VARIANTS.replace("full: {build-args: {FLAVOUR: full}}",
                            "full: {build-args: {FLAVOUR: full}, strategy: native}")
    assert list(jobs(plan_of(tmp_path, spec))) == ["build-app-slim", "build-app-full", "merge-app-full"]


def test_a_base_comes_first_and_its_tagging_job_is_needed(tmp_path: Path) -> None:
    spec = ("version: 1\nimages:\n  app: {strategy: qemu, from: base, context: app}\n"
            "  base: {strategy: native, context: base}\n")
    found = jobs(plan_of(tmp_path, spec, {"app/Dockerfile": "ARG BASE_IMAGE\nFROM $BASE_IMAGE\n",
                                          "base/Dockerfile": "FROM alpine\n"}))
    assert list(found) == ["build-base", "merge-base", "build-app"], "the base's jobs first, whatever the spec's order"
    assert found["build-app"].needs == ("merge-base",)
    base = found["build-app"].base
    assert base is not None
    assert base.key == "base"
    assert found["build-base"].needs == ()


def test_dotted_image_names_make_valid_job_ids(tmp_path: Path) -> None:
    spec = "version: 1\nimages:\n  a.b: {strategy: qemu, context: a}\n  c: {strategy: qemu, from: a.b, context: c}\n"
    found = jobs(plan_of(tmp_path, spec, {"a/Dockerfile": "FROM alpine\n", "c/Dockerfile": "FROM alpine\n"}))
    assert list(found) == ["build-a_b", "build-c"]


def test_groups_are_what_the_decisions_say(tmp_path: Path) -> None:
    stages = planned(tmp_path, VARIANTS)
    from generator.plan.groups import groups

    (group,) = groups(stages.spec, stages.decisions, list(stages.spec.images))
    assert ([b.label for b in group.builds], group.job_suffix, group.job_id("sign")) == (
        ["app/slim", "app/full"], "", "sign")
