"""Spec + Decisions -> the workflows: which builds share a file, its triggers and path filters, when a run
publishes, the jobs in order (a base's jobs before its dependents'), and outputs that would collide.

Builds (an image, or one variant of it) that depend on each other share a workflow; others get their own,
with path filters."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import NamedTuple

from .. import cachekey
from ..contract import WORKFLOWS_DIR, spec_option
from ..errors import Problem, UserError
from ..filters import escape_glob, ref_condition
from ..model import Cache, Image, Registry, Spec, Variant
from ..strategy import Decisions
from ..workflow import CheckWorkflow, Job, Literal, Login, Trigger, Value, Workflow, WorkflowPlan
from .engine import call_defaults, call_job, check_filename, engine_filename, engine_workflow, not_pull_requests
from .tags import default_branch, events, publishes_to
from .tags import written as written_tags
from .values import cache_tag, image_ref, registry_condition

CHECK_REQUIREMENTS = ".github/gen-workflows-requirements.txt"  # templates/scripts/install-gen-workflows.sh reads it


def plan_data(spec: Spec, decisions: Decisions) -> WorkflowPlan:
    """Every workflow the spec asks for. Raises UserError, with every problem found, for a spec whose
    outputs cannot exist side by side (two files of one name, one cache for two builds, a matrix GitHub
    refuses): the same verdict for generate, validate and plan."""
    problems: list[Problem] = []
    workflows: list[Workflow] = []
    calls: list[tuple[Variant, dict[str, Value]]] = []
    shared = _Shared(call_ids(spec), logins(spec), call_defaults(spec))
    for images in components(spec):
        try:
            workflows.append(_workflow(spec, decisions, images, calls, shared))
        except UserError as exc:
            problems += exc.problems
    publishing, note, _, exact = publishing_condition(spec)
    if workflows:
        workflows.insert(0, engine_workflow(spec, calls, shared.logins, Literal(f"${{{{ {publishing.text} }}}}"),
                                            note, " ".join(exact), shared.defaults))
    check = check_workflow(spec) if spec.check_workflow else None
    problems += _collisions(spec, decisions, workflows, check, calls, shared.defaults)
    if problems:
        raise UserError(problems)
    return WorkflowPlan(spec.path, tuple(workflows), check)


def _collisions(spec: Spec, decisions: Decisions, workflows: Sequence[Workflow], check: CheckWorkflow | None,
                calls: Sequence[tuple[Variant, dict[str, Value]]],
                defaults: dict[str, str | int | bool]) -> list[Problem]:
    """Outputs that would overwrite each other: workflow files, the tags builds write (on any event), and
    registry caches (with each other, or with a tag a build writes into the same repository)."""
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    if check is not None:
        owner[check.filename] = "the drift guard (check-workflow: true)"
    for wf in workflows:
        if wf.template != "workflow.yml.j2":
            continue
        image = next(i for i in spec.images if workflow_filename([i]) == wf.filename)
        if wf.filename in owner:
            line, column = image.position
            problems.append(Problem(
                spec.path, line, column,
                f'image "{image.name}" would be written to {WORKFLOWS_DIR}/{wf.filename}, which {owner[wf.filename]} '
                "also writes", "rename the image: its workflow file is named after it"))
        owner.setdefault(wf.filename, f'image "{image.name}"')
    builds = [(image, build) for image in spec.images for build in image.variants]
    written, clashes = _tag_clashes(spec, builds, calls, defaults)
    problems += clashes
    caches: dict[str, str] = {}
    for image, build in builds:
        if build.cache is not Cache.REGISTRY:
            continue
        decided = decisions[build.key]
        pairs = [leg.platform.pair for leg in decided.legs] if decided.legs_apart else [""]
        for pair in pairs:
            tag = cache_tag(build, pair)
            repository = spec.registries[0].repository(build.repository)
            ref, tagged = f"{image_ref(spec.registries[0], repository)}:{tag}", f"{repository}:{tag}"
            line, column = image.position
            clash = f'the registry cache of "{caches[ref]}"' if ref in caches else \
                f'a tag "{written[tagged][0]}" writes' if tagged in written else ""
            if clash:
                problems.append(Problem(spec.path, line, column,
                                        f'"{build.label}" would keep its registry cache in {ref}, which is also '
                                        f"{clash}", "change a suffix or prefix, or the fixed tag"))
            elif len(tag) > cachekey.TAG_MAX:
                problems.append(Problem(spec.path, line, column,
                                        f'"{build.label}": the registry cache tag {tag} is longer than '
                                        f"{cachekey.TAG_MAX} characters", "shorten the prefix or suffix"))
            caches.setdefault(ref, build.label)
    return problems


def _tag_clashes(spec: Spec, builds: Sequence[tuple[Image, Variant]], calls: Sequence[tuple[Variant, dict[str, Value]]],
                 defaults: dict[str, str | int | bool]) -> tuple[dict[str, tuple[str, str]], list[Problem]]:
    """Every tag each build writes on each event (tags.written, from its call's inputs), and a problem for
    each pair of builds that would write one same tag, on one event or on two: the later run overwrites
    the other build's image. Returns {`repository:tag`: (build, event)} too, for the cache check."""
    inputs = {build.key: {**defaults, **values} for build, values in calls}
    default = default_branch(spec)
    written: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    for event in events(spec):
        for image, build in builds:
            if build.key not in inputs:  # its workflow was refused already
                continue
            # Each registry of the run gets the same tags, in the repository it names the build's.
            for n, registry in enumerate(spec.registries):
                if not publishes_to(registry, event, default):
                    continue
                repository = registry.repository(build.repository)
                shown = image_ref(registry, repository) if registry.repositories else repository
                for tag in written_tags(inputs[build.key], event, default):
                    key = f"{n} {repository}:{tag}"
                    owner, when = written.setdefault(key, (build.label, event.label))
                    if owner == build.label or (owner, build.label) in reported:
                        continue
                    reported.add((owner, build.label))
                    also = when if when == event.label else f'"{owner}": {when}; "{build.label}": {event.label}'
                    line, column = image.position
                    problems.append(Problem(
                        spec.path, line, column,
                        f'"{build.label}" would write the tag {shown}:{tag}, which "{owner}" also writes ({also})',
                        "give one of them another `prefix:` or `suffix:`, or change the tag rule"))
    # For the cache check: the tags written in the first registry, where the registry caches live.
    first = {key.removeprefix("0 "): v for key, v in written.items() if key.startswith("0 ")}
    return first, problems


def check_workflow(spec: Spec) -> CheckWorkflow:
    """A small workflow that fails a pull request whose generated workflows are stale. It installs
    gen-workflows from a requirements file with hashes that the repository commits: every file pip
    installs is pinned by hash, so the guard is reproducible, and an upgrade of gen-workflows is a reviewed
    change of that file. No hash can be known here (no network, and the release's own wheel is hashed
    only once published), so the tool never writes one: the README says how to make the file."""
    paths = [escape_glob(spec.path), f"{WORKFLOWS_DIR}/**", CHECK_REQUIREMENTS]
    for image in spec.images:
        for build in image.variants:
            paths += map(escape_glob, _dockerfiles(build))
    return CheckWorkflow(
        filename=check_filename(spec.path),
        # Its name is the concurrency group's and, as the job's, the check branch protection requires: one of
        # its own for each spec, or two guards on one pull request cancel each other.
        name="Generated workflows are current" + (f" ({spec.path})" if spec_option(spec.path) else ""),
        paths=tuple(dict.fromkeys(paths)),
        requirements=CHECK_REQUIREMENTS,
        command=f"gen-workflows --check{spec_option(spec.path)}\n",
    )


def components(spec: Spec) -> list[list[Image]]:
    """Images linked by `from:` (either way) share a workflow; spec order is kept."""
    owner = {image.name: image.name for image in spec.images}

    def find(name: str) -> str:
        while owner[name] != name:
            name = owner[name]
        return name

    for image in spec.images:
        for build in image.variants:
            for base in build.bases:
                owner[find(image.name)] = find(base.image)
    found: dict[str, list[Image]] = {}
    for image in spec.images:
        found.setdefault(find(image.name), []).append(image)
    return sorted(found.values(), key=lambda images: spec.images.index(images[0]))


def workflow_filename(images: Sequence[Image]) -> str:
    return f"multiarch-{images[0].name}.yml"


def logins(spec: Spec) -> tuple[Login, ...]:
    """The registries, each with a slug that names its steps (the kind, numbered when it repeats)."""
    seen: dict[str, int] = {}
    found = []
    for reg in spec.registries:
        seen[reg.kind.value] = seen.get(reg.kind.value, 0) + 1
        slug = reg.kind.value if seen[reg.kind.value] == 1 else f"{reg.kind.value}-{seen[reg.kind.value]}"
        condition = registry_condition(reg)
        flag = f"PUSH_TO_{slug.upper().replace('-', '_')}" if condition else ""
        found.append(Login(slug, reg, flag, condition, _condition_note(reg)))
    return tuple(found)


def _condition_note(reg: Registry) -> str:
    runs = {"tag": "tags and releases", "default-branch": "the default branch", "schedule": "scheduled runs"}
    kinds = [runs.get(on) or on for on in reg.on]
    found = f"on {', '.join(kinds)}" if kinds else ""
    if reg.skip_without_secret:
        found = " ".join(p for p in (found, f"when {reg.password_secret} is set") if p)
    return found


def _ordered(spec: Spec, images: list[Image]) -> list[Variant]:
    """The workflow's builds, a base before the builds that start from it, spec order otherwise."""
    builds = [b for image in images for b in image.variants]
    children: dict[str, list[int]] = {}
    waiting = [0] * len(builds)  # how many of its inputs each build still waits for
    for n, build in enumerate(builds):
        for key in dict.fromkeys(spec.variant(b.image, b.variant).key for b in build.bases):
            children.setdefault(key, []).append(n)
            waiting[n] += 1
    ready = [n for n in range(len(builds)) if not waiting[n]]
    heapq.heapify(ready)
    ordered: list[Variant] = []
    while ready:  # a cycle was refused by validation, so every build becomes ready
        build = builds[heapq.heappop(ready)]
        ordered.append(build)
        for child in children.get(build.key, ()):
            waiting[child] -= 1
            if not waiting[child]:
                heapq.heappush(ready, child)
    return ordered


def call_ids(spec: Spec) -> dict[str, str]:
    """A job id per build, unique in the spec: the image's name, or `<image>-<variant>` (ids take
    letters, digits, '_' and '-'; names may also hold '.')."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for image in spec.images:
        for build in image.variants:
            candidate = (f"{image.name}-{build.name}" if build.name else image.name).replace(".", "_")
            if not (candidate[0].isalpha() or candidate[0] == "_"):  # a job id starts with a letter or '_'
                candidate = f"build-{candidate}"
            found, n = candidate, 2
            while found in taken:
                found, n = f"{candidate}-{n}", n + 1
            taken.add(found)
            ids[build.key] = found
    return ids


class _Shared(NamedTuple):
    """What every workflow of the spec reads, made once."""

    ids: dict[str, str]  # build key -> its call's job id
    logins: tuple[Login, ...]
    defaults: dict[str, str | int | bool]  # the engine's defaults (engine.call_defaults)


def _workflow(spec: Spec, decisions: Decisions, images: list[Image],
              calls: list[tuple[Variant, dict[str, Value]]], shared: _Shared) -> Workflow:
    filename = workflow_filename(images)
    trig = spec.triggers
    publishing, note, refs, _ = publishing_condition(spec)
    paths, unfiltered = _paths(spec, images, filename)
    on = Trigger(
        push_branches=trig.branches,
        push_tags=trig.tags,
        pull_request_branches=trig.branches if trig.pull_requests else None,
        manual=trig.manual,
        manual_push=trig.manual and bool(refs),
        schedule=trig.schedule,
        paths=paths,
        release=trig.releases,
        merge_group=trig.merge_queue,
    )
    jobs: list[Job] = []
    builds = _ordered(spec, images)
    for build in builds:
        job, values = call_job(spec, build, decisions, shared.ids, shared.logins, shared.defaults)
        jobs.append(job)
        calls.append((build, values))
    names = ", ".join(image.name for image in images)
    return Workflow(
        filename=filename,
        name=f"Image{'s' if len(images) > 1 else ''} {names}",
        on=on,
        push_condition=Literal(f"${{{{ {publishing.text} }}}}"),
        push_note=note,
        logins=shared.logins,
        jobs=tuple(jobs),
        summary=(unfiltered,) if unfiltered else (),
        builds=tuple(b.key for b in builds),
    )


def publishing_condition(spec: Spec) -> tuple[Literal, str, str, tuple[str, ...]]:
    """When a run publishes: the expression, what it means in words, and for manual runs the condition on
    their ref and the patterns it honours as exact regular expressions. A manual run may start from any ref,
    so it publishes only from one the push triggers name (filters.ref_condition says which it can decide);
    the expression ignores case, so the legs' first step checks the ref against the regular expressions."""
    trig = spec.triggers
    # A merge queue's group is a pull request's run too (its code is the queued pull requests').
    not_pr, prs = not_pull_requests(spec), "pull requests, merge queues" if trig.merge_queue else "pull requests"
    if not trig.manual:
        return Literal(not_pr), f"never on {prs}", "", ()
    refs, honoured, exact = ref_condition(trig.branches, trig.tags)
    others = [p for p in (*trig.branches, *trig.tags) if p not in honoured and not p.startswith("!")]
    pushed_only = f" ({', '.join(others)}: only when pushed)" if others else ""
    if not refs:
        return (Literal(f"{not_pr} && github.event_name != 'workflow_dispatch'"),
                f"never on {prs} or manual runs{pushed_only}", "", ())
    # The engine is a called workflow: the manual run's `push` box is the caller's event input there.
    ticked = "github.event.inputs.push == 'true'"
    return (Literal(f"{not_pr} && (github.event_name != 'workflow_dispatch' || {ticked} && ({refs}))"),
            f"never on {prs}, nor on manual runs with push unticked or from a ref other than "
            f"{', '.join(honoured)}{pushed_only}", refs, exact)


def _paths(spec: Spec, images: list[Image], filename: str) -> tuple[tuple[str, ...], str]:
    """Path filters: what each image is built from (its `paths:`, else its contexts and Dockerfiles), the
    spec and this workflow. A build whose context is the whole repository needs every change, and the
    workflow runs all its builds, so it gets no filter then: with the reason, when another image of it
    asked for a filter (`paths:`) that is therefore not applied (the workflow's comment, `plan`)."""
    paths: list[str] = []
    root = ""
    for image in images:
        if image.paths:
            paths += image.paths
            continue
        for build in image.variants:
            if build.context == ".":
                root = root or image.name
                break
            paths.append(f"{escape_glob(build.context)}/**")
            for dockerfile in _dockerfiles(build):
                if not dockerfile.startswith(build.context + "/"):
                    paths.append(escape_glob(dockerfile))
    if root:
        asked = [image.name for image in images if image.paths]
        return (), (f"No path filter: {root} builds from the whole repository (context .), so the paths: of "
                    f"{', '.join(asked)} cannot apply (give {root} paths: too, or set defaults.paths)" if asked else "")
    paths += [escape_glob(spec.path), f"{WORKFLOWS_DIR}/{engine_filename(spec.path)}",
              f"{WORKFLOWS_DIR}/{filename}"]
    return tuple(dict.fromkeys(paths)), ""


def _dockerfiles(build: Variant) -> list[str]:
    return [build.dockerfile, *(o.dockerfile for _, o in build.per_platform if o.dockerfile)]
