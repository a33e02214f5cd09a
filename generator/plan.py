"""Spec -> WorkflowPlan: every decision about workflows, jobs, steps, permissions, caches and events.

Builds (an image, or one variant of it) that depend on each other share a workflow; others get their own,
with path filters. Within a workflow, builds of one image with the same strategy and the same base share
one job: whatever differs between them becomes a matrix value, whatever they share stays written out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

from .actions import load_pins
from .contract import WORKFLOWS_DIR, spec_option
from .errors import Problem, UserError
from .filters import escape_glob, ref_condition
from .model import Cache, Image, Registry, RegistryKind, Spec, Strategy, TagRule, Variant
from .platforms import info
from .resources import resource_dir
from .strategy import X64_RUNNER, BuildDecision, Decisions, Leg
from .workflow import CheckWorkflow, Job, Literal, Permission, Step, Trigger, Value, Workflow, WorkflowPlan

NOT_PR = "github.event_name != 'pull_request'"
PULL_REQUEST = "github.event_name == 'pull_request'"
MERGE_TIMEOUT = 15
MAX_MATRIX = 256  # GitHub's limit of jobs per matrix
MAX_TAG = 128  # the OCI distribution spec's limit on a tag's length
DIGESTS_DIR = "${{ runner.temp }}/digests"
DIGEST_DIR = "${{ runner.temp }}/digest"
PUSHING = "env.PUSH == 'true'"  # steps' guard; the workflow's env says what PUSH means
FLOATING_TAGS = "${{ steps.floating.outputs.tags }}\n"


@dataclass(frozen=True)
class Group:
    """Builds that share one job (and one merge job, for native)."""

    image: Image
    builds: tuple[Variant, ...]
    strategy: Strategy
    base: Variant | None  # the build they all start from, if any
    job_suffix: str  # "" when the workflow holds only this group
    decisions: Decisions  # every build's, by key

    def decided(self, build: Variant) -> BuildDecision:
        return self.decisions[build.key]

    def job_id(self, kind: str) -> str:
        return f"{kind}-{self.job_suffix}" if self.job_suffix else kind

    @property
    def title(self) -> str:
        if len(self.builds) == 1:
            return self.builds[0].label
        return f"{self.image.name} ({', '.join(b.name for b in self.builds)})"


# ------------------------------------------------------------------------------------------ workflows


def plan_workflows(spec: Spec, decisions: Decisions) -> WorkflowPlan:
    """Every workflow the spec asks for. Raises UserError, with every problem found, for a spec whose
    outputs cannot exist side by side (two files of one name, one cache for two builds, a matrix GitHub
    refuses): the same verdict for generate, validate and plan."""
    problems: list[Problem] = []
    workflows: list[Workflow] = []
    for images in _components(spec):
        try:
            workflows.append(_workflow(spec, decisions, images))
        except UserError as exc:
            problems += exc.problems
    check = _check_workflow(spec) if spec.check_workflow else None
    problems += _collisions(spec, decisions, workflows, check)
    if problems:
        raise UserError(problems)
    return WorkflowPlan(spec.path, tuple(workflows), check)


def _collisions(spec: Spec, decisions: Decisions, workflows: Sequence[Workflow],
                check: CheckWorkflow | None) -> list[Problem]:
    """Outputs that would overwrite each other: workflow files, and registry caches (with each other, or
    with a fixed tag a build writes into the same repository)."""
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    if check is not None:
        owner[check.filename] = "the drift guard (check-workflow: true)"
    for wf in workflows:
        image = next(i for i in spec.images if workflow_filename([i]) == wf.filename)
        if wf.filename in owner:
            line, column = image.position
            problems.append(Problem(
                spec.path, line, column,
                f'image "{image.name}" would be written to {WORKFLOWS_DIR}/{wf.filename}, which {owner[wf.filename]} '
                "also writes", "rename the image: its workflow file is named after it"))
        owner.setdefault(wf.filename, f'image "{image.name}"')
    caches: dict[str, str] = {}
    fixed: dict[str, str] = {}
    builds = [(image, build) for image in spec.images for build in image.variants]
    for _, build in builds:
        repo = _ref(spec.registries[0], build)
        for rule in build.tags:
            if rule.kind in ("raw", "schedule"):
                fixed.setdefault(f"{repo}:{build.prefix}{rule.value}{build.suffix}", build.label)
    for image, build in builds:
        if build.cache is not Cache.REGISTRY:
            continue
        decided = decisions[build.key]
        pairs = [leg.platform.pair for leg in decided.legs] if decided.legs_apart else [""]
        for pair in pairs:
            ref, tag = f"{_ref(spec.registries[0], build)}:{cache_tag(build, pair)}", cache_tag(build, pair)
            line, column = image.position
            clash = f'the registry cache of "{caches[ref]}"' if ref in caches else \
                f'a tag "{fixed[ref]}" writes' if ref in fixed else ""
            if clash:
                problems.append(Problem(spec.path, line, column,
                                        f'"{build.label}" would keep its registry cache in {ref}, which is also '
                                        f"{clash}", "change a suffix or prefix, or the fixed tag"))
            elif len(tag) > MAX_TAG:
                problems.append(Problem(spec.path, line, column,
                                        f'"{build.label}": the registry cache tag {tag} is longer than {MAX_TAG} '
                                        "characters", "shorten the prefix or suffix"))
            caches.setdefault(ref, build.label)
    return problems


CHECK_FILENAME = "multiarch-check.yml"


CHECK_REQUIREMENTS = ".github/gen-workflows-requirements.txt"


def _check_workflow(spec: Spec) -> CheckWorkflow:
    """A small workflow that fails a pull request whose generated workflows are stale. It installs
    gen-workflows from a requirements file with hashes that the repository commits: every file pip
    installs is pinned by hash, so the guard is reproducible, and an upgrade of gen-workflows is a reviewed
    change of that file. No hash can be known here (no network, and the release's own wheel is hashed
    only once published), so the tool never writes one: the README says how to make the file."""
    paths = [escape_glob(spec.path), f"{WORKFLOWS_DIR}/**", CHECK_REQUIREMENTS]
    for image in spec.images:
        for build in image.variants:
            paths += map(escape_glob, _dockerfiles(build))
    command = f"gen-workflows --check{spec_option(spec.path)}\n"
    install = Step("Install gen-workflows from the hashed requirements", run=shell_script("install-gen-workflows.sh"),
                   comment=f"Only what {CHECK_REQUIREMENTS} pins by hash (pip refuses anything else), and only "
                           "wheels: nothing is built.")
    return CheckWorkflow(
        filename=CHECK_FILENAME,
        name="Generated workflows are current",
        paths=tuple(dict.fromkeys(paths)),
        command=command,
        steps=(_checkout(), install, Step("Compare the workflows with the spec", run=command)),
    )


def _components(spec: Spec) -> list[list[Image]]:
    """Images linked by `from:` (either way) share a workflow; spec order is kept."""
    owner = {image.name: image.name for image in spec.images}

    def find(name: str) -> str:
        while owner[name] != name:
            name = owner[name]
        return name

    for image in spec.images:
        for build in image.variants:
            if build.base:
                owner[find(image.name)] = find(build.base.image)
    groups: dict[str, list[Image]] = {}
    for image in spec.images:
        groups.setdefault(find(image.name), []).append(image)
    return sorted(groups.values(), key=lambda images: spec.images.index(images[0]))


def workflow_filename(images: Sequence[Image]) -> str:
    return f"multiarch-{images[0].name}.yml"


def _workflow(spec: Spec, decisions: Decisions, images: list[Image]) -> Workflow:
    filename = workflow_filename(images)
    groups = _groups(spec, decisions, images)
    bases = {g.base.key for g in groups if g.base}
    trig = spec.triggers
    paths = _paths(spec, images, filename)
    publishing, note, refs, honoured = _publishing(spec)
    on = Trigger(
        push_branches=trig.branches,
        push_tags=trig.tags,
        pull_request_branches=trig.branches if trig.pull_requests else None,
        manual=trig.manual,
        manual_push=trig.manual and bool(refs),
        schedule=trig.schedule,
        paths=paths,
    )
    jobs: list[Job] = []
    tagging_job: dict[str, str] = {}
    for group in groups:
        needs = (tagging_job[group.base.key],) if group.base else ()
        # Dependent builds and the signing job read the pushed digest from an artifact of this run.
        has_dependents = any(b.key in bases or b.sign or b.attest for b in group.builds)
        if group.strategy is Strategy.NATIVE:
            build, merge = _native_jobs(spec, group, publishing, needs, has_dependents)
            jobs += [build, merge]
            tagging = merge.id
        else:
            job = _single_job(spec, group, needs, has_dependents)
            jobs.append(job)
            tagging = job.id
        jobs += _sign_job(spec, group, publishing, tagging)
        for build_ in group.builds:
            tagging_job[build_.key] = tagging
    names = ", ".join(image.name for image in images)
    return Workflow(
        filename=filename,
        name=f"Image{'s' if len(images) > 1 else ''} {names}",
        on=on,
        # Pull requests share a group per PR, so a new push cancels the superseded run; every
        # other event gets its own group (the run id), so branch and tag pushes are never cancelled.
        concurrency_group="${{ github.workflow }}-${{ github.event.pull_request.number || github.run_id }}",
        push_condition=f"${{{{ {publishing} }}}}",
        push_note=note,
        jobs=(replace(jobs[0], steps=(_manual_note(honoured), *jobs[0].steps)), *jobs[1:]) if refs else tuple(jobs),
        summary=tuple(line for group in groups for line in _summary(spec, group)),
        builds=tuple(b.key for group in groups for b in group.builds),
    )


def _publishing(spec: Spec) -> tuple[str, str, str, tuple[str, ...]]:
    """When a run publishes: the expression, what it means in words, and for manual runs the condition on
    their ref and the branch and tag patterns it honours. A manual run may start from any ref, so it
    publishes only from one the push triggers name (filters.ref_condition says which it can decide)."""
    trig = spec.triggers
    if not trig.manual:
        return NOT_PR, "never on pull requests", "", ()
    refs, honoured = ref_condition(trig.branches, trig.tags)
    others = [p for p in (*trig.branches, *trig.tags) if p not in honoured and not p.startswith("!")]
    pushed_only = f" ({', '.join(others)}: only when pushed)" if others else ""
    if not refs:
        return (f"{NOT_PR} && github.event_name != 'workflow_dispatch'",
                f"never on pull requests or manual runs{pushed_only}", "", ())
    return (f"{NOT_PR} && (github.event_name != 'workflow_dispatch' || inputs.push && ({refs}))",
            f"never on pull requests, nor on manual runs with push unticked or from a ref other than "
            f"{', '.join(honoured)}{pushed_only}", refs, honoured)


def _manual_note(honoured: tuple[str, ...]) -> Step:
    """A manual run asked to publish from another ref only builds; the run's page says why."""
    return Step(
        "Say why this manual run does not publish", if_="github.event_name == 'workflow_dispatch' && inputs.push "
                                                        "&& env.PUSH != 'true'",
        env=(("PUBLISHING_REFS", ", ".join(honoured)),),
        run=shell_script("manual-note.sh"),
    )


