"""Lay a WorkflowPlan out as YAML text with Jinja templates, then parse it back to prove it says what
the plan says: a template or quoting bug fails here, never in the user's CI."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

import jinja2

from .actions import PinTable, load_pins
from .contract import WORKFLOWS_DIR
from .output import header
from .resources import resource_dir
from .workflow import CheckWorkflow, Job, Literal, Step, Value, Workflow, WorkflowPlan

# Words YAML 1.1 readers take as booleans, null or merge/value keys; never emitted plain.
_YAML11_SPECIAL = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "=", "<<"])
# Anything a YAML reader might take for a number: digit-leading text, and "_", ".5", "+_"-like runs of
# number characters (YAML 1.1 ints may hold "_"; ruamel reads "+_" as an int and then fails on it).
_NUMBERISH = re.compile(r"[-+]?[0-9].*|[-+]?[._][0-9a-fA-F_.:eExXoObB+-]*|[-+]?\.(inf|nan)", re.IGNORECASE | re.DOTALL)
_PLAIN_CHARS = re.compile(r"[A-Za-z0-9 _./,=+@:$(){}'|&!<>*%-]*")
_FLOW_UNSAFE = set(",[]{}")


class RenderError(Exception):
    """A bug in the generator: the rendered text does not say what the plan says."""


def _escape(char: str) -> str:
    code = ord(char)
    simple = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
    if char in simple:
        return simple[char]
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or char in "\ufeff\ufffe\uffff\x85":
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


def _plain_ok(text: str, *, flow: bool) -> bool:
    return bool(
        text
        and _PLAIN_CHARS.fullmatch(text)
        and text[0] not in "-?:,[]{}#&*!|>'\"%@` "
        and text[-1] not in " :"
        and ": " not in text
        and " #" not in text
        and text.lower() not in _YAML11_SPECIAL
        and (text in (".", "..") or not _NUMBERISH.fullmatch(text))
        and not (flow and _FLOW_UNSAFE & set(text))
    )


def quote(text: str, *, flow: bool = False) -> str:
    """The YAML scalar that reads back as exactly `text`: plain when unambiguous, else double-quoted."""
    if _plain_ok(text, flow=flow):
        return text
    return '"' + "".join(_escape(c) for c in text) + '"'


def _block_safe(text: str) -> bool:
    lines = text.split("\n")
    if text.endswith("\n\n") or not lines[0] or lines[0][0] in " \t":
        return False
    return all(_escape(c) == c or c == "\t" for line in lines for c in line if c != "\\" and c != '"') and \
        not any(line != line.rstrip(" \t") for line in lines)


def yaml_value(value: Value | tuple[str, ...], indent: int) -> str:
    """A value for `key: <here>` at the given indentation of the key."""
    if isinstance(value, Literal):
        if "\n" in value.text or " #" in value.text or ": " in value.text:
            raise RenderError(f"literal cannot be emitted plain: {value.text!r}")
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(quote(v, flow=True) for v in value) + "]"
    if "\n" in value and _block_safe(value):
        pad = " " * (indent + 2)
        indicator = "|" if value.endswith("\n") else "|-"
        body = value[:-1] if value.endswith("\n") else value
        return indicator + "\n" + "\n".join(pad + line if line else "" for line in body.split("\n"))
    return quote(value)


def uses(action: str, pins: PinTable) -> str:
    pin = pins.pin(action)
    return f"{pin.ref} # {pin.release}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["yaml"] = yaml_value
    env.filters["q"] = quote
    env.filters["uses"] = uses
    return env


def render_workflow(workflow: Workflow, pins: PinTable) -> str:
    """The workflow's YAML body (no header); verified against the plan before it is returned."""
    template = _environment().get_template("workflow.yml.j2")
    text = template.render(wf=workflow, pins=pins)
    _verify(text, workflow, pins)
    return text


# ----------------------------------------------------------------------------------- the parse-back


def _value_data(value: Value | tuple[str, ...]) -> Any:
    if isinstance(value, Literal):
        return value.text
    if isinstance(value, tuple):
        return list(value)
    return value


def _step_data(step: Step, pins: PinTable) -> dict[str, Any]:
    data: dict[str, Any] = {"name": step.name}
    if step.id:
        data["id"] = step.id
    if step.if_:
        data["if"] = step.if_
    if step.uses:
        data["uses"] = pins.pin(step.uses).ref
    if step.with_:
        data["with"] = {k: _value_data(v) for k, v in step.with_}
    if step.env:
        data["env"] = {k: _value_data(v) for k, v in step.env}
    if step.shell:
        data["shell"] = step.shell
    if step.working_directory:
        data["working-directory"] = _value_data(step.working_directory)
    if step.run:
        data["run"] = step.run
    return data


