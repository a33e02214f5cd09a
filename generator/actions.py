"""The pinned action table: which commit of each action the generated workflows use."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

RUNTIMES_ALLOWED = frozenset({"node24", "composite", "docker"})


@dataclass(frozen=True)
class Pin:
    action: str  # owner/repo
    release: str  # vX.Y.Z
    commit: str  # 40 hex digits
    runtime: str

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