def _groups(spec: Spec, decisions: Decisions, images: list[Image]) -> list[Group]:
    """Builds grouped by (image, job shape, base), ordered so that a base's group comes first. qemu and
    buildx builds share the one-job shape (a build with nothing to emulate simply skips QEMU)."""
    keyed: dict[tuple[str, Strategy, str, object], list[Variant]] = {}
    for image in images:
        for build in image.variants:
            base = spec.variant(build.base.image, build.base.variant).key if build.base else ""
            shape = Strategy.NATIVE if decisions[build.key].legs_apart else Strategy.QEMU
            keyed.setdefault((image.name, shape, base, build.test), []).append(build)
    ordered: list[tuple[tuple[str, Strategy, str, object], list[Variant]]] = []
    placed: set[str] = set()
    pending = list(keyed.items())
    while pending:
        ready = [item for item in pending if not item[0][2] or item[0][2] in placed]
        item = ready[0] if ready else pending[0]  # a cycle was refused by validation
        pending.remove(item)
        ordered.append(item)
        placed.update(b.key for b in item[1])
    by_image: dict[str, int] = {}
    for (image_name, _, _, _), _builds in ordered:
        by_image[image_name] = by_image.get(image_name, 0) + 1
    groups = []
    taken: set[str] = set()
    for (image_name, strategy, base_key, _), builds in ordered:
        image = next(i for i in images if i.name == image_name)
        if len(ordered) == 1:
            suffix = ""
        else:
            # Job IDs take letters, digits, '_' and '-': names may also hold '.'.
            raw = image_name if by_image[image_name] == 1 else f"{image_name}-{builds[0].name}"
            suffix = candidate = raw.replace(".", "_")
            n = 2
            while suffix in taken:
                suffix, n = f"{candidate}-{n}", n + 1
            taken.add(suffix)
        base_build = next((b for i in spec.images for b in i.variants if b.key == base_key), None)
        groups.append(Group(image, tuple(builds), strategy, base_build, suffix, decisions))
    return groups


