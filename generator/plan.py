"""Spec -> WorkflowPlan: every decision about jobs, steps, permissions, caches and events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

from .actions import load_pins
from .model import Cache, Image, Registry, RegistryKind, Spec, Strategy
from .platforms import HOSTED_RUNNERS, Platform, default_runner, info
from .workflow import Job, Literal, Permission, Step, Trigger, Value, Workflow, WorkflowPlan

ON_PUSH = "github.event_name != 'pull_request'"
IS_PUSH = Literal("${{ github.event_name != 'pull_request' }}")
X64_RUNNER = HOSTED_RUNNERS["x64"]
MERGE_TIMEOUT = 15
DIGESTS_DIR = "${{ runner.temp }}/digests"


@dataclass(frozen=True)
class Leg:
    """One platform of a build: where it runs and whether it is emulated there."""

    platform: Platform
    runner: tuple[str, ...]
    qemu: str  # setup-qemu-action platform name when emulated, else ""

    @property
    def runner_value(self) -> str | tuple[str, ...]:
        return self.runner[0] if len(self.runner) == 1 else self.runner


def plan_workflows(spec: Spec) -> WorkflowPlan:
    return WorkflowPlan(spec.path, tuple(_workflow(spec, image) for image in spec.images))


def workflow_filename(image: Image) -> str:
    return f"multiarch-{image.name}.yml"


def _workflow(spec: Spec, image: Image) -> Workflow:
    trig = spec.triggers
    on = Trigger(
        push_branches=trig.branches,
        push_tags=trig.tags,
        pull_request_branches=trig.branches if trig.pull_requests else None,
        manual=trig.manual,
    )
    legs = plan_legs(image)
    native = image.strategy is Strategy.NATIVE
    jobs = _native_jobs(spec, image, legs) if native else (_single_job(spec, image, legs),)
    return Workflow(
        filename=workflow_filename(image),
        name=f"Image {image.name}",
        on=on,
        # Pull requests share a group per PR, so a new push cancels the superseded run; every
        # other event gets its own group (the run id), so branch and tag pushes are never cancelled.
        concurrency_group="${{ github.workflow }}-${{ github.event.pull_request.number || github.run_id }}",
        jobs=jobs,
        summary=tuple(_summary(image, legs)),
    )


def plan_legs(image: Image) -> tuple[Leg, ...]:
    """Where each platform builds. qemu and buildx put every platform on one x86 runner."""
    legs = []
    for platform in image.platforms:
        if image.strategy is Strategy.NATIVE:
            runner = image.runner_for(platform) or ((default_runner(platform) or X64_RUNNER),)
            host = _runner_host(runner, platform)
        else:
            runner, host = (X64_RUNNER,), "x64"
        emulated = image.strategy is not Strategy.BUILDX and info(platform).host != host
        legs.append(Leg(platform, runner, info(platform).qemu if emulated else ""))
    return tuple(legs)


def _runner_host(labels: tuple[str, ...], platform: Platform) -> str:
    """The CPU family of a runner, from its labels. A user's label we cannot read is taken to be native
    for the platform it was given for (that is why people name a runner per platform)."""
    text = " ".join(labels).lower()
    if any(word in text for word in ("arm64", "aarch64", "-arm")):
        return "arm64"
    if any(word in text for word in ("x64", "amd64", "x86_64", "ubuntu-", "x86")):
        return "x64"
    return info(platform).host or "x64"


def _summary(image: Image, legs: Iterable[Leg]) -> Iterable[str]:
    yield f"{image.name}: strategy {image.strategy.value}"
    for leg in legs:
        if leg.qemu:
            how = f"emulated (QEMU {leg.qemu})"
        elif image.strategy is Strategy.BUILDX and info(leg.platform).host != "x64":
            how = "cross-compiled, no emulation"
        else:
            how = "native"
        yield f"  {leg.platform.name:<14} on {', '.join(leg.runner)}: {how}"


# ------------------------------------------------------------------------------------------ images


def image_refs(spec: Spec, image: Image) -> tuple[str, ...]:
    """Each registry's reference for the image. GHCR's default namespace is the repository owner,
    which may hold capitals: metadata-action lower-cases names, and so do our own scripts."""
    return tuple(_ref(r, image) for r in spec.registries)


def _ref(registry: Registry, image: Image) -> str:
    namespace = registry.namespace or "${{ github.repository_owner }}"
    return f"{registry.host}/{namespace}/{image.repository}"


def _needs_lowercase(spec: Spec) -> bool:
    return any(r.namespace is None for r in spec.registries)


# ------------------------------------------------------------------------------------------ steps


def _checkout() -> Step:
    return Step("Check out the repository", uses="actions/checkout",
                with_=(("persist-credentials", False),))


def _logins(spec: Spec, *, guard: bool = True) -> tuple[Step, ...]:
    """One login per registry. `guard` skips them on pull requests; a job that never runs on pull
    requests needs no guard."""
    steps = []
    for reg in spec.registries:
        if reg.kind is RegistryKind.GHCR:
            creds: tuple[tuple[str, Value], ...] = (
                ("registry", "ghcr.io"),
                ("username", Literal("${{ github.actor }}")),
                ("password", Literal("${{ secrets.GITHUB_TOKEN }}")),
            )
        else:
            creds = (
                *((("registry", reg.host),) if reg.kind is RegistryKind.GENERIC else ()),
                ("username", Literal(f"${{{{ secrets.{reg.username_secret} }}}}")),
                ("password", Literal(f"${{{{ secrets.{reg.password_secret} }}}}")),
            )
        steps.append(Step(f"Log in to {reg.host}", uses="docker/login-action", if_=ON_PUSH if guard else "",
                          with_=creds))
    if steps:
        steps[0] = _with_comment(steps[0], "Logins come before the setup steps, whose images are pulled from "
                                           "Docker Hub (pull limits)" + ("; never on pull requests." if guard else "."))
    return tuple(steps)


def _with_comment(step: Step, comment: str) -> Step:
    return Step(**{**step.__dict__, "comment": comment})


def _setup_qemu(platforms: str | Literal, if_: str = "") -> Step:
    return Step(
        "Set up QEMU", uses="docker/setup-qemu-action", if_=if_,
        with_=(("image", load_pins().images["binfmt"]), ("platforms", platforms), ("cache-image", False)),
        comment="A pinned binfmt image: the latest one has broken builds before (setup-qemu-action#201).",
    )


def _setup_buildx() -> Step:
    return Step("Set up Docker Buildx", uses="docker/setup-buildx-action")


def _metadata(spec: Spec, image: Image, *, with_tags: bool, index_annotations: bool = False) -> Step:
    refs = "\n".join(image_refs(spec, image)) + "\n"
    with_: list[tuple[str, Value]] = [("images", refs)]
    if with_tags:
        with_.append(("tags", "".join(f"{_tag_line(r.kind, r.value)}\n" for r in image.tags)))
        with_.append(("flavor", "latest=auto\n"))
    env: tuple[tuple[str, Value], ...] = ()
    if index_annotations:
        env = (("DOCKER_METADATA_ANNOTATIONS_LEVELS", "index"),)
    return Step("Compute tags and labels" if with_tags else "Compute labels", uses="docker/metadata-action",
                id="meta", with_=tuple(with_), env=env)


def _tag_line(kind: str, value: str) -> str:
    if kind == "ref":
        return f"type=ref,event={value}"
    if kind == "semver":
        return f"type=semver,pattern={value}"
    if kind == "raw":
        return f"type=raw,value={value}"
    if kind == "edge":
        return "type=edge"
    return f"type={kind}"


def _cache(spec: Spec, image: Image, *, per_leg: bool) -> tuple[tuple[str, Value], ...]:
    """Where the build cache comes from and goes to. By default pull requests read it but never write
    it, so a pull request cannot seed the cache a release reads. Per-leg scopes (native) keep the
    platforms from evicting each other's cache."""
    if image.cache is Cache.NONE:
        return ()
    suffix = "-{0}" if per_leg else ""
    if image.cache is Cache.GHA:
        source = f"type=gha,scope={image.name}{suffix}"
    else:
        source = f"type=registry,ref={_ref(spec.registries[0], image)}:buildcache{suffix}"
    target = f"{source},mode=max,ignore-error=true"
    guard = {"read": ("", ON_PUSH), "write": ("", ""), "off": (ON_PUSH, ON_PUSH)}[image.pull_request_cache]
    return (("cache-from", _cache_value(source, guard[0], per_leg)),
            ("cache-to", _cache_value(target, guard[1], per_leg)))


