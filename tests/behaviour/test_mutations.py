"""The suite's own test: break a behaviour on purpose in a copy of a sample's generated workflows and
show the behaviour checks then fail. Each edit finds its target by what it does (the job that runs
`imagetools create`, the steps that use a login action), not by the workflows' exact text, so the
mutations keep working while the generated YAML changes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from . import checks, harness, scenarios
from .conftest import report

LOGINS = checks.LOGINS


def edit_workflows(change: Callable[[dict[str, Any]], bool]) -> Callable[[Path], None]:
    """An edit of every generated workflow `change` alters (it returns whether it did)."""

    def edit(repo: Path) -> None:
        changed = False
        for path in sorted((repo / ".github/workflows").glob("*.yml")):
            doc = harness.load_yaml(path.read_text())
            if change(doc):
                changed = True
                path.write_text(harness.dump_yaml(doc))
        assert changed, "the mutation found nothing to change: update it to the workflows' new shape"

    return edit


def steps(doc: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for job in (doc.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            yield job, step


def uses(step: dict[str, Any], *actions: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] in actions


def _tagging_job(job: dict[str, Any]) -> bool:
    return any("imagetools create" in str(s.get("run", "")) for s in job.get("steps") or [])


def _verify_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps that read the pushed digests before the tagging step (the verification)."""
    out = []
    for step in job.get("steps") or []:
        if "imagetools create" in str(step.get("run", "")):
            break
        if "imagetools inspect" in str(step.get("run", "")):
            out.append(step)
    return out


def drop_merge_needs(doc: dict[str, Any]) -> bool:
    """The job that writes the multi-platform tags no longer waits for the legs, nor checks what they
    pushed (the check alone would refuse a merge that misses a failed leg's platform)."""
    hit = False
    for job in (doc.get("jobs") or {}).values():
        if _tagging_job(job) and "needs" in job:
            del job["needs"]
            unchecked = _verify_steps(job)
            job["steps"] = [s for s in job["steps"] if not any(s is u for u in unchecked)]
            hit = True
    return hit


def tag_then_verify(doc: dict[str, Any]) -> bool:
    """The old order of the single-job strategies: tag first, check the platforms afterwards."""
    hit = False
    for job in (doc.get("jobs") or {}).values():
        checks_ = _verify_steps(job) if _tagging_job(job) else []
        if checks_:
            rest = [s for s in job["steps"] if not any(s is c for c in checks_)]
            at = next(i for i, s in enumerate(rest) if "imagetools create" in str(s.get("run", ""))) + 1
            job["steps"] = rest[:at] + checks_ + rest[at:]
            hit = True
    return hit


def verification_dropped(doc: dict[str, Any]) -> bool:
    """The tagging job tags whatever the legs pushed, unchecked."""
    hit = False
    for job in (doc.get("jobs") or {}).values():
        unchecked = _verify_steps(job) if _tagging_job(job) else []
        if unchecked:
            job["steps"] = [s for s in job["steps"] if not any(s is u for u in unchecked)]
            hit = True
    return hit


def login_on_pull_requests(doc: dict[str, Any]) -> bool:
    hit = False
    for _, step in steps(doc):
        if uses(step, *LOGINS) and "if" in step:
            del step["if"]
            hit = True
    return hit


def cache_on_pull_requests(doc: dict[str, Any]) -> bool:
    hit = False
    for _, step in steps(doc):
        if uses(step, "docker/build-push-action") and step.get("with", {}).get("cache-from"):
            step["with"]["cache-to"] = "type=gha,scope=mutation,mode=max"
            hit = True
    return hit


def push_input_ignored(doc: dict[str, Any]) -> bool:
    """Manual runs publish whatever the push box says."""
    text = harness.dump_yaml(doc)
    if "inputs.push" not in text:
        return False
    text = re.sub(r"(github\.event\.)?inputs\.push( == 'true')?", "true", text)
    doc.clear()
    doc.update(harness.load_yaml(text))
    return True


def ref_case_ignored(doc: dict[str, Any]) -> bool:
    """Manual runs trust env.PUSH alone, whose expression ignores case: refs/heads/MAIN publishes as main."""
    hit = False
    for job in (doc.get("jobs") or {}).values():
        kept = [s for s in job.get("steps") or [] if "PUBLISHING_REFS" not in (s.get("env") or {})]
        if kept != job.get("steps", []):
            job["steps"] = kept
            hit = True
    return hit


def _tags_without_the_floating_decision(doc: dict[str, Any], tags: str) -> bool:
    """The merge's metadata-action given `tags` and latest=auto in place of the floating decision's output."""
    hit = False
    for _, step in steps(doc):
        if uses(step, "docker/metadata-action") and "steps.floating.outputs.tags" in str(step.get("with", {})):
            step["with"]["tags"] = tags
            step["with"]["flavor"] = "latest=auto\n"
            hit = True
    return hit


