"""The validated spec as frozen data: defaults applied, aliases normalised, variants resolved."""

from __future__ import annotations

from dataclasses import field
from enum import StrEnum

from .platforms import Platform
from .record import record


class Strategy(StrEnum):
    """How a build is done, once decided (strategy.decide)."""

    QEMU = "qemu"
    NATIVE = "native"
    BUILDX = "buildx"


class Objective(StrEnum):
    """What `auto` minimises: wall-clock time, or runner time summed over a build's jobs (strategy.estimate)."""

    TIME = "time"
    COST = "cost"


class Requested(StrEnum):
    """What the spec asks for: a strategy, or `auto` (decided from the Dockerfile)."""

    AUTO = "auto"
    QEMU = "qemu"
    NATIVE = "native"
    BUILDX = "buildx"


class Cache(StrEnum):
    GHA = "gha"
    REGISTRY = "registry"
    NONE = "none"
    REPOSITORY = "repository"  # a registry cache in a repository of its own, tags from a key template


class RegistryKind(StrEnum):
    GHCR = "ghcr"
    DOCKERHUB = "dockerhub"
    ECR = "ecr"
    GAR = "gar"
    ACR = "acr"
    GENERIC = "generic"


@record
class Registry:
    kind: RegistryKind
    host: str
    # None means "the repository owner", known only at run time (GHCR's default).
    namespace: str | None
    username_secret: str = ""
    password_secret: str = ""
    role: str = ""  # ecr: the IAM role assumed through OIDC
    region: str = ""  # ecr
    # gar through OIDC (workload identity federation): the provider and the service account it acts as
    workload_identity_provider: str = ""
    service_account: str = ""
    # acr through OIDC (a federated credential): the identity, its tenant and the registry's subscription
    client_id: str = ""
    tenant_id: str = ""
    subscription_id: str = ""
    repositories: tuple[tuple[str, str], ...] = ()  # a build's repository -> its name in this registry
    on: tuple[str, ...] = ()  # the kinds of run that publish here ("tag", "default-branch" ...); () every one
    skip_without_secret: bool = False  # publish here only when password_secret is set
    environment: str = ""  # the GitHub environment holding its secrets: only the merge (and signing) push here

    def repository(self, repository: str) -> str:
        """The build's repository as this registry names it."""
        return dict(self.repositories).get(repository, repository)

    @property
    def oidc(self) -> bool:
        """Logs in through GitHub's OIDC token (no stored secret): the jobs that do need id-token: write."""
        return self.kind is RegistryKind.ECR or bool(self.workload_identity_provider or self.client_id)


@record
class TagRule:
    """One docker/metadata-action tag rule, e.g. kind "semver", value "{{major}}.{{minor}}". Kinds beyond
    metadata-action's: "variant" (the build's variant name alone) and "date" (value: a moment.js format).
    `on` ("" for every run): the one kind of run a raw or date rule writes on ("default-branch", "tag",
    "schedule", "branch <name>")."""

    kind: str
    value: str = ""
    on: str = ""


@record
class Triggers:
    branches: tuple[str, ...]
    tags: tuple[str, ...]
    pull_requests: bool
    manual: bool
    schedule: tuple[str, ...] = ()
    # Pull requests from this repository's own branches may use self-hosted runners (forks never do).
    self_hosted_pull_requests: bool = False
    releases: bool = False  # a published GitHub release publishes its tag, as a pushed tag does
    merge_queue: bool = False  # merge_group: built like a pull request, never published


@record
class BaseRef:
    """An input of a build: another build of the spec it starts from, received from the same run (by digest
    on runs that publish, else as an OCI layout)."""

    image: str
    variant: str  # "" for the image's primary variant
    build_arg: str  # "" when passed as a build context
    build_context: str  # "" when passed as a build argument

    @property
    def label(self) -> str:
        return f"{self.image}/{self.variant}" if self.variant else self.image


@record
class PlatformOverride:
    """What one platform of a build does differently ("" / () when it does not)."""

    dockerfile: str = ""
    build_args: tuple[tuple[str, str], ...] = ()
    target: str = ""
    runner: tuple[str, ...] = ()

    @property
    def per_leg(self) -> bool:
        """Whether it changes what is built (not only where): then each platform needs its own leg."""
        return bool(self.dockerfile or self.build_args or self.target)


