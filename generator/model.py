"""The validated spec as frozen data: defaults applied, aliases normalised."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .platforms import Platform


class Strategy(StrEnum):
    QEMU = "qemu"
    NATIVE = "native"
    BUILDX = "buildx"


class Cache(StrEnum):
    GHA = "gha"
    REGISTRY = "registry"
    NONE = "none"


class RegistryKind(StrEnum):
    GHCR = "ghcr"
    DOCKERHUB = "dockerhub"
    GENERIC = "generic"


@dataclass(frozen=True)
class Registry:
    kind: RegistryKind
    host: str
    # None means "the repository owner", known only at run time (GHCR's default).
    namespace: str | None
    username_secret: str = ""
    password_secret: str = ""

    @property
    def key(self) -> str:
        """A short identifier, unique within a spec, usable in step ids."""
        return self.kind.value if self.kind is not RegistryKind.GENERIC else _slug(self.host)


@dataclass(frozen=True)
class TagRule:
    """One docker/metadata-action tag rule, e.g. kind "semver", value "{{major}}.{{minor}}"."""

    kind: str
    value: str = ""


@dataclass(frozen=True)
class Triggers:
    branches: tuple[str, ...]
    tags: tuple[str, ...]
    pull_requests: bool
    manual: bool


@dataclass(frozen=True)
class Image:
    name: str  # the key in the spec's images mapping
    repository: str  # path under each registry's namespace
    context: str  # relative to the repository root, POSIX separators, "." for the root
    dockerfile: str  # relative to the repository root
    platforms: tuple[Platform, ...]
    strategy: Strategy
    cache: Cache
    pull_request_cache: str  # "read", "write" or "off"
    provenance: str  # "min", "max" or "false"
    timeout_minutes: int
    build_args: tuple[tuple[str, str], ...]
    target: str
    tags: tuple[TagRule, ...]
    runners: tuple[tuple[Platform, tuple[str, ...]], ...]

    def runner_for(self, platform: Platform) -> tuple[str, ...] | None:
        for p, labels in self.runners:
            if p == platform:
                return labels
        return None


@dataclass(frozen=True)
class Spec:
    path: str  # as given to the tool, relative to the repository root where possible
    version: int
    registries: tuple[Registry, ...]
    triggers: Triggers
    images: tuple[Image, ...]


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