def floating_from_metadata(doc: dict[str, Any]) -> bool:
    """latest and MAJOR from metadata-action's own rules (latest=auto), as the naive recipe does: any
    release tag then moves them, older or not."""
    return _tags_without_the_floating_decision(doc, "type=semver,pattern={{version}}\ntype=semver,pattern={{major}}\n")


def merge_queue_publishes(doc: dict[str, Any]) -> bool:
    """A merge queue's group publishes as a push would (its code is unreviewed pull requests')."""
    text = harness.dump_yaml(doc)
    if "github.event_name != 'merge_group' && " not in text:
        return False
    doc.clear()
    doc.update(harness.load_yaml(text.replace("github.event_name != 'merge_group' && ", "")))
    return True


def verbatim_tag_moves_latest(doc: dict[str, Any]) -> bool:
    """The git tag verbatim with metadata-action's latest=auto, as before the floating decision judged it:
    every release, the lower CalVer one included, moves latest."""
    return _tags_without_the_floating_decision(doc, "${{ inputs.tags }}\n${{ inputs.semver }}\n")


def cache_keys_changed(**env: str) -> Callable[[dict[str, Any]], bool]:
    """The per-branch cache step with some of its environment replaced."""
    def change(doc: dict[str, Any]) -> bool:
        hit = False
        for _, step in steps(doc):
            if step.get("id") == "cache" and "CACHE" in step.get("env", {}):
                step["env"].update(env)
                hit = True
        return hit

    return change


def legs_on_x86(doc: dict[str, Any]) -> bool:
    """Every leg on an x86 runner, none emulated: the arm64 leg's RUN steps cannot execute there.
    The legs are a matrix in the workflow or, for a call of the shared engine, its JSON input."""
    hit = False

    def x86(rows: list[dict[str, Any]]) -> bool:
        moved = False
        for row in rows:
            if "runner" in row and row["runner"] != "ubuntu-24.04":
                row["runner"] = "ubuntu-24.04"
                moved = True
        return moved

    for job in (doc.get("jobs") or {}).values():
        hit = x86(((job.get("strategy") or {}).get("matrix") or {}).get("include", [])) or hit
        given = job.get("with") or {}
        if "uses" in job and isinstance(given.get("legs"), str):
            rows = json.loads(given["legs"])
            if x86(rows):
                given["legs"] = json.dumps(rows)
                hit = True
    return hit


def no_qemu(doc: dict[str, Any]) -> bool:
    hit = False
    for job in (doc.get("jobs") or {}).values():
        before = len(job.get("steps") or [])
        job["steps"] = [s for s in job.get("steps") or [] if not uses(s, "docker/setup-qemu-action")]
        hit = hit or len(job["steps"]) != before
    return hit


def secret_in_a_script(doc: dict[str, Any]) -> bool:
    """Run steps that read a registry secret (say, to log in by hand)."""
    hit = False
    for _, step in steps(doc):
        if "run" in step:
            step.setdefault("env", {})["TOKEN"] = "${{ secrets.GITHUB_TOKEN }}"
            hit = True
    return hit


def secrets_handed_to_pull_requests(doc: dict[str, Any]) -> bool:
    """The calls before this check: every secret handed to the engine as it is, on pull requests too."""
    hit = False
    for job in (doc.get("jobs") or {}).values():
        if "uses" in job and job.get("secrets"):
            job["secrets"] = {name: f"${{{{ secrets.{name} }}}}" for name in job["secrets"]}
            hit = True
    return hit


def environment_on_every_publish(doc: dict[str, Any]) -> bool:
    """The jobs before this check: in the environment on every run, one that skips its registries included."""
    hit = False
    for job in (doc.get("jobs") or {}).values():
        if "${{" in str(job.get("environment", "")):
            job["environment"] = re.search(r"'([^']+)' \|\| ''", job["environment"])[1]  # type: ignore[index]
            hit = True
    return hit


def undeclared_input(doc: dict[str, Any]) -> bool:
    for _, step in steps(doc):
        if uses(step, "docker/build-push-action"):
            step.setdefault("with", {})["cache-export"] = "type=gha"
            return True
    return False


def dependents_from_a_tag(doc: dict[str, Any]) -> bool:
    """The hand-over issue 16 removed: on runs that publish nothing, each dependent builds on its base's
    branch tag (the last published base, not the one the run changes), passed through as it is."""
    hit = False
    for job in (doc.get("jobs") or {}).values():
        given = job.get("with") or {}
        if "uses" in job and "base-args" in given:
            tag = "|| 'ghcr.io/acme-robotics/stack:main-base'"  # robotics' base, seeded as published
            given["base-args"] = re.sub(r"\|\| '[^']*'", tag, given["base-args"])
            hit = True
        for step in job.get("steps") or []:
            if step.get("id") == "base":
                step["run"] = 'echo "args=$ARGS" >> "$GITHUB_OUTPUT"\n'
                hit = True
    return hit