@record
class SmokeTest:
    command: tuple[str, ...]  # arguments after the image in `docker run`
    expect_exit: int
    expect_output: str  # grep -E pattern, "" for none
    timeout_seconds: int


@record
class Variant:
    """One build: an image, or one variant of it. Everything a build needs, defaults applied."""

    image: str  # the image's name in the spec
    name: str  # "" for an image without variants
    repository: str  # path under each registry's namespace
    prefix: str  # tag prefix ("" for none)
    suffix: str  # tag suffix ("" for none)
    primary: bool  # gets `latest` and the bare tags in its repository
    context: str  # relative to the repository root, POSIX separators, "." for the root
    dockerfile: str  # relative to the repository root
    platforms: tuple[Platform, ...]
    strategy: Requested  # as the spec says; strategy.decide() turns `auto` into a Strategy
    cache: Cache
    pull_request_cache: str  # "read", "write" or "off"
    provenance: str  # "min", "max" or "false"
    timeout_minutes: int
    build_args: tuple[tuple[str, str], ...]
    target: str
    tags: tuple[TagRule, ...]
    prerelease_floating: bool
    sbom: bool
    sign: bool
    attest: bool
    oci_artifacts: bool
    runners: tuple[tuple[Platform, tuple[str, ...]], ...]
    bases: tuple[BaseRef, ...]  # the builds it starts from (`from:`), in the spec's order
    per_platform: tuple[tuple[Platform, PlatformOverride], ...] = ()
    test: SmokeTest | None = None
    target_at: tuple[int, int] = (0, 0)  # where the spec sets `target:`, for problems found in the Dockerfile
    objective: Objective = Objective.TIME  # what `auto` minimises
    cache_repository: str = ""  # Cache.REPOSITORY: host/path of the cache repository
    cache_key: str = ""  # Cache.REPOSITORY: the key template ({image}, {variant}, {platform}, {arch}, {branch})

    @property
    def key(self) -> str:
        """Unique within a spec; names artifacts and cache scopes. Names never hold "--", so joining with
        it keeps keys (and `<key>--<platform>`) from ever running into each other."""
        return f"{self.image}--{self.name}" if self.name else self.image

    @property
    def label(self) -> str:
        return f"{self.image}/{self.name}" if self.name else self.image

    def runner_for(self, platform: Platform) -> tuple[str, ...] | None:
        override = self.override(platform)
        if override.runner:
            return override.runner
        for p, labels in self.runners:
            if p == platform:
                return labels
        return None

    def override(self, platform: Platform) -> PlatformOverride:
        return next((o for p, o in self.per_platform if p == platform), PlatformOverride())

    @property
    def legs_differ(self) -> bool:
        """Whether platforms build from different Dockerfiles, targets or arguments, or are each tested."""
        return self.test is not None or any(o.per_leg for _, o in self.per_platform)


@record
class Image:
    name: str
    variants: tuple[Variant, ...]  # one unnamed variant when the spec lists none
    paths: tuple[str, ...]  # explicit path filters, or empty for the derived ones
    per_arch_tags: bool
    position: tuple[int, int] = (0, 0)  # where the spec names it, for problems found after validation


@record
class Defaults:
    """What a build gets when it sets nothing itself: the spec's `defaults:`, else the schema's. The shared
    engine's defaults, so that a call passes only what its build sets."""

    tags: tuple[TagRule, ...]
    timeout_minutes: int
    provenance: str
    pull_request_cache: str
    prerelease_floating: bool
    sbom: bool
    sign: bool
    attest: bool


@record
class Spec:
    path: str  # as given to the tool, relative to the repository root where possible
    version: int
    registries: tuple[Registry, ...]
    triggers: Triggers
    images: tuple[Image, ...]
    action_pins: dict[str, tuple[str, str]] = field(default_factory=dict)  # action -> (release, commit)
    check_workflow: bool = False
    defaults: Defaults | None = None  # None: the schema's

    def variant(self, image: str, variant: str = "") -> Variant:
        """The named variant, or the image's primary one."""
        found = next(i for i in self.images if i.name == image)
        if variant:
            return next(v for v in found.variants if v.name == variant)
        return next((v for v in found.variants if v.primary), found.variants[0])
