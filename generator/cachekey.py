"""The key template of a registry cache in a repository of its own (`cache: {repository, key}`): its
placeholders and how a build and platform fill them in. Shared by the rules (which keys would collide) and
the plan (each leg's cache reference), so both read a template the same way."""

from __future__ import annotations

import re

from .platforms import Platform

PLACEHOLDERS = ("image", "variant", "platform", "arch", "branch")
PLACEHOLDER = re.compile(r"\{([a-z]+)\}")
BRANCH = "{branch}"  # left in the key: the legs fill in the run's branch (and the default branch's) at run time
BRANCH_MAX = 40  # templates/scripts/cache-keys.sh cuts a branch to this many characters
TAG_MAX = 128  # the OCI distribution spec's limit on a tag's length
TAG = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{TAG_MAX - 1}}}")  # the OCI distribution spec's tag
_NO_VARIANT = re.compile(r"\{variant\}[-_.]?|[-_.]?\{variant\}$")


def placeholders(template: str) -> list[str]:
    return PLACEHOLDER.findall(template)


def render(template: str, image: str, variant: str, platform: Platform | None) -> str:
    """The key of a build (`variant` "" for an image without variants: the placeholder goes with one
    separator beside it) and a leg's platform (None: a leg that builds every platform, `all`). `{branch}`
    stays as it is."""
    if not variant:
        template = _NO_VARIANT.sub("", template)
    values = {"image": image, "variant": variant, "platform": platform.pair if platform else "all",
              "arch": platform.arch if platform else "all", "branch": BRANCH}
    return PLACEHOLDER.sub(lambda m: values[m[1]], template)
