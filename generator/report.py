"""What `gen-workflows plan` shows: each build's strategy, runners, reason and estimates, as a table for
people, JSON for tools, or a Mermaid flowchart of the jobs GitHub renders in Markdown.

Every format goes to a terminal, and some of what it shows comes from files a pull request can change
(the spec, the Dockerfiles): control characters are shown escaped in all three, as problem messages show
them, so no escape sequence reaches the terminal raw; the JSON stays valid JSON with the same values.
"""

from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

from .errors import printable
from .model import Objective, Requested, Spec, Strategy, Variant
from .platforms import Platform, info
from .strategy import Decisions, Heaviness, estimate, native_runner
from .workflow import WorkflowPlan

STRATEGIES = (Strategy.QEMU, Strategy.NATIVE, Strategy.BUILDX)
OBJECTIVE_TEXT = {"time": "wall-clock time", "cost": "runner time summed over jobs"}


def plan_rows(spec: Spec, decisions: Decisions, plan: WorkflowPlan) -> list[dict[str, Any]]:
    """One row per build: what the decide stage said of it, and which workflow holds it."""
    workflow_of = {key: wf.filename for wf in plan.workflows for key in wf.builds}
    # The build workflow's note when its path filter is dropped (workflows._paths): shown on the builds of
    # the images whose `paths:` it drops.
    unfiltered = {key: wf.summary[0] for wf in plan.workflows if wf.summary and not wf.on.paths for key in wf.builds}
    rows = []
    for image in spec.images:
        for build in image.variants:
            decided = decisions[build.key]
            legs = decided.legs
            rows.append({
                "image": build.image,
                "variant": build.name or None,
                "workflow": workflow_of.get(build.key),
                "platforms": [p.name for p in build.platforms],
                "strategy": decided.strategy.value,
                "reason": decided.reason,
                "runners": {leg.platform.name: "+".join(leg.runner) for leg in legs},
                "emulated": [leg.platform.name for leg in legs if leg.qemu],
                "how": {leg.platform.name: _how(decided.strategy, leg.platform, bool(leg.qemu)) for leg in legs},
                "work": decided.heaviness or None,
                "objective": build.objective.value,
                "auto": build.strategy is Requested.AUTO,
                "estimate": _estimates(build, decided.heaviness, Objective.TIME),
                "cost": _estimates(build, decided.heaviness, Objective.COST),
                "from": ", ".join(b.label for b in build.bases) or None,
                "paths_note": unfiltered.get(build.key) if image.paths else None,
            })
    return rows


def _how(strategy: Strategy, platform: Platform, emulated: bool) -> str:
    if emulated:
        return "QEMU"
    if strategy is Strategy.BUILDX and info(platform).host != "x64":
        return "cross-compiled"
    return "native"


def _estimates(build: Variant, heaviness: str, objective: Objective) -> dict[str, float | None] | None:
    """Relative wall-clock time (`time`) or runner time (`cost`) per strategy (1.0 = one native build of
    one platform), or None when the Dockerfile was not read."""
    if not heaviness:
        return None
    work = Heaviness(heaviness)
    result: dict[str, float | None] = {}
    for strategy in STRATEGIES:
        value = estimate(strategy, work, build.platforms, partial(native_runner, build), objective)
        result[strategy.value] = None if math.isinf(value) else round(value, 2)
    return result


def as_json(rows: list[dict[str, Any]]) -> str:
    # json.dumps escapes C0 controls only; DEL, C1 controls (0x9b starts a sequence on some terminals),
    # line separators and format characters would pass. Outside strings the text is printable ASCII,
    # line breaks and blanks, so escaping every other unprintable character keeps it JSON, same values.
    text = json.dumps(rows, indent=2, ensure_ascii=False)
    return "".join(c if c.isprintable() or c in "\n " else _json_escape(c) for c in text) + "\n"


def _json_escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # outside the BMP: JSON spells it as a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


WORK_TEXT = {"none": "no RUN for the target platforms",
             "light": "light work for the target platforms (installs, copies)",
             "heavy": "heavy work for the target platforms (compiles)"}


def as_text(rows: list[dict[str, Any]]) -> str:
    lines = []
    for row in rows:
        label = f"{row['image']}/{row['variant']}" if row["variant"] else row["image"]
        base = f" (from {row['from']})" if row["from"] else ""
        lines.append(f"{label}{base} -> {row['strategy']}  [{row['workflow']}]")
        width = max(len(p) for p in row["platforms"])
        for platform, runner in row["runners"].items():
            lines.append(f"  {platform:<{width}}  {runner:<18} {row['how'][platform]}")
        lines.append(f"  why: {row['reason']}")
        if row["estimate"]:
            work = WORK_TEXT.get(row["work"], row["work"])
            chosen = (f"auto minimises {OBJECTIVE_TEXT[row['objective']]} (objective: {row['objective']})"
                      if row["auto"] else "the spec sets the strategy")
            lines.append(f"  {work}; 1.0 = one native build; {chosen}")
            for key, what in (("estimate", "time"), ("cost", "runner time")):
                shown = ", ".join(f"{k} {'n/a' if v is None else f'{v:.1f}x'}" for k, v in row[key].items())
                lines.append(f"  estimated {what}: {shown}")
        if row["paths_note"]:
            lines.append(f"  note: {row['paths_note']}")
        lines.append("")
    return "\n".join(printable(line) for line in lines)


def as_mermaid(plan: WorkflowPlan) -> str:
    """The job graph: a subgraph per workflow, a node per job, an edge per `needs`."""
    lines = ["flowchart LR"]
    for wf in plan.workflows:
        stem = _node(wf.filename.removesuffix(".yml"))
        lines.append(f'  subgraph {stem}["{_label(wf.filename)}"]')
        for job in wf.jobs:
            label = _label(job.name.replace("${{ matrix.", "{").replace(" }}", "}"))
            if job.kind == "call":
                legs = len(json.loads(str(job.values["legs"])))
                label += f"<br/>calls the engine: {legs} leg{'s' if legs > 1 else ''}"
            ids = [step.id for step in job.steps]
            if "verify" in ids and "create-tags" in ids:
                label += "<br/>verifies the pushed platforms, then tags"
            lines.append(f'    {stem}__{_node(job.id)}["{label}"]')
        for job in wf.jobs:
            for need in job.needs:
                lines.append(f"    {stem}__{_node(need)} --> {stem}__{_node(job.id)}")
        lines.append("  end")
    return "\n".join(lines) + "\n"


def _label(text: str) -> str:
    """Text for a quoted Mermaid label: one line, no double quote (it would end the label)."""
    return printable(text).replace('"', "'")


def _node(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)
