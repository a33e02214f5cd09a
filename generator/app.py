"""The stages in order, for every command: load -> analyse -> decide -> plan -> render -> write.

Each stage has its own type (Spec, Analyses, Decisions, WorkflowPlan, files) and runs once; `generate`,
`validate`, `plan` and `init` all go through `plan_spec`, so they give one verdict on a spec. Nothing here
prints: the CLI shows what these functions return.
"""

from __future__ import annotations

from pathlib import Path

from . import __version__, fast
from .actions import bot_bumps, effective_pins, load_pins, notes, step_actions
from .analyse import Analyses, analyse
from .model import Spec
from .output import Change, apply_changes, generated_texts, plan_changes
from .plan import CHECK_REQUIREMENTS, plan_workflows
from .record import record
from .render import lay_out, render_files
from .source import start_log, take_log
from .spec import Document, load_spec, spec_from_document
from .strategy import Decisions, decide
from .workflow import WorkflowPlan


@record
class Planned:
    """What the stages up to the plan made of a spec."""

    spec: Spec
    analyses: Analyses
    decisions: Decisions
    plan: WorkflowPlan


@record
class Generated:
    """What `generate` found (and, unless checking, did): the changes, and the notes a reviewer must see."""

    spec_path: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...]


def plan_spec(root: Path, spec_path: str | None = None, *, every: bool = False) -> Planned:
    """Load, analyse, decide and plan. `every`: analyse every build's Dockerfile (for `plan`'s estimates),
    not only those `auto` needs. Raises UserError with every problem found."""
    return _stages(root, load_spec(root, spec_path), every=every)


def plan_document(root: Path, doc: Document) -> Planned:
    """The same stages for a document already read (`init` checks the spec it proposes with this)."""
    return _stages(root, spec_from_document(doc, root), every=False)


def _stages(root: Path, spec: Spec, *, every: bool) -> Planned:
    analyses = analyse(root, spec, every=every)
    decisions = decide(spec, analyses)
    # Laid out by the templates once, with the table's pins: each job then lists the steps its template
    # gives it (where a bot's bump may stand, what `plan --format mermaid` shows); the render is reused.
    return Planned(spec, analyses, decisions, lay_out(plan_workflows(spec, decisions)))


def validate(root: Path, spec_path: str | None = None) -> Spec:
    """Everything generate checks, rendering included (a clash of outputs, a matrix GitHub refuses)."""
    planned = plan_spec(root, spec_path)
    render_files(planned.plan, __version__)
    return planned.spec


def generate(root: Path, spec_path: str | None = None, *, check: bool, force: bool,
             replace: bool = False) -> Generated:
    """Render the workflows and compare them with the files; unless `check`, write the changes. A run
    that leaves the workflows current records what it used, for the next run's fast path. `replace`:
    the hand-written workflows `import` recognises as image builds go (removed, or overwritten where a
    generated file takes their name)."""
    start_log(root).tool = fast.tool_stamp()  # the tool as the run starts: edited meanwhile, it leaves no record
    try:
        planned = plan_spec(root, spec_path)
        spec = planned.spec
        table, steps = load_pins(), step_actions(planned.plan)
        bumps = bot_bumps(table, generated_texts(root, spec.path, sorted(steps)), steps)
        pins = effective_pins(table, bumps, spec.action_pins, spec.path)
        files = render_files(planned.plan, __version__, pins)
        replaced = frozenset(_recognised(root)) if replace else frozenset()
        changes = plan_changes(root, files, spec.path, force=force, replace=replaced)
        said = tuple(notes(table, pins, steps)) + _guard_notes(root, spec)
        if not check:
            apply_changes(root, changes)
    finally:
        log = take_log()
    # A record only where the workflows are now current, and only of bytes the log saw: an analysis made
    # from bytes it did not see would leave an input out.
    if (not check or not changes) and not replace and log is not None and \
            all(path in log.inputs for path, info in planned.analyses.items() if info is not None):
        fast.record(root, spec.path, log, said)
    return Generated(spec.path, tuple(changes), said)


def _recognised(root: Path) -> list[str]:
    from .importer import recognised_files  # only with --replace: a regeneration never imports the importer

    return recognised_files(root)


def _guard_notes(root: Path, spec: Spec) -> tuple[str, ...]:
    """The drift guard installs gen-workflows only from a hashed lock the user commits; without it the
    guard fails on every pull request, so say so where the user runs the tool."""
    if not spec.check_workflow or (root / CHECK_REQUIREMENTS).is_file():
        return ()
    return (f"note: check-workflow is on, but {CHECK_REQUIREMENTS} is missing: the drift guard fails until "
            "you commit it (README: check-workflow)",)