def _paths(spec: Spec, images: list[Image], filename: str) -> tuple[str, ...]:
    """Path filters: what each image is built from, the spec and this workflow. A build whose
    context is the whole repository needs every change, so the workflow gets no filter then."""
    paths: list[str] = []
    for image in images:
        if image.paths:
            paths += image.paths
            continue
        for build in image.variants:
            if build.context == ".":
                return ()
            paths.append(f"{escape_glob(build.context)}/**")
            for dockerfile in _dockerfiles(build):
                if not dockerfile.startswith(build.context + "/"):
                    paths.append(escape_glob(dockerfile))
    paths += [escape_glob(spec.path), f"{WORKFLOWS_DIR}/{filename}"]
    return tuple(dict.fromkeys(paths))


def _dockerfiles(build: Variant) -> list[str]:
    return [build.dockerfile, *(o.dockerfile for _, o in build.per_platform if o.dockerfile)]


def _summary(spec: Spec, group: Group) -> Iterable[str]:
    """One line per build for the header: how each platform is built, and where."""
    stand_in = _stand_in_events(spec)
    for build in group.builds:
        decided = group.decided(build)
        legs = decided.legs
        base = f", from {build.base.label}" if build.base else ""
        if decided.strategy is Strategy.NATIVE:
            notes = [[*(["QEMU"] if leg.qemu else []),
                      *([f"{stand_in}: {leg.pr_runner[0]}"] if leg.pr_runner and spec.triggers.pull_requests else [])]
                     for leg in legs]
            where = ", ".join(f"{leg.platform.name} on {'+'.join(leg.runner)}" + (f" ({'; '.join(n)})" if n else "")
                              for leg, n in zip(legs, notes, strict=True))
        else:
            emulated = [leg.platform.name for leg in legs if leg.qemu]
            cross = decided.strategy is Strategy.BUILDX and any(info(p).host != "x64" for p in build.platforms)
            how = f"QEMU for {', '.join(emulated)}" if emulated else "cross-compiling" if cross else "no emulation"
            where = f"{', '.join(p.name for p in build.platforms)} on {X64_RUNNER} ({how})"
        yield f"{build.label}: {decided.strategy.value}{base}. {where}"
        if decided.reason.startswith("auto: "):
            yield f"  why {decided.reason}"


# ------------------------------------------------------------------------------------------ matrix fields


class Fields:
    """Per-build values of a group: one written out when every build shares it, else a matrix value."""

    def __init__(self, builds: Sequence[Variant], values: Callable[[Variant], dict[str, Value]]) -> None:
        self.per_build = [values(b) for b in builds]
        keys = list(self.per_build[0])
        self.varying = [k for k in keys if len({_hashable(v[k]) for v in self.per_build}) > 1]

    def __call__(self, key: str) -> Value:
        if key in self.varying:
            return Literal(f"${{{{ matrix.{key} }}}}")
        return self.per_build[0][key]

    def matrix(self, index: int, used: Iterable[str]) -> dict[str, Value]:
        wanted = set(used)
        return {k: self.per_build[index][k] for k in self.varying if k in wanted}


def _hashable(value: Value) -> object:
    return value.text if isinstance(value, Literal) else value


def _text(value: Value) -> str:
    """A value spliced into a longer generated string (artifact names, paths)."""
    return value.text if isinstance(value, Literal) else str(value)


# ------------------------------------------------------------------------------------------ images


def image_refs(spec: Spec, build: Variant) -> tuple[str, ...]:
    """Each registry's reference for the build. GHCR's default namespace is the repository owner,
    which may hold capitals: metadata-action lower-cases names, and so do our own scripts."""
    return tuple(_ref(r, build) for r in spec.registries)


def _ref(registry: Registry, build: Variant) -> str:
    namespace = "${{ github.repository_owner }}" if registry.namespace is None else registry.namespace
    return "/".join(part for part in (registry.host, namespace, build.repository) if part)


def _needs_lowercase(spec: Spec) -> bool:
    return any(r.namespace is None for r in spec.registries)


def _tag_line(rule: TagRule) -> str:
    if rule.kind == "ref":
        return f"type=ref,event={rule.value}"
    if rule.kind == "semver":
        return f"type=semver,pattern={rule.value}"
    if rule.kind == "raw":
        return f"type=raw,value={rule.value}"
    if rule.kind == "schedule":
        return f"type=schedule,pattern={rule.value}"
    return f"type={rule.kind}"


def _flavor(build: Variant, floating: bool) -> str:
    """Every build gets its prefix or suffix on every tag, `latest` included, so no two builds ever write
    the same tag. With the floating-tags step, `latest` comes from that step alone."""
    lines = ["latest=false" if floating else "latest=auto"]
    if build.prefix:
        lines.append(f"prefix={build.prefix},onlatest=true")
    if build.suffix:
        lines.append(f"suffix={build.suffix},onlatest=true")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ steps


