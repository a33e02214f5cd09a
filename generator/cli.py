"""The command line: the only module that knows about click, exit codes and stderr.

Exit codes (stable): 0 success or up to date; 1 --check found drift; 2 invalid spec or usage;
3 unexpected internal error (a bug in gen-workflows).

The invocation pre-commit and CI make, `gen-workflows [generate] [-C DIR] [--spec FILE] [--check]
[--fail-on-change]`, is read without click (fast.arguments, which reads it as click does), so a
regeneration does not pay for importing click; every other invocation, and a -C that click would refuse,
goes through click. Both print with `echo`, which writes text as click.echo does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__, fast
from .errors import Problem, UserError

EXIT_OK, EXIT_DRIFT, EXIT_INVALID, EXIT_BUG = 0, 1, 2, 3
REPLACE_HELP = ("Remove the hand-written workflows `gen-workflows import` recognises as image builds, and "
                "overwrite them where a generated file takes their name.")


class _State:
    def __init__(self) -> None:
        self.root = Path.cwd()
        self.spec: str | None = None
        self.traceback = False


def _color(text: str, code: str, stream: object) -> str:
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\x1b[{code}m{text}\x1b[0m"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # a stream that cannot say is no terminal, as click takes it
        return False


def _ascii(encoding: str) -> bool:
    import codecs

    try:
        return codecs.lookup(encoding).name == "ascii"
    except LookupError:
        return False


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Write a line as click.echo writes text, so both ways through this module print the same bytes:
    escape sequences stripped unless the stream is a terminal, and a stream click would not trust (an
    ASCII one, or one that does not say its encoding) written as UTF-8 with replacement characters."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    out = message + "\n" if nl else message
    if not out:
        stream.flush()
        return
    if "\x1b" in out and not _isatty(stream):
        import re

        out = re.sub(r"\033\[[0-?]*[ -/]*[@-~]", "", out)
    encoding = getattr(stream, "encoding", None)
    if encoding is None or getattr(stream, "errors", None) is None or _ascii(encoding):
        binary = getattr(stream, "buffer", None)
        if binary is not None:
            stream.flush()
            # click's choice: the binary stream has no encoding to say, so Python's default (UTF-8).
            binary.write(out.encode(sys.getdefaultencoding(), "replace"))
            binary.flush()
            return
    stream.write(out)
    stream.flush()


def _setup(state: _State, directory: str | None, spec: str | None) -> _State:
    if directory is not None:
        root = Path(directory)
        if not root.is_dir():
            raise UserError.single(directory, "no such directory (-C)")
        state.root = root.resolve()
    if spec is not None:
        state.spec = spec
    return state


def _plain(args: Sequence[str]) -> int | None:
    """Generate (or check) for the plain invocation, without click; None for any other."""
    parsed = fast.arguments(args)
    if parsed is None:
        return None
    directory, spec, check, fail_on_change = parsed
    if directory is not None and not (os.path.isdir(directory) and os.access(directory, os.R_OK)):
        return None  # click.Path refuses it in its own words
    state = _setup(_State(), directory, spec)
    return _generate(state, check=check, force=False, fail_on_change=fail_on_change)


def _generate(state: _State, *, check: bool, force: bool, fail_on_change: bool = False,
              replace: bool = False) -> int:
    from .app import generate

    result = generate(state.root, state.spec, check=check, force=force, replace=replace)
    for note in result.notes:  # a pin that is not the table's runs with credentials: say so
        echo(note, err=True)
    if check:
        for change in result.changes:
            echo(f"{change.shown}: would {change.verb}", err=True)
            for line in change.diff().splitlines():
                code = "32" if line.startswith("+") else "31" if line.startswith("-") else ""
                echo(_color(line, code, sys.stdout) if code else line)
        if result.changes:
            echo(f"{len(result.changes)} workflow file(s) out of date; run `gen-workflows` to update them.",
                 err=True)
            return EXIT_DRIFT
        return EXIT_OK
    for change in result.changes:
        echo(f"{change.verb}d {change.shown}" if change.verb != "remove" else f"removed {change.shown}")
    if not result.changes:
        echo("workflows are up to date")
    return EXIT_DRIFT if result.changes and fail_on_change else EXIT_OK


def _click_cli() -> Any:
    """The click command group: every command, every option, help and version."""
    import json

    import click

    common = [
        click.option("-C", "directory", type=click.Path(file_okay=False), default=None,
                     help="Run as if started in DIR (the repository root)."),
        click.option("--spec", "spec", default=None, metavar="FILE",
                     help="Spec file, relative to the repository root [default: .github/multiarch.yaml]."),
    ]

    def with_common(f: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(common):
            f = option(f)
        return f

    def setup(directory: str | None, spec: str | None) -> _State:
        return _setup(click.get_current_context().find_object(_State) or _State(), directory, spec)

    @click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
    @with_common
    @click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff when workflows are stale.")
    @click.option("--force", is_flag=True, help="Overwrite workflow files that gen-workflows did not generate.")
    @click.option("--fail-on-change", is_flag=True,
                  help="Exit 1 when a file was written or removed (for pre-commit, which misses new files).")
    @click.option("--replace", is_flag=True, help=REPLACE_HELP)
    @click.option("--traceback", "show_traceback", is_flag=True, help="Show the traceback of an internal error.")
    @click.version_option(__version__, prog_name="gen-workflows")
    @click.pass_context
    def cli(ctx: click.Context, directory: str | None, spec: str | None, check: bool, force: bool,
            fail_on_change: bool, replace: bool, show_traceback: bool) -> int | None:
        """Generate multi-architecture image build workflows from .github/multiarch.yaml.

        Without a command, same as `generate`.
        """
        state = ctx.ensure_object(_State)
        state.traceback = show_traceback
        setup(directory, spec)
        if ctx.invoked_subcommand is None:
            return _generate(state, check=check, force=force, fail_on_change=fail_on_change, replace=replace)
        return None

    @cli.command()
    @with_common
    @click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff when workflows are stale.")
    @click.option("--force", is_flag=True, help="Overwrite workflow files that gen-workflows did not generate.")
    @click.option("--fail-on-change", is_flag=True,
                  help="Exit 1 when a file was written or removed (for pre-commit, which misses new files).")
    @click.option("--replace", is_flag=True, help=REPLACE_HELP)
    def generate(directory: str | None, spec: str | None, check: bool, force: bool, fail_on_change: bool,
                 replace: bool) -> int:
        """Write (or with --check, compare) the workflows."""
        return _generate(setup(directory, spec), check=check, force=force, fail_on_change=fail_on_change,
                         replace=replace)

    @cli.command()
    @with_common
    def validate(directory: str | None, spec: str | None) -> int:
        """Check the spec and report every problem; writes nothing."""
        from .app import validate as validate_spec

        state = setup(directory, spec)
        loaded = validate_spec(state.root, state.spec)
        echo(f"{loaded.path}: valid ({len(loaded.images)} image(s))")
        return EXIT_OK

    @cli.command()
    @with_common
    @click.option("--format", "fmt", type=click.Choice(["text", "json", "mermaid"]), default="text",
                  show_default=True,
                  help="A table for people, JSON for tools, or the job graph as a Mermaid flowchart.")
    def plan(directory: str | None, spec: str | None, fmt: str) -> int:
        """Show each image's strategy, runners, reason and estimated build time; writes nothing."""
        from .app import plan_spec
        from .report import as_json, as_mermaid, as_text, plan_rows

        state = setup(directory, spec)
        planned = plan_spec(state.root, state.spec, every=True)
        if fmt == "mermaid":
            echo(as_mermaid(planned.plan), nl=False)
            return EXIT_OK
        rows = plan_rows(planned.spec, planned.decisions, planned.plan)
        from .importer.compare import compare_rows, comparison_text

        old = compare_rows(state.root, planned.spec, rows)  # hand-written workflows the spec replaces
        if fmt == "json":
            echo(as_json([row | {"was": old[i]} if old.get(i) else row for i, row in enumerate(rows)]), nl=False)
        else:
            echo(as_text(rows) + comparison_text(rows, old), nl=False)
        return EXIT_OK

    @cli.command()
    @with_common
    def init(directory: str | None, spec: str | None) -> int:
        """Write a first .github/multiarch.yaml from the repository's Dockerfiles, then show its plan."""
        from .init import describe_skipped, write_initial_spec

        state = setup(directory, spec)
        path, found, skipped = write_initial_spec(state.root, __version__)
        for item, problems in skipped:
            echo(f"left out {item.path}: the spec could not use it", err=True)
            for problem in problems:
                echo("  " + describe_skipped(problem).replace("\n", "\n  "), err=True)
        echo(f"wrote {path.relative_to(state.root).as_posix()} with {len(found)} image(s):", err=True)
        click.get_current_context().invoke(plan, directory=None, spec=None, fmt="text")
        echo("Next: review the spec, then run `gen-workflows` to write the workflows.", err=True)
        return EXIT_OK

    @cli.command("import")
    @click.option("-C", "directory", type=click.Path(file_okay=False), default=None,
                  help="Run as if started in DIR (the repository root).")
    @click.option("--from", "sources", multiple=True, metavar="FILE",
                  help="A workflow to read (repeatable) [default: every workflow in .github/workflows].")
    @click.option("--dry-run", is_flag=True, help="Print the spec and the report; write nothing.")
    @click.option("--force", is_flag=True, help="Overwrite an existing spec.")
    def import_(directory: str | None, sources: tuple[str, ...], dry_run: bool, force: bool) -> int:
        """Write .github/multiarch.yaml from the hand-written workflows that build images."""
        from .importer import import_spec

        state = setup(directory, None)
        result = import_spec(state.root, list(sources), dry_run=dry_run, force=force, version=__version__)
        if dry_run:
            echo(result.text, nl=False)
        for note in result.notes:
            echo(note.render(), err=True)
        for rel in result.left_alone:
            echo(f"{rel}: builds no image; left alone", err=True)
        verb = "would write" if dry_run else "wrote"
        count = len(result.notes)
        carried = "everything carried" if not count else f"{count} {'thing' if count == 1 else 'things'} not carried"
        echo(f"{verb} {result.path} from {', '.join(result.sources)} ({carried})", err=True)
        if not dry_run:
            gone = ", ".join(result.files) or "none of them (see above)"
            echo(f"Next: `gen-workflows plan` compares the old and new workflows; `gen-workflows --replace` "
                 f"writes the new ones and removes {gone}.", err=True)
        return EXIT_OK

    @cli.command()
    def schema() -> int:
        """Print the spec's JSON Schema (for editors and other tools)."""
        from .spec import load_schema

        echo(json.dumps(load_schema(), indent=2, ensure_ascii=False))
        return EXIT_OK

    return cli


