"""The command line: the only module that knows about click, exit codes and stderr.

Exit codes (stable): 0 success or up to date; 1 --check found drift; 2 invalid spec or usage;
3 unexpected internal error (a bug in gen-workflows).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .errors import Problem, UserError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_DRIFT, EXIT_INVALID, EXIT_BUG = 0, 1, 2, 3


class _State:
    def __init__(self) -> None:
        self.root = Path.cwd()
        self.spec: str | None = None
        self.traceback = False


def _color(text: str, code: str, stream: object) -> str:
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\x1b[{code}m{text}\x1b[0m"


_common = [
    click.option("-C", "directory", type=click.Path(file_okay=False), default=None,
                 help="Run as if started in DIR (the repository root)."),
    click.option("--spec", "spec", default=None, metavar="FILE",
                 help="Spec file, relative to the repository root [default: .github/multiarch.yaml]."),
]


def _with_common(f: F) -> F:
    for option in reversed(_common):
        f = option(f)
    return f


def _setup(directory: str | None, spec: str | None) -> _State:
    state = click.get_current_context().find_object(_State) or _State()
    if directory is not None:
        root = Path(directory)
        if not root.is_dir():
            raise UserError.single(directory, "no such directory (-C)")
        state.root = root.resolve()
    if spec is not None:
        state.spec = spec
    return state


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@_with_common
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff when workflows are stale.")
@click.option("--force", is_flag=True, help="Overwrite workflow files that gen-workflows did not generate.")
@click.option("--fail-on-change", is_flag=True,
              help="Exit 1 when a file was written or removed (for pre-commit, which misses new files).")
@click.option("--traceback", "show_traceback", is_flag=True, help="Show the traceback of an internal error.")
@click.version_option(__version__, prog_name="gen-workflows")
@click.pass_context
def cli(ctx: click.Context, directory: str | None, spec: str | None, check: bool, force: bool,
        fail_on_change: bool, show_traceback: bool) -> int | None:
    """Generate multi-architecture image build workflows from .github/multiarch.yaml.

    Without a command, same as `generate`.
    """
    state = ctx.ensure_object(_State)
    state.traceback = show_traceback
    _setup(directory, spec)
    if ctx.invoked_subcommand is None:
        return _generate(state, check=check, force=force, fail_on_change=fail_on_change)
    return None


@cli.command()
@_with_common
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff when workflows are stale.")
@click.option("--force", is_flag=True, help="Overwrite workflow files that gen-workflows did not generate.")
@click.option("--fail-on-change", is_flag=True,
              help="Exit 1 when a file was written or removed (for pre-commit, which misses new files).")
def generate(directory: str | None, spec: str | None, check: bool, force: bool, fail_on_change: bool) -> int:
    """Write (or with --check, compare) the workflows."""
    return _generate(_setup(directory, spec), check=check, force=force, fail_on_change=fail_on_change)


def _generate(state: _State, *, check: bool, force: bool, fail_on_change: bool = False) -> int:
    from .app import generate

    result = generate(state.root, state.spec, check=check, force=force)
    for note in result.notes:  # a pin that is not the table's runs with credentials: say so
        click.echo(note, err=True)
    if check:
        for change in result.changes:
            click.echo(f"{change.shown}: would {change.verb}", err=True)
            for line in change.diff().splitlines():
                code = "32" if line.startswith("+") else "31" if line.startswith("-") else ""
                click.echo(_color(line, code, sys.stdout) if code else line)
        if result.changes:
            click.echo(f"{len(result.changes)} workflow file(s) out of date; run `gen-workflows` to update them.",
                       err=True)
            return EXIT_DRIFT
        return EXIT_OK
    for change in result.changes:
        click.echo(f"{change.verb}d {change.shown}" if change.verb != "remove" else f"removed {change.shown}")
    if not result.changes:
        click.echo("workflows are up to date")
    return EXIT_DRIFT if result.changes and fail_on_change else EXIT_OK


@cli.command()
@_with_common
def validate(directory: str | None, spec: str | None) -> int:
    """Check the spec and report every problem; writes nothing."""
    from .app import validate as validate_spec

    state = _setup(directory, spec)
    loaded = validate_spec(state.root, state.spec)
    click.echo(f"{loaded.path}: valid ({len(loaded.images)} image(s))")
    return EXIT_OK


@cli.command()
@_with_common
@click.option("--format", "fmt", type=click.Choice(["text", "json", "mermaid"]), default="text", show_default=True,
              help="A table for people, JSON for tools, or the job graph as a Mermaid flowchart.")
def plan(directory: str | None, spec: str | None, fmt: str) -> int:
    """Show each image's strategy, runners, reason and estimated build time; writes nothing."""
    from .app import plan_spec
    from .report import as_json, as_mermaid, as_text, plan_rows

    state = _setup(directory, spec)
    planned = plan_spec(state.root, state.spec, every=True)
    if fmt == "mermaid":
        click.echo(as_mermaid(planned.plan), nl=False)
        return EXIT_OK
    rows = plan_rows(planned.spec, planned.decisions, planned.plan)
    click.echo(as_json(rows) if fmt == "json" else as_text(rows), nl=False)
    return EXIT_OK


@cli.command()
@_with_common
def init(directory: str | None, spec: str | None) -> int:
    """Write a first .github/multiarch.yaml from the repository's Dockerfiles, then show its plan."""
    from .init import describe_skipped, write_initial_spec

    state = _setup(directory, spec)
    path, found, skipped = write_initial_spec(state.root, __version__)
    for item, problems in skipped:
        click.echo(f"left out {item.path}: the spec could not use it", err=True)
        for problem in problems:
            click.echo("  " + describe_skipped(problem).replace("\n", "\n  "), err=True)
    click.echo(f"wrote {path.relative_to(state.root).as_posix()} with {len(found)} image(s):", err=True)
    ctx = click.get_current_context()
    ctx.invoke(plan, directory=None, spec=None, fmt="text")
    click.echo("Next: review the spec, then run `gen-workflows` to write the workflows.", err=True)
    return EXIT_OK


@cli.command()
def schema() -> int:
    """Print the spec's JSON Schema (for editors and other tools)."""
    from .spec import load_schema

    click.echo(json.dumps(load_schema(), indent=2, ensure_ascii=False))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process; returns the exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    try:
        result = cli.main(args=args, prog_name="gen-workflows", standalone_mode=False)
    except UserError as exc:
        for problem in exc.problems:
            click.echo(problem.render(), err=True)
        return EXIT_INVALID
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_INVALID
    except click.Abort:
        click.echo("aborted", err=True)
        return EXIT_INVALID
    except KeyboardInterrupt:
        click.echo("interrupted; no file was left half-written", err=True)
        return 130
    except OSError as exc:  # the file system refused what no check foresaw (a full disk, a vanished file)
        where = os.fsdecode(exc.filename) if exc.filename is not None else "gen-workflows"
        click.echo(Problem(where, 0, 0, exc.strerror or str(exc)).render(), err=True)
        return EXIT_INVALID
    except Exception as exc:  # the one place that catches everything: a bug, reported as one
        if show_traceback:
            traceback.print_exc()
        click.echo(f"gen-workflows {__version__}: internal error: {type(exc).__name__}: {exc}", err=True)
        if not show_traceback:
            click.echo("This is a bug in gen-workflows; please report it with the output of --traceback.",
                       err=True)
        return EXIT_BUG
    return int(result or 0)


def run() -> None:
    raise SystemExit(main())
