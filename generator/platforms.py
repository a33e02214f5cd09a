"""Platform names, their aliases, which GitHub-hosted runner builds each natively."""

from __future__ import annotations

import re

from .record import record


@record(order=True)
class Platform:
    """An OCI platform such as linux/arm/v7."""

    os: str
    architecture: str
    variant: str = ""

    @property
    def name(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    @property
    def pair(self) -> str:
        """The name with slashes as dashes, safe in artifact names and cache scopes."""
        return self.name.replace("/", "-")

    @property
    def arch(self) -> str:
        """`arm64`, `armv7`, `amd64v2`: the architecture and its variant (arm64's v8 is implied), as per-arch
        tags and cache keys name it."""
        return self.architecture + ("" if self.variant in ("", "v8") else self.variant)

    def __str__(self) -> str:
        return self.name


# Every platform the tool knows, with the CPU family of the host it runs on natively and the
# QEMU binfmt name used to emulate it elsewhere.
@record
class PlatformInfo:
    platform: Platform
    host: str  # "x64" or "arm64": the runner architecture that executes it without emulation
    qemu: str  # the name setup-qemu-action takes in `platforms:`


def _p(name: str) -> Platform:
    return Platform(*name.split("/"))


KNOWN: dict[str, PlatformInfo] = {
    info.platform.name: info
    for info in (
        PlatformInfo(_p("linux/amd64"), "x64", "amd64"),
        PlatformInfo(_p("linux/amd64/v2"), "x64", "amd64"),
        PlatformInfo(_p("linux/amd64/v3"), "x64", "amd64"),
        PlatformInfo(_p("linux/386"), "x64", "386"),
        PlatformInfo(_p("linux/arm64"), "arm64", "arm64"),
        PlatformInfo(_p("linux/arm/v7"), "", "arm"),
        PlatformInfo(_p("linux/arm/v6"), "", "arm"),
        PlatformInfo(_p("linux/ppc64le"), "", "ppc64le"),
        PlatformInfo(_p("linux/s390x"), "", "s390x"),
        PlatformInfo(_p("linux/riscv64"), "", "riscv64"),
        PlatformInfo(_p("linux/mips64le"), "", "mips64le"),
        PlatformInfo(_p("linux/loong64"), "", "loong64"),
    )
}

ALIASES: dict[str, str] = {
    "amd64": "linux/amd64",
    "x86_64": "linux/amd64",
    "x86-64": "linux/amd64",
    "x64": "linux/amd64",
    "arm64": "linux/arm64",
    "aarch64": "linux/arm64",
    "linux/arm64/v8": "linux/arm64",
    "linux/aarch64": "linux/arm64",
    "arm64v8": "linux/arm64",
    "armv7": "linux/arm/v7",
    "armv7l": "linux/arm/v7",
    "armhf": "linux/arm/v7",
    "arm/v7": "linux/arm/v7",
    "linux/arm": "linux/arm/v7",
    "armv6": "linux/arm/v6",
    "armel": "linux/arm/v6",
    "arm/v6": "linux/arm/v6",
    "386": "linux/386",
    "i386": "linux/386",
    "i686": "linux/386",
    "x86": "linux/386",
    "ppc64le": "linux/ppc64le",
    "s390x": "linux/s390x",
    "riscv64": "linux/riscv64",
    "mips64le": "linux/mips64le",
    "loong64": "linux/loong64",
}

# Every spelling the spec accepts, canonical names first: the schema's enum, and did-you-mean's pool.
ACCEPTED: tuple[str, ...] = (*KNOWN, *ALIASES)

# GitHub-hosted runner labels (reference §5). arm/v7 and friends have no native hosted runner.
HOSTED_RUNNERS = {"x64": "ubuntu-24.04", "arm64": "ubuntu-24.04-arm"}
# GitHub's standard hosted Linux labels. Any other label may name a self-hosted runner: larger hosted
# runners too, since a label cannot tell them apart, so they count as self-hosted.
_HOSTED_LABEL = re.compile(r"ubuntu-(latest|[0-9]{2}\.[0-9]{2})(-arm)?")


def parse_platform(text: str) -> Platform | None:
    """The canonical platform for a name or alias, or None when it is not one we know."""
    key = text.strip().lower()
    key = ALIASES.get(key, key)
    info = KNOWN.get(key)
    return info.platform if info else None


def info(platform: Platform) -> PlatformInfo:
    return KNOWN[platform.name]


def default_runner(platform: Platform) -> str | None:
    """The hosted runner that builds the platform without emulation, if GitHub has one."""
    host = info(platform).host
    return HOSTED_RUNNERS.get(host) if host else None


def needs_emulation(platform: Platform, runner_host: str) -> bool:
    """Whether building the platform on a runner of that CPU family needs QEMU."""
    return info(platform).host != runner_host


def runner_host(labels: tuple[str, ...], platform: Platform) -> str:
    """The CPU family of a runner, from its labels. A user's label we cannot read is taken to be native
    for the platform it was given for (that is why people name a runner per platform)."""
    text = " ".join(labels).lower()
    if any(word in text for word in ("arm64", "aarch64", "-arm")):
        return "arm64"
    if any(word in text for word in ("x64", "amd64", "x86_64", "ubuntu-", "x86")):
        return "x64"
    return info(platform).host or "x64"


def hosted(labels: tuple[str, ...]) -> bool:
    """Whether the labels name a standard GitHub-hosted runner: a fresh virtual machine per job, so a
    pull request's code cannot outlive its job there."""
    return len(labels) == 1 and _HOSTED_LABEL.fullmatch(labels[0]) is not None