def _with_click(args: list[str]) -> int:
    """Run `args` through click, its own exits and refusals mapped to exit codes."""
    import click

    try:
        return int(_click_cli().main(args=args, prog_name="gen-workflows", standalone_mode=False) or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return EXIT_INVALID
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # click's word for ^C: say what the plain path says
            raise exc.__cause__ from None
        echo("aborted", err=True)
        return EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process; returns the exit code instead of exiting."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    try:
        result = _plain(args)
        return _with_click(args) if result is None else result
    except UserError as exc:
        for problem in exc.problems:
            echo(problem.render(), err=True)
        return EXIT_INVALID
    except KeyboardInterrupt:
        echo("interrupted; no file was left half-written", err=True)
        return 130
    except OSError as exc:  # the file system refused what no check foresaw (a full disk, a vanished file)
        where = os.fsdecode(exc.filename) if exc.filename is not None else "gen-workflows"
        echo(Problem(where, 0, 0, exc.strerror or str(exc)).render(), err=True)
        return EXIT_INVALID
    except Exception as exc:  # the one place that catches everything: a bug, reported as one
        if show_traceback:
            import traceback

            traceback.print_exc()
        echo(f"gen-workflows {__version__}: internal error: {type(exc).__name__}: {exc}", err=True)
        if not show_traceback:
            echo("This is a bug in gen-workflows; please report it with the output of --traceback.", err=True)
        return EXIT_BUG


def run() -> None:
    raise SystemExit(main())