def _checkout(*, tags: bool = False, sparse: bool = False) -> Step:
    """`tags`: the floating-tags step compares the pushed tag with every other version tag. `sparse`: a
    job that reads only the tags needs no files."""
    with_: list[tuple[str, Value]] = [("persist-credentials", False)]
    if tags:
        with_.append(("fetch-tags", True))
    if sparse:
        with_ += [("sparse-checkout", ".github"), ("sparse-checkout-cone-mode", False)]
    return Step("Check out the repository" + (" and its tags" if tags else ""), uses="actions/checkout",
                with_=tuple(with_))


def _logins(spec: Spec, *, guard: bool = True) -> tuple[Step, ...]:
    """One login per registry, before the setup steps, whose images come from Docker Hub (pull limits).
    `guard` skips them when the run does not publish; a job that only runs when publishing needs none."""
    condition = PUSHING if guard else ""
    steps: list[Step] = []
    for reg in spec.registries:
        if reg.kind is RegistryKind.ECR:
            steps.append(Step("Get AWS credentials (OIDC)", uses="aws-actions/configure-aws-credentials",
                              if_=condition, with_=(("role-to-assume", reg.role), ("aws-region", reg.region))))
            steps.append(Step(f"Log in to {reg.host}", uses="aws-actions/amazon-ecr-login", if_=condition))
            continue
        creds: tuple[tuple[str, Value], ...]
        if reg.kind is RegistryKind.GHCR:
            creds = (("registry", "ghcr.io"), ("username", Literal("${{ github.actor }}")),
                     ("password", Literal("${{ secrets.GITHUB_TOKEN }}")))
        elif reg.kind is RegistryKind.GAR:
            creds = (("registry", reg.host), ("username", "_json_key"),
                     ("password", Literal(f"${{{{ secrets.{reg.password_secret} }}}}")))
        else:
            creds = (
                *((("registry", reg.host),) if reg.kind is not RegistryKind.DOCKERHUB else ()),
                ("username", Literal(f"${{{{ secrets.{reg.username_secret} }}}}")),
                ("password", Literal(f"${{{{ secrets.{reg.password_secret} }}}}")),
            )
        steps.append(Step(f"Log in to {reg.host}", uses="docker/login-action", if_=condition, with_=creds))
    if steps:
        why = "Logins come before the setup steps, whose images come from Docker Hub (pull limits)"
        steps[0] = _with_comment(steps[0], why + ("; only when publishing." if guard else "."))
    return tuple(steps)


def _with_comment(step: Step, comment: str) -> Step:
    return Step(**{**step.__dict__, "comment": comment})


def _setup_qemu(platforms: Value, if_: str = "") -> Step:
    return Step(
        "Set up QEMU", uses="docker/setup-qemu-action", if_=if_,
        with_=(("image", load_pins().images["binfmt"]), ("platforms", platforms), ("cache-image", False)),
        comment="A pinned binfmt image: the latest one has broken builds before (setup-qemu-action#201).",
    )


def _setup_buildx() -> Step:
    return Step("Set up Docker Buildx", uses="docker/setup-buildx-action")


def _metadata(f: Fields, *, with_tags: bool, index_annotations: bool = False) -> Step:
    with_: list[tuple[str, Value]] = [("images", f("images"))]
    if with_tags:
        tags = f("tags")
        if f("semver") != "":
            tags = (f"{tags.text}\n" if isinstance(tags, Literal) else str(tags)) + FLOATING_TAGS
        with_ += [("tags", tags), ("flavor", f("flavor"))]
    env: tuple[tuple[str, Value], ...] = (("DOCKER_METADATA_ANNOTATIONS_LEVELS", "index"),) if index_annotations else ()
    return Step("Compute tags and labels" if with_tags else "Compute labels", uses="docker/metadata-action",
                id="meta", with_=tuple(with_), env=env)


def _names_step(spec: Spec, f: Fields) -> tuple[tuple[Step, ...], Value]:
    """The comma-separated image names for `outputs: name=`. A GHCR namespace taken from the repository
    owner is lower-cased by a step first, since registries reject capitals."""
    if not _needs_lowercase(spec):
        return (), f("names")
    step = Step("Lower-case the image names", id="names", env=(("IMAGES", f("names")),),
                run=shell_script("lowercase-names.sh"))
    return (step,), Literal("${{ steps.names.outputs.images }}")


def _cache_source(spec: Spec, build: Variant, pair: str = "") -> str:
    if build.cache is Cache.NONE:
        return ""
    if build.cache is Cache.GHA:
        return f"type=gha,scope={build.key}--{pair}" if pair else f"type=gha,scope={build.key}"
    return f"type=registry,ref={_ref(spec.registries[0], build)}:{cache_tag(build, pair)}"


def cache_tag(build: Variant, pair: str = "") -> str:
    """The registry cache's tag, decorated like the build's own tags: builds that share a repository differ
    in prefix or suffix (validation sees to it), so each build and platform gets a cache of its own."""
    return f"{build.prefix}buildcache{build.suffix}" + (f"-{pair}" if pair else "")


def _cache_inputs(f: Fields, mode: str) -> tuple[tuple[str, Value], ...]:
    """cache-from and cache-to. By default pull requests read the cache but never write it, so a pull
    request cannot seed the cache a release reads (`pull-request-cache` says otherwise)."""
    source = f("cache")
    if source == "":
        return ()
    from_if, to_if = {"read": ("", PUSHING), "write": ("", ""), "off": (PUSHING, PUSHING)}[mode]
    return (("cache-from", _cache_value(source, from_if, "")),
            ("cache-to", _cache_value(source, to_if, ",mode=max,ignore-error=true")))


def _cache_value(source: Value, condition: str, extra: str) -> Value:
    if isinstance(source, Literal):  # a matrix value
        expression = f"format('{{0}}{extra}', matrix.cache)" if extra else "matrix.cache"
        return Literal(f"${{{{ {condition} && {expression} || '' }}}}" if condition else
                       (f"${{{{ {expression} }}}}" if extra else source.text))
    assert isinstance(source, str)
    if not condition:
        return source + extra
    return Literal(f"${{{{ {condition} && '{source}{extra}' || '' }}}}")


