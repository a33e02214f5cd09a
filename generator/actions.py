"""The pinned action table: which commit of each action the generated workflows use.

The table ships with the tool (data/actions.toml). Two things may replace a row: a pin in the spec's
`actions:` (the user's word, in either direction), and a newer release that Dependabot or Renovate
wrote into a workflow we generated earlier (kept, so regenerating never reverts a bot's bump).

The spec, the Dockerfiles and the workflows may all arrive in a pull request, and user text (a build
argument, a test command, a path) is written into the workflows as data. So a bump is taken only from
where a bot writes it and nothing else can: the parsed `uses:` key of a step we generate for that same
action, in a job the current plan has, in a file the current plan renders for this spec. Never from text
matched anywhere in a file, comments, orphans or another spec's files. Every pin that differs from the
table is named on each run (`notes`), so a reviewer sees which commit runs with credentials.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any

from .contract import WORKFLOWS_DIR
from .record import record
from .resources import PACKAGE

if TYPE_CHECKING:
    from yaml.nodes import Node, ScalarNode

    from .workflow import StepOutline, WorkflowPlan

RUNTIMES_ALLOWED = frozenset({"node24", "composite", "docker"})
_ACTION = r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+"
# Bounded: a release of thousands of digits must not reach int() (which refuses over 4300 digits).
_RELEASE = r"v[0-9]{1,9}(?:\.[0-9]{1,9}){0,2}"
# The form bots write and read: `uses: owner/repo@<40 hex> # v1.2.3`. Only a cheap test of whether a
# file is worth parsing: a match proves nothing (user text can hold it), the parse decides.
_CANDIDATE = re.compile(rf"uses:[ ]+({_ACTION})@[0-9a-f]{{40}}[ ]+#[ ]+({_RELEASE})\b")
# The whole line a bot leaves: the `uses` key (a step's first key or not), its value, the release comment.
_USES_LINE = re.compile(rf"[ ]*(?:-[ ]+)?(?P<key>uses):[ ]+(?P<ref>\S+)[ ]+#[ ]+(?P<release>{_RELEASE})[ ]*\r?")
_REF = re.compile(rf"(?P<action>{_ACTION})@(?P<commit>[0-9a-f]{{40}})")

# The longest workflow text read for pins: a generated workflow of several hundred jobs is under a MiB.
MAX_PARSED = 1 << 20
# File (relative to the repository root) -> job id -> step id -> the action that step of ours uses.
StepActions = Mapping[str, Mapping[str, Mapping[str, str]]]


@record
class Pin:
    action: str  # owner/repo
    release: str  # vX.Y.Z
    commit: str  # 40 hex digits
    runtime: str  # "" when not checked by us (a bot's bump, a user's pin)
    origin: str = ""  # where a pin that is not the table's comes from: `file:line`, or the spec

    @property
    def ref(self) -> str:
        return f"{self.action}@{self.commit}"


@record
class PinTable:
    actions: dict[str, Pin]
    images: dict[str, str]

    def pin(self, action: str) -> Pin:
        return self.actions[action]


@cache
def load_pins() -> PinTable:
    raw = tomllib.loads((PACKAGE / "data/actions.toml").read_text("utf-8"))
    actions = {
        name: Pin(name, row["release"], row["commit"], row["runtime"]) for name, row in raw["actions"].items()
    }
    return PinTable(actions, dict(raw["images"]))


def release_key(release: str) -> tuple[int, ...]:
    parts = [int(p) for p in release.lstrip("v").split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def step_actions(plan: WorkflowPlan) -> dict[str, dict[str, dict[str, str]]]:
    """Where the plan puts a step that uses an action, by step id: the only places a bot's bump is read
    from (the same step, using the same action: never another step of the job, nor one added to it)."""
    workflows: list[tuple[str, Iterable[tuple[str, Iterable[StepOutline]]]]] = [
        (wf.filename, [(job.id, job.steps) for job in wf.jobs]) for wf in plan.workflows]
    if plan.check is not None:
        # The drift guard's one job, named in check.yml.j2.
        workflows.append((plan.check.filename, [("check", plan.check.steps)]))
    return {f"{WORKFLOWS_DIR}/{filename}": {job: {step.id: step.uses for step in steps if step.uses and step.id}
                                            for job, steps in jobs}
            for filename, jobs in workflows}


def bot_bumps(table: PinTable, files: Mapping[str, str], expected: StepActions) -> dict[str, Pin]:
    """The newest release per action, newer than the table's, that a bot wrote into our steps.

    `files` is this spec's current output as it is now (path -> text), `expected` the plan's steps.
    A file that does not parse gives nothing: the run rewrites it whole anyway."""
    found: dict[str, Pin] = {}
    for rel in sorted(files):
        text, jobs = files[rel], expected.get(rel)
        if not jobs or not _worth_parsing(text, table):
            continue
        for pin in _pins_in_steps(rel, text, jobs):
            current = found.get(pin.action, table.actions.get(pin.action))
            if current is not None and release_key(pin.release) > release_key(current.release):
                found[pin.action] = pin
    return found


def _worth_parsing(text: str, table: PinTable) -> bool:
    """Whether the text holds anything that could be a newer pin; most runs find none and skip the parse."""
    for match in _CANDIDATE.finditer(text):
        pin = table.actions.get(match.group(1))
        if pin is not None and release_key(match.group(2)) > release_key(pin.release):
            return True
    return False


def _pins_in_steps(rel: str, text: str, jobs: Mapping[str, Mapping[str, str]]) -> list[Pin]:
    """The pins in the `uses:` keys of the steps of our jobs. A pull request may have padded the file:
    it is parsed by libyaml, and only up to MAX_PARSED characters (ours are far smaller), so a padded
    file costs at most a fraction of a second and keeps no pin."""
    import yaml
    from yaml.nodes import ScalarNode, SequenceNode

    if len(text) > MAX_PARSED:
        return []
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, RecursionError):
        return []
    pins: list[Pin] = []
    jobs_node = _mapping(root).get("jobs")
    for job_id, job_node in _mapping(jobs_node).items():
        actions = jobs.get(job_id)
        steps = _mapping(job_node).get("steps")
        if not actions or not isinstance(steps, SequenceNode):
            continue
        for step in steps.value:
            entries = _mapping(step, keys=True)
            uses, step_id = entries.get("uses"), entries.get("id")
            if not (isinstance(uses, tuple) and isinstance(uses[1], ScalarNode) and isinstance(step_id, tuple)
                    and isinstance(step_id[1], ScalarNode)):
                continue
            pin = _pin_on_line(rel, text, uses[0], uses[1])
            if pin is not None and actions.get(step_id[1].value) == pin.action:
                pins.append(pin)
    return pins


def _mapping(node: Node | None, *, keys: bool = False) -> dict[str, Any]:
    """A mapping node's entries by key (value nodes, or (key, value) pairs). Empty for anything else,
    and for a mapping that repeats a key: GitHub refuses such a file, so nothing in it is trusted."""
    from yaml.nodes import MappingNode, ScalarNode

    if not isinstance(node, MappingNode):
        return {}
    entries: dict[str, Any] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            continue
        if key.value in entries:
            return {}
        entries[key.value] = (key, value) if keys else value
    return entries


def _pin_on_line(rel: str, text: str, key: ScalarNode, value: ScalarNode) -> Pin | None:
    """The pin a parsed `uses` key holds, when its line is exactly what a bot writes: a plain
    `owner/repo@<40 hex>` value followed by its `# vX.Y.Z` comment on the same line."""
    if value.style not in (None, ""):  # plain (libyaml says "", the Python parser None), never quoted
        return None
    ref = _REF.fullmatch(value.value)
    index = key.start_mark.index
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    line = _USES_LINE.fullmatch(text, start, len(text) if end < 0 else end)
    if ref is None or line is None or line.start("key") != index or line.group("ref") != value.value:
        return None
    return Pin(ref.group("action"), line.group("release"), ref.group("commit"), "",
               f"{rel}:{key.start_mark.line + 1}")


def effective_pins(table: PinTable, bumps: Mapping[str, Pin], spec_pins: Mapping[str, tuple[str, str]],
                   spec_path: str = "") -> PinTable:
    """The table, with the bots' newer releases (from `bot_bumps`) kept, and the spec's pins on top."""
    actions = dict(table.actions)
    for action, pin in bumps.items():
        if action in actions and release_key(pin.release) > release_key(actions[action].release):
            actions[action] = pin
    origin = f"{spec_path} (actions:)" if spec_path else "the spec's actions:"
    for action, (release, commit) in spec_pins.items():
        base = actions.get(action)
        actions[action] = replace(base, release=release, commit=commit, runtime="", origin=origin) if base else \
            Pin(action, release, commit, "", origin)
    return PinTable(actions, table.images)


def notes(table: PinTable, pins: PinTable, expected: StepActions) -> list[str]:
    """One line per action the workflows use at another commit than the table's, saying where it came
    from: a bot's bump or the spec, either way something a reviewer should see."""
    used = {action for jobs in expected.values() for steps in jobs.values() for action in steps.values()}
    lines = []
    for action in sorted(used):
        pin, ours = pins.actions.get(action), table.actions.get(action)
        if pin is None or ours is None or (pin.commit, pin.release) == (ours.commit, ours.release):
            continue
        lines.append(f"note: keeping {action} {pin.release} ({pin.commit}) from {pin.origin}, "
                     f"the table has {ours.release} ({ours.commit})")
    return lines