def _cache_value(text: str, condition: str, per_leg: bool) -> Value:
    """A cache option, filled with the leg's platform pair, and empty when the condition is false."""
    if not condition:
        return Literal(text.replace("{0}", "${{ matrix.pair }}")) if per_leg else text
    value = f"format('{text}', matrix.pair)" if per_leg else f"'{text}'"
    return Literal(f"${{{{ {condition} && {value} || '' }}}}")


def _provenance(image: Image) -> tuple[str, Value]:
    return ("provenance", False if image.provenance == "false" else f"mode={image.provenance}")


def _build_common(image: Image) -> list[tuple[str, Value]]:
    with_: list[tuple[str, Value]] = [("context", image.context), ("file", image.dockerfile)]
    if image.target:
        with_.append(("target", image.target))
    if image.build_args:
        with_.append(("build-args", "".join(f"{k}={v}\n" for k, v in image.build_args)))
    return with_


# ------------------------------------------------------------------------------------------ jobs


def _push_permissions(spec: Spec, *, checkout: bool = True) -> tuple[Permission, ...]:
    perms = [Permission("contents", "read", "check out the repository")] if checkout else []
    if any(r.kind is RegistryKind.GHCR for r in spec.registries):
        perms.append(Permission("packages", "write", "push to ghcr.io (never on pull requests)"))
    return tuple(perms)