def _build_args(f: Fields, group: Group) -> tuple[tuple[str, Value], ...]:
    """Build arguments, and the base image by digest: a line outside the matrix, since matrix values are
    fixed before any step runs."""
    args = f("build-args")
    base = group.builds[0].base
    inputs: list[tuple[str, Value]] = []
    if base and base.build_arg:
        line = f"{base.build_arg}=${{{{ steps.base.outputs.ref }}}}\n"
        args = (f"{args.text}\n" if isinstance(args, Literal) else str(args)) + line
    if args:
        inputs.append(("build-args", args))
    if base and base.build_context:
        inputs.append(("build-contexts", f"{base.build_context}=docker-image://${{{{ steps.base.outputs.ref }}}}\n"))
    return tuple(inputs)


def _base_steps(spec: Spec, group: Group) -> tuple[Step, ...]:
    """The base image by digest, from the artifact its tagging job saved in this run. Pull requests push
    nothing, so there the base's tag for the first pushed branch stands in."""
    if group.base is None:
        return ()
    base = group.base
    branch = next((b for b in spec.triggers.branches if not set(b) & set("*?[]!")), "latest")
    fallback = f"{image_refs(spec, base)[0]}:{base.prefix}{branch.replace('/', '-')}{base.suffix}"
    return (
        Step("Download the base image reference", uses="actions/download-artifact", if_=PUSHING,
             with_=(("name", f"digest-{base.key}"), ("path", Literal(DIGEST_DIR)))),
        Step("Resolve the base image", id="base",
             comment=f"{base.label} by digest, so a concurrent run can never hand this build another base.",
             env=(("FALLBACK", fallback), ("KEY", base.key)),
             run=shell_script("resolve-base.sh")),
    )


# ------------------------------------------------------------------------------------------ jobs


def _push_permissions(spec: Spec, *, checkout: bool = True) -> tuple[Permission, ...]:
    perms = [Permission("contents", "read", "check out the repository")] if checkout else []
    if any(r.kind is RegistryKind.ECR for r in spec.registries):
        perms.append(Permission("id-token", "write", "AWS credentials through OIDC (ECR)"))
    if any(r.kind is RegistryKind.GHCR for r in spec.registries):
        perms.append(Permission("packages", "write", "push to ghcr.io (only when publishing)"))
    return tuple(perms)


def floats(spec: Spec, build: Variant) -> bool:
    """Whether release tags go through the floating-tags step: the workflow runs on version tags and
    the build has semver rules."""
    return bool(spec.triggers.tags) and any(r.kind == "semver" for r in build.tags)


def _unit_values(spec: Spec, build: Variant, decided: BuildDecision) -> dict[str, Value]:
    """Everything about one build that a step may need, by matrix key."""
    refs = image_refs(spec, build)
    floating = floats(spec, build)
    return {
        "variant": build.label,
        "key": build.key,
        "context": build.context,
        "file": build.dockerfile,
        "target": build.target,
        "build-args": "".join(f"{k}={v}\n" for k, v in build.build_args),
        "images": "\n".join(refs) + "\n",
        "names": ",".join(refs),
        "source": refs[0],
        "tags": "".join(f"{_tag_line(r)}\n" for r in build.tags if not (floating and r.kind == "semver")),
        "semver": "".join(f"{_tag_line(r)}\n" for r in build.tags if r.kind == "semver") if floating else "",
        "prerelease": "true" if build.prerelease_floating else "false",
        "sbom": build.sbom,
        "no-oci-artifact": "false" if build.oci_artifacts else "true",
        "sign": "true" if build.sign else "false",
        "attest": "true" if build.attest else "false",
        "flavor": _flavor(build, floating),
        "provenance": False if build.provenance == "false" else f"mode={build.provenance}",
        "expected": "".join(f"{leg.platform.name}: {', '.join(leg.runner)}\n" for leg in decided.legs),
        "platforms": ",".join(p.name for p in build.platforms),
        "qemu": ",".join(sorted({leg.qemu for leg in decided.legs if leg.qemu})),
        "cache": _cache_source(spec, build),
    }


def _build_common(f: Fields, group: Group) -> list[tuple[str, Value]]:
    with_: list[tuple[str, Value]] = [("context", f("context")), ("file", f("file"))]
    if f("target") != "":
        with_.append(("target", f("target")))
    return with_ + list(_build_args(f, group))


# The per-build values each kind of job reads (a matrix carries only these).
SINGLE_KEYS = ("key", "context", "file", "target", "build-args", "images", "tags", "semver", "prerelease", "flavor",
               "platforms", "qemu", "provenance", "sbom", "no-oci-artifact", "cache", "expected", "source")
LEG_KEYS = ("key", "context", "file", "target", "build-args", "images", "names", "provenance", "sbom",
            "no-oci-artifact")
MERGE_KEYS = ("key", "images", "tags", "semver", "prerelease", "flavor", "source", "expected")
SIGN_KEYS = ("key", "images", "sign", "attest")


def _matrix(f: Fields, count: int, used: Sequence[str]) -> tuple[dict[str, Value], ...]:
    if count == 1:
        return ()
    return tuple({"variant": f.per_build[i]["variant"], **f.matrix(i, used)} for i in range(count))