def _case(sample: str, name: str) -> scenarios.Case:
    return next(c for c in scenarios.cases(sample) if c.scenario.name == name)


def _native() -> str:
    """A sample whose workflow merges legs (a job runs imagetools create), preferring a small one."""
    for sample in ("smoke-test", "native-services", "compile-heavy", "per-arch-dockerfiles"):
        if any(drop_merge_needs(harness.load_yaml(harness.dump_yaml(d))) for d in scenarios.docs(sample).values()):
            return sample
    raise AssertionError("no sample merges legs")


MUTATIONS = [
    # (id, sample, scenario, edit, the problem the checks must report)
    ("merge-without-needs", _native(), "failed-leg", drop_merge_needs, "ran although"),
    ("tag-before-verification", "minimal", "push-main", tag_then_verify, "tagged before the platform"),
    # An image built for another platform than its entry claims: tagged when the check comes too late, or not at all.
    ("wrong-platform-tagged-then-verified", "go-cross", "wrong-platform", tag_then_verify, "points at a build of"),
    ("wrong-platform-unverified", "native-services", "wrong-platform", verification_dropped, "no failed step named"),
    ("pull-request-logs-in", "minimal", "pull-request", login_on_pull_requests, "login step ran"),
    ("pull-request-writes-cache", "minimal", "pull-request", cache_on_pull_requests, "writes the cache"),
    ("manual-run-ignores-push", "minimal", "manual-no-push", push_input_ignored, "written"),
    ("manual-run-ignores-case", "minimal", "manual-push-main-upper-case", ref_case_ignored, "written"),
    ("lower-release-moves-latest", "minimal", "tag-lower", floating_from_metadata, "moved"),
    ("lower-calver-release-moves-latest", "appliance", "release-lower", verbatim_tag_moves_latest, "latest"),
    # Per-branch registry cache keys: a branch that no longer falls back to main's cache, a pull request that writes.
    ("cache-without-fallback", "compile-heavy", "push-release", cache_keys_changed(DEFAULT_BRANCH="release/1.x"),
     "reads ['type=registry,ref=ghcr.io/acme/cache:mediad-"),
    ("pull-request-writes-branch-cache", "compile-heavy", "pull-request", cache_keys_changed(WRITE="true"),
     "writes the cache"),
    ("merge-queue-publishes", "go-cross", "merge-queue", merge_queue_publishes, "login step ran"),
    ("undeclared-action-input", "minimal", "pull-request", undeclared_input, "declares no input"),
    ("arm-leg-on-an-x86-runner", "native-services", "push-main", legs_on_x86, "without QEMU"),
    ("qemu-step-dropped", "webapp", "pull-request", no_qemu, "without QEMU"),  # its worker builds under QEMU
    ("secret-in-a-run-step", "minimal", "push-main", secret_in_a_script, "secret GITHUB_TOKEN reached a run step"),
    ("pull-request-handed-secrets", "multi-cloud", "pull-request", secrets_handed_to_pull_requests,
     "secret DOCKERHUB_TOKEN handed to the engine"),
    ("environment-on-every-publish", "multi-registry", "push-main", environment_on_every_publish,
     "job merge entered the environment 'release', on a run that does not publish"),
    ("pull-request-dependent-from-a-tag", "robotics", "pull-request", dependents_from_a_tag, "from the registry"),
]


def submit_mutations(runs: scenarios.Runs) -> dict[str, tuple[scenarios.Case, Future[harness.Run]]]:
    """Start every mutated run (the `runs` fixture does it early, so they overlap with the rest)."""
    out = {}
    for name, sample, scenario, change, _ in MUTATIONS:
        case = _case(sample, scenario)
        out[name] = (case, runs.submit(case, edit_workflows(change), key=f"mutation-{name}"))
    return out


@pytest.fixture(scope="module")
def mutated(runs: scenarios.Runs) -> dict[str, tuple[scenarios.Case, Future[harness.Run]]]:
    return submit_mutations(runs)


@pytest.mark.parametrize(("name", "expected"), [(m[0], m[4]) for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_checks_catch(name: str, expected: str, mutated: dict[str, tuple[scenarios.Case, Future[harness.Run]]]) -> None:
    case, future = mutated[name]
    run = future.result()
    problems = scenarios.judge(case, run)
    assert any(expected in p for p in problems), report(run, [f"the checks missed the mutation {name}:", *problems])
