"""The console script: the pre-commit fast path when its record can answer, the full CLI otherwise.

Kept apart from both, so that neither imports the other: the fast path stays free of click, Jinja and the
rest, and the CLI (and the stages under it) can use the fast path's record without a cycle.
"""

from __future__ import annotations

import os
import sys

from . import fast

TYPE_CHECKING = False  # typing itself costs more to import than the fast path takes
if TYPE_CHECKING:
    from collections.abc import Sequence


def _utf8_mode(argv: Sequence[str]) -> None:
    """Run in Python's UTF-8 mode. Paths in the spec are UTF-8 text; under another locale (Latin-1, or C
    with UTF-8 mode turned off) Python would encode them to file names in that locale's encoding, so a
    context `ünï` would be "not found". The file system encoding is fixed when Python starts, so this
    starts a fresh interpreter once. Its output stays in the terminal's encoding, escaped where needed.
    `-P` and an explicit path: nothing in the current directory can stand in for the package."""
    if os.name == "nt" or sys.flags.utf8_mode or not sys.executable:
        return
    if sys.getfilesystemencoding().lower().replace("-", "").replace("_", "") == "utf8":
        return
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", f"{getattr(sys.stdout, 'encoding', None) or 'ascii'}:backslashreplace")
    parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = f"import sys; sys.path.append({parent!r}); from generator.entry import run; run()"
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-X", "utf8", "-P", "-c", code, *argv], env)


def _escaping_streams() -> None:
    """Text the terminal's encoding cannot show is printed escaped, never a crash."""
    for stream in (sys.stdout, sys.stderr):
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def run() -> None:
    """The console script: the fast path when it can answer, the full CLI otherwise."""
    argv = sys.argv[1:]
    _utf8_mode(argv)
    _escaping_streams()
    notes = fast.recorded_notes(argv)
    if notes is not None:
        for note in notes:
            print(note, file=sys.stderr)
        parsed = fast.invocation(argv)
        if parsed is not None and not parsed[2]:  # --check says nothing when all is well
            print("workflows are up to date")
        raise SystemExit(0)
    from .cli import main

    raise SystemExit(main(argv))