def _single_job(spec: Spec, group: Group, needs: tuple[str, ...], has_dependents: bool) -> Job:
    """qemu and buildx: one job per build, one build-push-action for every platform."""
    f = Fields(group.builds, lambda b: _unit_values(spec, b, group.decided(b)))
    emulated = f("qemu")
    steps: list[Step] = [_checkout(tags=f("semver") != ""), *_logins(spec)]
    if emulated != "":
        steps.append(_setup_qemu(emulated, if_="matrix.qemu != ''" if "qemu" in f.varying else ""))
    steps += [_setup_buildx(), *_base_steps(spec, group), *_floating_step(f), _metadata(f, with_tags=True)]
    build_with = [
        *_build_common(f, group),
        ("platforms", f("platforms")),
        ("push", Literal("${{ env.PUSH }}")),
        ("tags", Literal("${{ steps.meta.outputs.tags }}")),
        ("labels", Literal("${{ steps.meta.outputs.labels }}")),
        ("annotations", Literal("${{ steps.meta.outputs.annotations }}")),
        ("provenance", f("provenance")),
        *_sbom(f),
        *_cache_inputs(f, group.builds[0].pull_request_cache),
    ]
    steps.append(Step("Build and push" if emulated == "" else "Build (QEMU for foreign platforms) and push",
                      uses="docker/build-push-action", id="build", with_=tuple(build_with), env=_oci_env(f)))
    steps += _after_push(spec, group, f, digest_from="step", has_dependents=has_dependents)
    cross = any(group.decided(b).strategy is Strategy.BUILDX and any(info(p).host != "x64" for p in b.platforms)
                for b in group.builds)
    how = "foreign platforms emulated by QEMU" if emulated != "" else \
        "cross-compiled by buildx, no emulation" if cross else "no emulation"
    matrix = _matrix(f, len(group.builds), SINGLE_KEYS)
    return Job(
        id=group.job_id("build"),
        name=f"Build {_job_label(group, matrix)}",
        runs_on=X64_RUNNER,
        timeout_minutes=max(b.timeout_minutes for b in group.builds),
        permissions=_push_permissions(spec),
        steps=tuple(steps),
        needs=needs,
        if_="${{ !failure() && !cancelled() }}" if needs else "",
        matrix=matrix,
        fail_fast=False,
        comment=f"Every platform in one job ({how}): {group.title}.",
    )


def _after_push(spec: Spec, group: Group, f: Fields, *, digest_from: str, has_dependents: bool) -> list[Step]:
    """Once the tags exist: verify them, optionally add per-arch tags, save the digest for dependents.
    After a step that pushed (digest_from "step") they need the publishing guard; the merge job has it."""
    guard = PUSHING if digest_from == "step" else ""
    steps = [_verify_step(f, guard)]
    if group.image.per_arch_tags:
        steps.append(Step(
            "Write per-architecture tags", if_=guard, env=(("SOURCE", f("source")),),
            comment="Each tag again with the architecture appended, pointing at that platform's image.",
            run=shell_script("per-arch-tags.sh"),
        ))
    if has_dependents:
        env: list[tuple[str, Value]] = [("SOURCE", f("source")), ("KEY", f("key"))]
        if digest_from == "step":
            env.insert(0, ("DIGEST", Literal("${{ steps.build.outputs.digest }}")))
        steps.append(Step(
            "Save the digest for the jobs that follow", if_=guard, env=tuple(env),
            run=shell_script("save-built-digest.sh" if digest_from == "step" else "save-merged-digest.sh"),
        ))
        key = _text(f("key"))
        steps.append(Step("Upload the digest for the jobs that follow", uses="actions/upload-artifact", if_=guard,
                          with_=(("name", Literal(f"digest-{key}")), ("path", Literal(f"{DIGEST_DIR}/{key}")),
                                 ("if-no-files-found", "error"), ("retention-days", 1))))
    return steps



def _leg_values(spec: Spec, build: Variant, leg: Leg, unit: dict[str, Value]) -> dict[str, Value]:
    """One leg's values: the build's, with what its platform overrides."""
    override = build.override(leg.platform)
    values = {k: unit[k] for k in LEG_KEYS}
    if override.dockerfile:
        values["file"] = override.dockerfile
    if override.target:
        values["target"] = override.target
    if override.build_args:
        merged = dict(build.build_args) | dict(override.build_args)
        values["build-args"] = "".join(f"{k}={v}\n" for k, v in merged.items())
    values["cache"] = _cache_source(spec, build, leg.platform.pair)
    return values


class _Rows(Fields):
    """Fields over a native group's legs: each leg's values, the varying ones as matrix values."""

    def __init__(self, rows: Sequence[dict[str, Value]]) -> None:
        self.per_build = list(rows)
        self.varying = [k for k in rows[0] if len({_hashable(r[k]) for r in rows}) > 1]
        if rows[0]["cache"] != "" and "cache" not in self.varying:
            self.varying.append("cache")  # one scope per platform, always