def _single_job(spec: Spec, image: Image, legs: tuple[Leg, ...]) -> Job:
    """qemu and buildx: one job, one build-push-action for every platform."""
    emulated = ",".join(sorted({leg.qemu for leg in legs if leg.qemu}))
    steps: list[Step] = [_checkout(), *_logins(spec)]
    if emulated:
        steps.append(_setup_qemu(emulated))
    steps += [_setup_buildx(), _metadata(spec, image, with_tags=True)]
    build_with = [
        *_build_common(image),
        ("platforms", ",".join(p.name for p in image.platforms)),
        ("push", IS_PUSH),
        ("tags", Literal("${{ steps.meta.outputs.tags }}")),
        ("labels", Literal("${{ steps.meta.outputs.labels }}")),
        ("annotations", Literal("${{ steps.meta.outputs.annotations }}")),
        _provenance(image),
        *_cache(spec, image, per_leg=False),
    ]
    steps.append(Step("Build and push" if not emulated else "Build (QEMU for foreign platforms) and push",
                      uses="docker/build-push-action", id="build", with_=tuple(build_with)))
    steps.append(_verify_step(spec, image, if_=ON_PUSH))
    strategy = "cross-compiled by buildx, no emulation" if image.strategy is Strategy.BUILDX else \
        "emulated platforms under QEMU"
    return Job(
        id="build",
        name=f"Build {image.name}",
        runs_on=X64_RUNNER,
        timeout_minutes=image.timeout_minutes,
        permissions=_push_permissions(spec),
        steps=tuple(steps),
        comment=f"One job builds {', '.join(p.name for p in image.platforms)} ({strategy}).",
    )


def _native_jobs(spec: Spec, image: Image, legs: tuple[Leg, ...]) -> tuple[Job, ...]:
    """native: a matrix leg per platform on its own runner, pushed by digest; then one merge job that
    writes every tag at once, so a failed leg can never leave a tag on a partial image."""
    emulated = any(leg.qemu for leg in legs)
    matrix = tuple(
        {
            "platform": leg.platform.name,
            "runner": leg.runner_value,
            **({"qemu": leg.qemu} if emulated else {}),
            "pair": leg.platform.pair,
        }
        for leg in legs
    )
    names_step, names = _image_names(spec, image)
    steps: list[Step] = [_checkout(), *_logins(spec)]
    if emulated:
        steps.append(_with_comment(_setup_qemu(Literal("${{ matrix.qemu }}"), if_="matrix.qemu != ''"),
                                   "Only legs without a native runner emulate; native legs skip this step."))
    steps += [_setup_buildx(), *names_step, _metadata(spec, image, with_tags=False)]
    outputs = Literal(f'type=image,"name={names}",push-by-digest=true,name-canonical=true,'
                      f"push=${{{{ {ON_PUSH} }}}}")
    steps.append(Step(
        "Build and push by digest", uses="docker/build-push-action", id="build",
        comment="No tags here: tagging by digest pushes cannot collide, and the merge job tags them all at once.",
        with_=(
            *_build_common(image),
            ("platforms", Literal("${{ matrix.platform }}")),
            ("labels", Literal("${{ steps.meta.outputs.labels }}")),
            ("outputs", outputs),
            _provenance(image),
            *_cache(spec, image, per_leg=True),
        ),
    ))
    steps.append(Step(
        "Export the digest", if_=ON_PUSH,
        env=(("DIGEST", Literal("${{ steps.build.outputs.digest }}")),),
        run='mkdir -p "$RUNNER_TEMP/digests"\ntouch "$RUNNER_TEMP/digests/${DIGEST#sha256:}"\n',
    ))
    steps.append(Step(
        "Upload the digest", uses="actions/upload-artifact", if_=ON_PUSH,
        with_=(
            ("name", Literal(f"digests-{image.name}-${{{{ matrix.pair }}}}")),
            ("path", Literal(f"{DIGESTS_DIR}/*")),
            ("if-no-files-found", "error"),
            ("retention-days", 1),
        ),
    ))
    runners = sorted({", ".join(leg.runner) for leg in legs})
    build = Job(
        id="build",
        name=f"Build {image.name} (${{{{ matrix.platform }}}})",
        runs_on=Literal("${{ matrix.runner }}"),
        timeout_minutes=image.timeout_minutes,
        permissions=_push_permissions(spec),
        steps=tuple(steps),
        matrix=matrix,
        fail_fast=False,
        comment=f"One leg per platform on its own runner ({'; '.join(runners)}), pushed by digest only.",
    )
    return build, _merge_job(spec, image)


