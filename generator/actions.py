"""The pinned action table: which commit of each action the generated workflows use.

The table ships with the tool (data/actions.toml). Two things may replace a row: a pin in the spec's
`actions:` (the user's word, in either direction), and a newer release that Dependabot or Renovate
wrote into a workflow we generated earlier (kept, so regenerating never reverts a bot's bump).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

RUNTIMES_ALLOWED = frozenset({"node24", "composite", "docker"})
# The form bots write and read: `uses: owner/repo@<40 hex> # v1.2.3`.
USES = re.compile(r"uses:\s+([\w.-]+/[\w.-]+)@([0-9a-f]{40})\s+#\s+(v\d+(?:\.\d+){0,2})\b")


@dataclass(frozen=True)
class Pin:
    action: str  # owner/repo
    release: str  # vX.Y.Z
    commit: str  # 40 hex digits
    runtime: str  # "" when not checked by us (a bot's bump, a user's pin)

    @property
    def ref(self) -> str:
        return f"{self.action}@{self.commit}"


@dataclass(frozen=True)
class PinTable:
    actions: dict[str, Pin]
    images: dict[str, str]

    def pin(self, action: str) -> Pin:
        return self.actions[action]


@cache
def load_pins() -> PinTable:
    raw = tomllib.loads(resources.files("generator").joinpath("data/actions.toml").read_text("utf-8"))
    actions = {
        name: Pin(name, row["release"], row["commit"], row["runtime"]) for name, row in raw["actions"].items()
    }
    return PinTable(actions, dict(raw["images"]))


def release_key(release: str) -> tuple[int, ...]:
    parts = [int(p) for p in release.lstrip("v").split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def pins_in(text: str) -> dict[str, Pin]:
    """The pins a workflow file holds, the highest release per action."""
    found: dict[str, Pin] = {}
    for action, commit, release in USES.findall(text):
        if action not in found or release_key(release) > release_key(found[action].release):
            found[action] = Pin(action, release, commit, "")
    return found


def effective_pins(table: PinTable, existing: Iterable[str], spec_pins: Mapping[str, tuple[str, str]]) -> PinTable:
    """The table, with newer releases found in our earlier output kept, and the spec's pins on top."""
    actions = dict(table.actions)
    for text in existing:
        for action, pin in pins_in(text).items():
            if action in actions and release_key(pin.release) > release_key(actions[action].release):
                actions[action] = pin
    for action, (release, commit) in spec_pins.items():
        base = actions.get(action)
        actions[action] = replace(base, release=release, commit=commit, runtime="") if base else \
            Pin(action, release, commit, "")
    return PinTable(actions, table.images)