def _native_jobs(spec: Spec, group: Group, publishing: str, needs: tuple[str, ...],
                 has_dependents: bool) -> tuple[Job, Job]:
    """native: a matrix leg per build and platform on its own runner, pushed by digest; then a merge job
    per build that writes every tag at once, so a failed leg can never leave a tag on a partial image."""
    f = Fields(group.builds, lambda b: _unit_values(spec, b, group.decided(b)))
    legs = [(i, leg) for i, build in enumerate(group.builds) for leg in group.decided(build).legs]
    emulated = any(leg.qemu for _, leg in legs)
    stand_ins = spec.triggers.pull_requests and any(leg.pr_runner for _, leg in legs)
    rows = [_leg_values(spec, group.builds[i], leg, f.per_build[i]) for i, leg in legs]
    leg_fields = _Rows(rows)
    entries: list[dict[str, Value]] = []
    for (i, leg), row in zip(legs, rows, strict=True):
        entry: dict[str, Value | tuple[str, ...]] = {}
        if len(group.builds) > 1:
            entry["variant"] = group.builds[i].label
        entry |= {"platform": leg.platform.name, "runner": leg.runner_value}
        if stand_ins and leg.pr_runner:
            entry["pr-runner"] = leg.pr_runner[0]
        if emulated:
            entry["qemu"] = leg.qemu
        entry["pair"] = leg.platform.pair
        entry |= {k: row[k] for k in sorted(leg_fields.varying, key=lambda k: k != "cache")}
        entries.append(entry)  # type: ignore[arg-type]

    if len(entries) > MAX_MATRIX:
        line, column = group.image.position
        raise UserError.single(
            spec.path, f'image "{group.image.name}" needs {len(entries)} legs in one matrix; GitHub runs at most '
                       f"{MAX_MATRIX} jobs per matrix", line=line, column=column,
            hint="split its variants over two images, or drop platforms")
    names_steps, names = _names_step(spec, leg_fields)
    steps: list[Step] = [_checkout(), *_logins(spec)]
    if emulated:
        steps.append(_with_comment(_setup_qemu(Literal("${{ matrix.qemu }}"), if_="matrix.qemu != ''"),
                                   "Only legs without a native runner emulate; native legs skip this step."))
    steps += [_setup_buildx(), *_base_steps(spec, group), *names_steps,
              _metadata(leg_fields, with_tags=False)]
    outputs = Literal(f'type=image,"name={_text(names)}",push-by-digest=true,name-canonical=true,'
                      "push=${{ env.PUSH }}")
    common = _build_common(leg_fields, group)
    steps.append(Step(
        "Build and push by digest", uses="docker/build-push-action", id="build", env=_oci_env(leg_fields),
        comment="No tags here: tagging by digest pushes cannot collide, and the merge job tags them all at once.",
        with_=(
            *common,
            ("platforms", Literal("${{ matrix.platform }}")),
            ("labels", Literal("${{ steps.meta.outputs.labels }}")),
            ("outputs", outputs),
            ("provenance", leg_fields("provenance")),
            *_sbom(leg_fields),
            *_cache_inputs(leg_fields, group.builds[0].pull_request_cache),
        ),
    ))
    steps.append(_platform_check_step(names))
    tested = any(b.test for b in group.builds)
    if tested:
        steps += _smoke_test_steps(group, leg_fields, common)
    key_text = _text(leg_fields("key"))
    steps.append(Step(
        "Export the digest", if_=PUSHING,
        env=(("DIGEST", Literal("${{ steps.build.outputs.digest }}")),),
        run=shell_script("export-digest.sh"),
    ))
    steps.append(Step(
        "Upload the digest", uses="actions/upload-artifact", if_=PUSHING,
        with_=(
            ("name", Literal(f"digests-{key_text}--${{{{ matrix.pair }}}}")),
            ("path", Literal(f"{DIGESTS_DIR}/*")),
            ("if-no-files-found", "error"),
            ("retention-days", 1),
        ),
    ))
    runners = sorted({", ".join(leg.runner) for _, leg in legs})
    label = "${{ matrix.variant }}, " if len(group.builds) > 1 else f"{group.builds[0].label} ("
    build = Job(
        id=group.job_id("build"),
        name=f"Build {label}${{{{ matrix.platform }}}}{')' if len(group.builds) == 1 else ''}",
        runs_on=Literal(f"${{{{ {_stand_in_condition(spec)} && matrix.pr-runner || matrix.runner }}}}" if stand_ins
                        else "${{ matrix.runner }}"),
        timeout_minutes=max(b.timeout_minutes for b in group.builds),
        permissions=_push_permissions(spec),
        steps=tuple(steps),
        needs=needs,
        if_="${{ !failure() && !cancelled() }}" if needs else "",
        matrix=tuple(entries),
        fail_fast=False,
        comment=f"One leg per platform on its own runner ({'; '.join(runners)}),"
                f"{' tested,' if tested else ''} pushed by digest only."
                + (f" On {_stand_in_events(spec)} a GitHub-hosted pr-runner stands in for a self-hosted one, which "
                   "would run their code." if stand_ins else ""),
    )
    return build, _merge_job(spec, group, f, publishing, build.id, has_dependents)


def _stand_in_condition(spec: Spec) -> str:
    """When a leg builds on its GitHub-hosted stand-in: every pull request, or with the spec's opt-in
    only those from forks (whose head repository is not this one)."""
    if spec.triggers.self_hosted_pull_requests:
        return f"{PULL_REQUEST} && github.event.pull_request.head.repo.full_name != github.repository"
    return PULL_REQUEST


def _stand_in_events(spec: Spec) -> str:
    return "pull requests from forks" if spec.triggers.self_hosted_pull_requests else "pull requests"



def _platform_check_step(names: Value) -> Step:
    """Each leg checks that what it pushed reports the platform it was built for, before the merge sees it
    (the `aarch64` tag that held an amd64 image)."""
    return Step(
        "Check the image is built for its platform", if_=PUSHING,
        env=(("NAMES", names), ("DIGEST", Literal("${{ steps.build.outputs.digest }}")),
             ("PLATFORM", Literal("${{ matrix.platform }}"))),
        run=shell_script("platform-check.sh"),
    )



def _smoke_test_steps(group: Group, f: _Rows, common: list[tuple[str, Value]]) -> list[Step]:
    """Load the leg's image into the runner's Docker (from the builder's cache: no second build) and run the
    spec's test against it, on pull requests too; tags move only if every leg passed."""
    test = group.builds[0].test
    assert test is not None
    cache = f("cache")
    return [
        Step("Load the image for the smoke test", uses="docker/build-push-action", env=_oci_env(f),
             with_=(*common, ("platforms", Literal("${{ matrix.platform }}")), ("load", True),
                    ("tags", Literal("smoke-test:${{ matrix.pair }}")), ("provenance", False),
                    *((("cache-from", cache),) if cache != "" else ()))),
        Step("Smoke test", comment="The spec's test, against this platform's image, before anything is tagged.",
             env=(("COMMAND", json.dumps(list(test.command))), ("EXPECT_EXIT", str(test.expect_exit)),
                  ("EXPECT_OUTPUT", test.expect_output), ("TIMEOUT", str(test.timeout_seconds)),
                  ("PLATFORM", Literal("${{ matrix.platform }}")), ("PAIR", Literal("${{ matrix.pair }}"))),
             run=shell_script("smoke-test.sh")),
    ]



def _merge_job(spec: Spec, group: Group, f: Fields, publishing: str, build_id: str, has_dependents: bool) -> Job:
    pattern = Literal(f"digests-{_text(f('key'))}--*")
    floating = _floating_step(f)
    steps = [
        *((_checkout(tags=True, sparse=True),) if floating else ()),
        Step("Download the digests", uses="actions/download-artifact", with_=(
            ("path", Literal(DIGESTS_DIR)),
            ("pattern", pattern),
            ("merge-multiple", True),
        )),
        *_logins(spec, guard=False),
        _setup_buildx(),
        *floating,
        _metadata(f, with_tags=True, index_annotations=True),
        Step(
            "Create the multi-platform tags", working_directory=Literal(DIGESTS_DIR),
            comment="Every tag in every registry in one command, from the digests the legs pushed.",
            env=(("SOURCE", f("source")),),
            run=shell_script("create-tags.sh"),
        ),
        *_after_push(spec, group, f, digest_from="registry", has_dependents=has_dependents),
    ]
    return _publishing_job(group, f, MERGE_KEYS, "merge", "Tag", build_id, publishing,
                           _push_permissions(spec, checkout=bool(floating)), steps,
                           "Runs only when every leg succeeded, and only when publishing (never on pull requests).")