def _job_data(job: Job, pins: PinTable) -> dict[str, Any]:
    data: dict[str, Any] = {"name": job.name}
    if job.needs:
        data["needs"] = list(job.needs)
    if job.if_:
        data["if"] = job.if_
    data["runs-on"] = _value_data(job.runs_on)
    data["timeout-minutes"] = job.timeout_minutes
    data["permissions"] = {p.scope: p.level for p in job.permissions} if job.permissions else {}
    if job.matrix:
        data["strategy"] = {"fail-fast": job.fail_fast, "matrix": {"include": [
            {k: _value_data(v) for k, v in entry.items()} for entry in job.matrix]}}
    data["steps"] = [_step_data(s, pins) for s in job.steps]
    return data


def workflow_data(wf: Workflow, pins: PinTable) -> dict[str, Any]:
    """What the rendered YAML must parse to."""
    on: dict[str, Any] = {}
    push: dict[str, Any] = {}
    if wf.on.push_branches:
        push["branches"] = list(wf.on.push_branches)
    if wf.on.push_tags:
        push["tags"] = list(wf.on.push_tags)
    if wf.on.paths:
        push["paths"] = list(wf.on.paths)
    on["push"] = push
    if wf.on.pull_request_branches is not None:
        pull: dict[str, Any] = {}
        if wf.on.pull_request_branches:
            pull["branches"] = list(wf.on.pull_request_branches)
        if wf.on.paths:
            pull["paths"] = list(wf.on.paths)
        on["pull_request"] = pull or None
    if wf.on.schedule:
        on["schedule"] = [{"cron": cron} for cron in wf.on.schedule]
    if wf.on.manual_push:
        on["workflow_dispatch"] = {"inputs": {"push": {
            "description": "Push the images (untick to only build them)", "type": "boolean", "default": True}}}
    elif wf.on.manual:
        on["workflow_dispatch"] = None
    return {
        "name": wf.name,
        "on": on,
        "permissions": {},
        "env": {"PUSH": wf.push_condition},
        "concurrency": {"group": wf.concurrency_group, "cancel-in-progress": True},
        "jobs": {job.id: _job_data(job, pins) for job in wf.jobs},
    }


def _verify(text: str, workflow: Workflow, pins: PinTable) -> None:
    _compare(text, workflow_data(workflow, pins), workflow.filename)


def _compare(text: str, expected: dict[str, Any], filename: str) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        parsed = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise RenderError(f"{filename}: rendered YAML does not parse: {exc}") from exc
    difference = _first_difference(expected, parsed, "")
    if difference:
        raise RenderError(f"{filename}: rendered YAML differs from the plan at {difference}")


def _first_difference(expected: Any, parsed: Any, where: str) -> str:
    if isinstance(expected, dict) and isinstance(parsed, dict):
        if list(expected) != list(parsed):
            return f"{where or '/'}: keys {list(parsed)} instead of {list(expected)}"
        for key in expected:
            found = _first_difference(expected[key], parsed[key], f"{where}/{key}")
            if found:
                return found
        return ""
    if isinstance(expected, list) and isinstance(parsed, list) and len(expected) == len(parsed):
        for i, (e, p) in enumerate(zip(expected, parsed, strict=True)):
            found = _first_difference(e, p, f"{where}/{i}")
            if found:
                return found
        return ""
    return "" if expected == parsed and type(expected) is type(parsed) else \
        f"{where}: {parsed!r} instead of {expected!r}"


def render_check(wf: CheckWorkflow, pins: PinTable) -> str:
    text = _environment().get_template("check.yml.j2").render(wf=wf, pins=pins)
    expected = {
        "name": wf.name,
        "on": {"pull_request": {"paths": list(wf.paths)}},
        "permissions": {},
        "concurrency": {"group": "${{ github.workflow }}-${{ github.event.pull_request.number }}",
                        "cancel-in-progress": True},
        "jobs": {"check": {"name": "Generated workflows are current", "runs-on": "ubuntu-24.04",
                           "timeout-minutes": 10, "permissions": {"contents": "read"},
                           "steps": [_step_data(s, pins) for s in wf.steps]}},
    }
    _compare(text, expected, wf.filename)
    return text


def render_files(plan: WorkflowPlan, version: str, pins: PinTable | None = None) -> dict[str, str]:
    """Every file the plan generates, by path relative to the repository root, header included."""
    pins = pins or load_pins()
    head = header(plan.spec_path, version)
    files = {f"{WORKFLOWS_DIR}/{wf.filename}": head + render_workflow(wf, pins) for wf in plan.workflows}
    if plan.check is not None:
        files[f"{WORKFLOWS_DIR}/{plan.check.filename}"] = head + render_check(plan.check, pins)
    return files