def _image_names(spec: Spec, image: Image) -> tuple[tuple[Step, ...], str]:
    """The comma-separated image names for `outputs: name=`. A GHCR namespace taken from the repository
    owner is lower-cased by a step first, since registries reject capitals."""
    refs = image_refs(spec, image)
    if not _needs_lowercase(spec):
        return (), ",".join(refs)
    step = Step(
        "Lower-case the image names", id="names",
        env=(("IMAGES", ",".join(refs)),),
        run='echo "images=${IMAGES,,}" >> "$GITHUB_OUTPUT"\n',
    )
    return (step,), "${{ steps.names.outputs.images }}"


_CREATE_SCRIPT = """\
mapfile -t tags < <(jq -r '.tags[]' <<< "$DOCKER_METADATA_OUTPUT_JSON")
mapfile -t annotations < <(jq -r '.annotations[]' <<< "$DOCKER_METADATA_OUTPUT_JSON")
if [ "${#tags[@]}" -eq 0 ]; then
  echo "::error::No tag rule matched this event, so there is nothing to tag."
  exit 1
fi
args=()
for tag in "${tags[@]}"; do args+=(--tag "$tag"); done
for annotation in "${annotations[@]}"; do args+=(--annotation "$annotation"); done
sources=()
for digest in *; do sources+=("${SOURCE,,}@sha256:$digest"); done
docker buildx imagetools create "${args[@]}" "${sources[@]}"
"""


def _merge_job(spec: Spec, image: Image) -> Job:
    first = image_refs(spec, image)[0]
    steps = [
        Step("Download the digests", uses="actions/download-artifact", with_=(
            ("path", Literal(DIGESTS_DIR)),
            ("pattern", f"digests-{image.name}-*"),
            ("merge-multiple", True),
        )),
        *_logins(spec, guard=False),
        _setup_buildx(),
        _metadata(spec, image, with_tags=True, index_annotations=True),
        Step(
            "Create the multi-platform tags", working_directory=Literal(DIGESTS_DIR),
            comment="Every tag in every registry in one command, from the digests the legs pushed.",
            env=(("SOURCE", first),),
            run=_CREATE_SCRIPT,
        ),
        _verify_step(spec, image),
    ]
    return Job(
        id="merge",
        name=f"Tag {image.name}",
        needs=("build",),
        if_=ON_PUSH,
        runs_on=X64_RUNNER,
        timeout_minutes=MERGE_TIMEOUT,
        permissions=_push_permissions(spec, checkout=False),
        steps=tuple(steps),
        comment="Runs only when every leg succeeded, and never on pull requests.",
    )


def _verify_step(spec: Spec, image: Image, *, if_: str = "") -> Step:
    """Inspect what was pushed: exactly the spec's platforms, each built for the platform it claims."""
    platforms = "".join(f"{leg.platform.name}: {', '.join(leg.runner)}\n" for leg in plan_legs(image))
    return Step(
        "Verify the pushed platforms", if_=if_, shell="python3 {0}",
        comment="Catches a tag that lacks a platform or holds an image built for the wrong one.",
        env=(("IMAGES", "\n".join(image_refs(spec, image)) + "\n"), ("PLATFORMS", platforms)),
        run=verify_script(),
    )


def verify_script() -> str:
    return resources.files("generator").joinpath("scripts/verify_index.py").read_text("utf-8")