def _publishing_job(group: Group, f: Fields, keys: Sequence[str], kind: str, verb: str, needs: str,
                    publishing: str, permissions: Sequence[Permission], steps: Sequence[Step], comment: str) -> Job:
    """A job after the build that runs only when publishing, once per build of the group (a matrix when
    the group holds several)."""
    matrix = _matrix(f, len(group.builds), keys)
    return Job(
        id=group.job_id(kind),
        name=f"{verb} {_job_label(group, matrix)}",
        needs=(needs,),
        if_=publishing,
        runs_on=X64_RUNNER,
        timeout_minutes=MERGE_TIMEOUT,
        permissions=tuple(permissions),
        steps=tuple(steps),
        matrix=matrix,
        fail_fast=False,
        comment=comment,
    )


def _job_label(group: Group, matrix: Sequence[object]) -> str:
    return "${{ matrix.variant }}" if matrix else group.builds[0].label


def _sbom(f: Fields) -> tuple[tuple[str, Value], ...]:
    value = f("sbom")
    return (("sbom", value),) if value is not False else ()


def _oci_env(f: Fields) -> tuple[tuple[str, Value], ...]:
    """Registries that reject attestations stored as OCI artifacts (GitLab) need BuildKit's old layout."""
    value = f("no-oci-artifact")
    return (("BUILDX_NO_DEFAULT_OCI_ARTIFACT", value),) if value != "false" else ()



def _sign_job(spec: Spec, group: Group, publishing: str, tagging: str) -> tuple[Job, ...]:
    """Keyless Cosign signatures and GitHub artifact attestations for the pushed digests, in a job of
    their own: the only one holding `id-token: write` (and `attestations: write`)."""
    if not any(b.sign or b.attest for b in group.builds):
        return ()
    f = Fields(group.builds, lambda b: _unit_values(spec, b, group.decided(b)))
    key = _text(f("key"))
    sign_if = "" if f("sign") == "true" else "matrix.sign == 'true'"
    attest_if = "" if f("attest") == "true" else "matrix.attest == 'true'"
    steps: list[Step] = [
        Step("Download the digest", uses="actions/download-artifact",
             with_=(("name", Literal(f"digest-{key}")), ("path", Literal(DIGEST_DIR)))),
        Step("Read the digest", id="digest", env=(("KEY", f("key")),),
             run=shell_script("read-digest.sh")),
        *_logins(spec, guard=False),
    ]
    if f("sign") != "false":
        steps += [
            Step("Install Cosign", uses="sigstore/cosign-installer", if_=sign_if),
            Step("Sign the image in every registry", if_=sign_if,
                 comment="Keyless: the certificate names this workflow, through GitHub's OIDC token.",
                 env=(("IMAGES", f("images")), ("DIGEST", Literal("${{ steps.digest.outputs.digest }}"))),
                 run=shell_script("sign.sh")),
        ]
    if f("attest") != "false":
        steps.append(Step(
            "Lower-case the image names", id="names", if_=attest_if, env=(("IMAGES", f("images")),),
            run=shell_script("lowercase-images.sh")))
        for i, registry in enumerate(spec.registries):
            steps.append(Step(
                f"Attest the build provenance in {registry.host}", uses="actions/attest", if_=attest_if,
                with_=(("subject-name", Literal(f"${{{{ steps.names.outputs.image{i} }}}}")),
                       ("subject-digest", Literal("${{ steps.digest.outputs.digest }}")),
                       ("push-to-registry", True)),
            ))
    perms = [Permission("id-token", "write", "keyless signing and attestations through GitHub's OIDC token")]
    if any(b.attest for b in group.builds):
        perms.append(Permission("attestations", "write", "store the artifact attestation"))
    if any(r.kind is RegistryKind.GHCR for r in spec.registries):
        perms.append(Permission("packages", "write", "push signatures and attestations to ghcr.io"))
    return (_publishing_job(group, f, SIGN_KEYS, "sign", "Sign", tagging, publishing, perms, steps,
                            "Signs what was pushed and verified; the only job with id-token: write."),)


def _verify_step(f: Fields, guard: str) -> Step:
    """Inspect what was pushed: exactly the spec's platforms, each built for the platform it claims."""
    return Step(
        "Verify the pushed platforms", if_=guard, shell="python3 {0}",
        comment="Catches a tag that lacks a platform or holds an image built for the wrong one.",
        env=(("IMAGES", f("images")), ("PLATFORMS", f("expected"))),
        run=verify_script(),
    )


def _floating_step(f: Fields) -> tuple[Step, ...]:
    """On a version tag: which of the build's semver rules may fire, and whether `latest` moves, judged
    against every version tag of the repository, so floating tags only ever move forward."""
    if f("semver") == "":
        return ()
    return (Step(
        "Decide which floating tags move", id="floating", if_="github.ref_type == 'tag'", shell="python3 {0}",
        comment="latest, MAJOR and MAJOR.MINOR move only to the highest release (a 3.0.x fix never takes latest "
                "from 3.1).",
        env=(("SEMVER_RULES", f("semver")), ("ALLOW_PRERELEASE_FLOATING", f("prerelease"))),
        run=_script("floating_tags.py"),
    ),)


@cache
def shell_script(name: str) -> str:
    """A shell script the workflows run, from templates/scripts/ (a file, so shellcheck reads it as is)."""
    return (resource_dir("templates") / "scripts" / name).read_text("utf-8")


def _script(name: str) -> str:
    return resources.files("generator").joinpath(f"scripts/{name}").read_text("utf-8")


def verify_script() -> str:
    return _script("verify_index.py")
