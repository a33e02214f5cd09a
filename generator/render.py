"""Lay a WorkflowPlan out as YAML text with the Jinja templates (templates/: the shape), then parse the text
back and check what the plan decides: a template or quoting bug fails here, never in the user's CI.

Templates use `{= value =}` for values, `{% %}` for statements and `{! !}` for comments: none of them
appears in a workflow (GitHub's `${{ }}` and the shell's `$((`, `[[`, `${#`, `<<<` are written as they are).
Every value goes through one quoting path (`_finalize`): user text reads back exactly, whatever it holds;
`Literal`s (expressions the generator wrote) and `Raw` YAML (comments, pinned actions) are written as they
are. A template error names the template and line.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
import yaml
from jinja2.runtime import Context

from . import __version__
from .actions import PinTable, load_pins
from .contract import WORKFLOWS_DIR
from .errors import printable
from .fast import cache_dir
from .output import header, owner_spec
from .quoting import RenderError, indent_blocks, quote, scalar, yaml_value
from .resources import PACKAGE, resource_dir
from .workflow import CheckWorkflow, Job, Literal, StepOutline, Value, Workflow, WorkflowPlan

DELIMITERS = {"variable_start_string": "{=", "variable_end_string": "=}", "block_start_string": "{%",
              "block_end_string": "%}", "comment_start_string": "{!", "comment_end_string": "!}"}
WORKFLOW_TEMPLATE = "workflow.yml.j2"
ENGINE_TEMPLATE = "engine.yml.j2"
CHECK_TEMPLATE = "check.yml.j2"
__all__ = ["RenderError", "lay_out", "quote", "render_files", "render_workflow", "yaml_value"]

# ----------------------------------------------------------------------------------- the environment


class Raw(str):
    """Text that is YAML already (a comment, a pinned action with its release): written as it is."""


# The user text and literals a render writes, to be found again in the parsed result.
_WRITTEN: ContextVar[list[str] | None] = ContextVar("written", default=None)


@jinja2.pass_eval_context  # never applied at compile time, so every render sees every value
def _finalize(_eval: object, value: object) -> str:
    """The one way a template writes a value."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises, naming what is undefined
    written = _WRITTEN.get()
    if isinstance(value, Literal):
        if written is not None:
            written.append(value.text)
    elif isinstance(value, str):
        if written is not None:
            written.append(value)
    elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        if written is not None:
            written += value
    elif not isinstance(value, int):  # bool is an int
        raise RenderError(f"a template writes {value!r}, which is not a value (an unset optional input?)")
    return scalar(value)


def _comment(text: object) -> Raw:
    """Text for a YAML comment: one line, control characters shown escaped."""
    return Raw(printable(str(text)))


@jinja2.pass_context
def _uses(context: Context, action: str) -> Raw:
    """`owner/repo@<commit> # <release>` from the run's pins."""
    pins: PinTable = context["pins"]
    pin = pins.pin(action)
    return Raw(f"{pin.ref} # {pin.release}")


def _anchor(name: str) -> Raw:
    """A YAML anchor or alias name (`&name`, `*name`): generator-made, letters, digits and '-' only."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise RenderError(f"{name!r} cannot name a YAML anchor")
    return Raw(name)


def _text(value: Value) -> str:
    """A value spliced into a longer generated string (artifact names, paths)."""
    return value.text if isinstance(value, Literal) else str(value)


def _lines(*parts: Value | None) -> str:
    """Multi-line input values joined, each ending its own line; unset ones left out."""
    texts = [_text(p) for p in parts if p is not None and p != ""]
    return "".join(t if t.endswith("\n") else f"{t}\n" for t in texts)


@cache
def _read_script(directory: str, name: str) -> str:
    if name.endswith(".py"):  # Python scripts live in the package, where their tests import them
        return (PACKAGE / "scripts" / name).read_text("utf-8")
    return (Path(directory) / "scripts" / name).read_text("utf-8")


class _MarkedLoader(jinja2.FileSystemLoader):
    """Every template line preceded by a marker line naming it: a second render with these maps a line of
    the output back to the template line that wrote it. Used only to explain a failure."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        lines = source.split("\n")
        marked = "\n".join(f"{_MARK}{template}:{n}\n{line}" for n, line in enumerate(lines, 1))
        return marked, filename, uptodate


_MARK = "\x01@"


def default_templates() -> Path:
    return resource_dir("templates")


# How the templates are read: compiled code depends on these, so the bytecode cache is kept per setting.
_SYNTAX: dict[str, Any] = {**DELIMITERS, "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs: compiling them is a third of a regeneration otherwise. Jinja
    checks each against its template's source; a cache that cannot be read or written only costs speed."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """In the tool's cache directory, beside the fast path's records (and off when they are)."""
    base = cache_dir()
    if base is None:
        return None
    stamp = zlib.crc32(repr((__version__, jinja2.__version__, sorted(_SYNTAX.items()))).encode())
    directory = os.path.join(base, f"templates-{stamp:08x}")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    return _BytecodeCache(directory)


@cache
def _environment(directory: str, *, marked: bool = False) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=(_MarkedLoader if marked else jinja2.FileSystemLoader)(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        finalize=_finalize,
        bytecode_cache=None if marked else _bytecode_cache(),
        **_SYNTAX,
    )
    env.filters["comment"] = _comment
    env.filters["uses"] = _uses
    env.globals.update(literal=Literal, text=_text, lines=_lines, anchor=_anchor,
                       script=lambda name: _read_script(directory, name))
    return env


def _where(directory: str, filename: str | None, line: int | None) -> str:
    """`templates/jobs/build.yml.j2:12`: the template set's folder name, the template, the line."""
    if not filename:
        return Path(directory).name
    shown = f"{Path(directory).name}/{Path(os.path.relpath(filename, directory)).as_posix()}"
    return f"{shown}:{line}" if line else shown


def _template_frame(exc: BaseException, directory: str) -> str:
    """The innermost template line in the traceback (Jinja maps its frames to template lines)."""
    import traceback  # only when a template fails

    found = ""
    for frame, line in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = _where(directory, filename, line)
    return found or Path(directory).name


def _render(directory: str, name: str, **context: Any) -> tuple[str, list[str]]:
    """The template's text, and the user text and literals it wrote."""
    written: list[str] = []
    token = _WRITTEN.set(written)
    try:
        text = _environment(directory).get_template(name).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(f"{_where(directory, exc.filename, exc.lineno)}: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"{_template_frame(exc, directory)}: no template {exc.name}") from exc
    except (jinja2.TemplateError, RenderError, LookupError, TypeError, AttributeError, ValueError) as exc:
        raise RenderError(f"{_template_frame(exc, directory)}: {type(exc).__name__}: {exc}") from exc
    finally:
        _WRITTEN.reset(token)
    return indent_blocks(text), written


def _template_line(directory: str, name: str, line: int, **context: Any) -> str:
    """Which template line wrote line `line` (1-based) of the output, from a render with marker lines."""
    try:
        marked = _environment(directory, marked=True).get_template(name).render(**context)
    except Exception:  # the failure being explained already has a message; this only adds a location
        return ""
    where, n = "", 0
    for text in marked.split("\n"):
        if text.startswith(_MARK):
            where = text[len(_MARK):]
            continue
        n += 1
        if n == line:
            return f"{Path(directory).name}/{where}" if where else ""
    return ""


# ----------------------------------------------------------------------------------- the parse-back


# PyYAML's wheels hold libyaml; a build without it falls back to the same parser in Python.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SAFE_LOADER):  # type: ignore[misc]
    """libyaml's parser (the parse-back of every workflow is most of a run otherwise), refusing what
    GitHub refuses and PyYAML takes silently: a key written twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"the key {key.value!r} appears twice",
                                                            key.start_mark)
                seen.add(key.value)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def _parse(text: str, filename: str, explain: tuple[str, str, dict[str, Any]]) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # a safe loader: CSafeLoader's
    except yaml.YAMLError as exc:
        directory, name, context = explain
        lines = text.split("\n")

        def located(mark: Any) -> tuple[str, str]:
            """The template line that wrote the marked output line, and that output line."""
            if mark is None:
                return "", ""
            return _template_line(directory, name, mark.line + 1, **context), lines[mark.line].strip()

        problem_mark = getattr(exc, "problem_mark", None)
        where, shown = located(problem_mark)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        started = ""
        if getattr(exc, "context", None):  # "while parsing a flow sequence": where that began
            context_where, context_shown = located(getattr(exc, "context_mark", None))
            started = f", {exc.context} that starts at {context_where or 'its'} ({context_shown!r})"  # type: ignore[attr-defined]
        line = problem_mark.line + 1 if problem_mark is not None else 0
        raise RenderError(f"{where or Path(directory).name}: the rendered {filename} does not parse at line {line} "
                          f"({shown!r}): {what}{started}") from exc


def _plain(value: Any) -> Any:
    """What a plan value reads back as."""
    if isinstance(value, Literal):
        return value.text
    if isinstance(value, tuple):
        return list(value)
    return value


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _check_written(filename: str, parsed: Any, written: Sequence[str], template: str) -> None:
    """Every user string and literal a render wrote reads back unchanged, as a whole key or value."""
    missing = Counter(written) - Counter(_strings(parsed))
    if missing:
        text = next(iter(missing))
        raise RenderError(f"{template}: {filename}: {text!r} does not read back as a value: it is written as part "
                          "of a longer one, or quoted wrongly (a template writes each value as a whole `{= =}`)")


def _job_problem(job: Job, data: Any) -> str:
    """What the parsed job says that the plan does not (ids, needs, permissions, when and where; for a call
    of the engine, what it passes)."""
    if not isinstance(data, dict):
        return "is not a mapping"
    needs = data.get("needs", [])
    checks: list[tuple[str, Any, Any]] = [
        ("needs", [needs] if isinstance(needs, str) else needs, list(job.needs)),
        ("permissions", data.get("permissions"), {p.scope: p.level for p in job.permissions}),
    ]
    if job.kind == "call":
        checks += [("uses", str(data.get("uses")), f"./.github/workflows/{job.uses}"),
                   ("with", data.get("with"), {k: _plain(v) for k, v in job.values.items()}),
                   ("secrets", sorted(data.get("secrets") or {}), sorted(job.secrets))]
    else:
        checks += [("if", data.get("if"), job.if_.text if job.if_ else None),
                   ("runs-on", data.get("runs-on"), _plain(job.runs_on))]
    for key, found, expected in checks:
        if found != expected:
            return f"{key} is {found!r}, the plan says {expected!r}"
    return "" if job.kind == "call" else _steps_problem(data)


def _steps_problem(data: dict[str, Any]) -> str:
    steps = data.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        return "has no list of steps"
    ids = [s.get("id") for s in steps]
    if not all(isinstance(i, str) and i for i in ids):
        return f"step {ids.index(next(i for i in ids if not isinstance(i, str) or not i)) + 1} has no id"
    twice = [i for i in ids if ids.count(i) > 1]
    return f"two steps have the id {twice[0]!r}" if twice else ""


def _outline(data: dict[str, Any]) -> tuple[StepOutline, ...]:
    return tuple(StepOutline(str(s["id"]), str(s.get("name", "")), str(s.get("uses", "")).split("@", 1)[0])
                 for s in data.get("steps", ()))


class _Rendered(NamedTuple):
    text: str
    outlines: Mapping[str, tuple[StepOutline, ...]]  # job id -> its steps


def _render_workflow(wf: Workflow, pins: PinTable, directory: str) -> _Rendered:
    context = {"wf": wf, "pins": pins}
    template = wf.template
    text, written = _render(directory, template, **context)
    doc = _parse(text, wf.filename, (directory, template, context))
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    if not isinstance(jobs, dict) or list(jobs) != [job.id for job in wf.jobs]:
        found = list(jobs) if isinstance(jobs, dict) else jobs
        raise RenderError(f"{Path(directory).name}/{template}: {wf.filename}: the jobs are {found!r}, "
                          f"the plan says {[job.id for job in wf.jobs]!r}")
    for job in wf.jobs:
        problem = _job_problem(job, jobs[job.id])
        if problem:
            raise RenderError(f"{Path(directory).name}/jobs/{job.kind}.yml.j2: {wf.filename}: job {job.id} {problem}")
    push = (doc.get("env") or {}).get("PUSH")
    if wf.template == ENGINE_TEMPLATE and push != wf.push_condition.text:
        raise RenderError(f"{Path(directory).name}/{template}: {wf.filename}: env.PUSH is {push!r}, the plan "
                          f"says {wf.push_condition.text!r}")
    _check_written(wf.filename, doc, written, f"{Path(directory).name}/{template}")
    return _Rendered(text, {job.id: _outline(jobs[job.id]) for job in wf.jobs})


def _render_check(wf: CheckWorkflow, pins: PinTable, directory: str) -> _Rendered:
    context = {"wf": wf, "pins": pins}
    text, written = _render(directory, CHECK_TEMPLATE, **context)
    doc = _parse(text, wf.filename, (directory, CHECK_TEMPLATE, context))
    jobs = doc.get("jobs") if isinstance(doc, dict) else None
    where = f"{Path(directory).name}/jobs/check.yml.j2: {wf.filename}"
    if not isinstance(jobs, dict) or list(jobs) != ["check"]:
        raise RenderError(f"{where}: the jobs are {list(jobs) if isinstance(jobs, dict) else jobs!r}, not ['check']")
    job = jobs["check"]
    if not isinstance(job, dict) or job.get("permissions") != {"contents": "read"}:
        raise RenderError(f"{where}: the check job must hold only contents: read")
    problem = _steps_problem(job)
    if problem:
        raise RenderError(f"{where}: job check {problem}")
    _check_written(wf.filename, doc, written, f"{Path(directory).name}/{CHECK_TEMPLATE}")
    return _Rendered(text, {"check": _outline(job)})


# A workflow's render, kept for the run: the plan is laid out once with the table's pins (lay_out), and the
# files are rendered with the run's pins, which are the table's unless a bot or the spec changed one.
# Laying a plan out starts afresh, so the memo holds one plan's workflows (up to a bound, for callers
# that render without laying out).
_MEMO: dict[int, tuple[object, PinTable, str, _Rendered]] = {}
_MEMO_SIZE = 1024


def _memo_render(item: Workflow | CheckWorkflow, pins: PinTable, directory: str) -> _Rendered:
    held = _MEMO.get(id(item))
    if held is not None and held[0] is item and held[1] == pins and held[2] == directory:
        return held[3]
    rendered = _render_workflow(item, pins, directory) if isinstance(item, Workflow) else \
        _render_check(item, pins, directory)
    _remember(item, pins, directory, rendered)
    return rendered


def _remember(item: object, pins: PinTable, directory: str, rendered: _Rendered) -> None:
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    _MEMO[id(item)] = (item, pins, directory, rendered)


def lay_out(plan: WorkflowPlan, templates: Path | None = None) -> WorkflowPlan:
    """The plan with each job's steps as its template lays them out (the `steps` outlines), from a render
    with the table's pins: which actions each job uses, before the run's pins are known."""
    directory, pins = str(templates or default_templates()), load_pins()
    _MEMO.clear()
    workflows = []
    for wf in plan.workflows:
        rendered = _memo_render(wf, pins, directory)
        laid = replace(wf, jobs=tuple(replace(job, steps=rendered.outlines[job.id]) for job in wf.jobs))
        _remember(laid, pins, directory, rendered)  # templates do not read the outlines: the same text
        workflows.append(laid)
    check = plan.check
    if check is not None:
        rendered = _memo_render(check, pins, directory)
        check = replace(check, steps=rendered.outlines["check"])
        _remember(check, pins, directory, rendered)
    return replace(plan, workflows=tuple(workflows), check=check)


def render_workflow(workflow: Workflow, pins: PinTable, templates: Path | None = None) -> str:
    """The workflow's YAML body (no header); its invariants checked before it is returned."""
    return _memo_render(workflow, pins, str(templates or default_templates())).text


def render_files(plan: WorkflowPlan, version: str, pins: PinTable | None = None,
                 templates: Path | None = None) -> dict[str, str]:
    """Every file the plan generates, by path relative to the repository root, header included."""
    pins = pins or load_pins()
    directory = str(templates or default_templates())
    head = header(plan.spec_path, version)
    items: list[Workflow | CheckWorkflow] = [*plan.workflows, *([plan.check] if plan.check else [])]
    files = {}
    for item in items:
        text = head + _memo_render(item, pins, directory).text
        if owner_spec(text) != plan.spec_path:  # the header is there, naming this spec
            raise RenderError(f"{item.filename}: the header does not name {plan.spec_path}")
        files[f"{WORKFLOWS_DIR}/{item.filename}"] = text
    return files
