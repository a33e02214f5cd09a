"""Regenerate every sample's generated files in place: `python -m tests.regen_samples` from the checkout.

The files gen-workflows generated in sample-projects/ are the expected output: tests/test_samples.py
regenerates each sample into a copy, the same way, and fails on any difference. After a change that
alters the output, run this and read `git diff sample-projects/` before committing it.

A sample is regenerated from scratch: its generated files (those whose first line is gen-workflows'
header) are removed before the run. Regenerating over them would keep what the tool keeps on purpose in
a user's repository (a bot's bump of a pin), and the samples must show what the spec alone gives.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

from generator.cli import main
from generator.contract import MARKER

from .conftest import SAMPLE_NAMES, SAMPLES


def generated_files(root: Path) -> list[Path]:
    """The files under root that gen-workflows generated, whatever spec they name."""
    found = []
    marker = MARKER.encode()
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as file:
                if file.read(len(marker)) == marker:
                    found.append(path)
    return found


def regenerate(root: Path) -> int:
    """Remove root's generated files, then generate them again; gen-workflows' exit code."""
    for path in generated_files(root):
        path.unlink()
    return main(["-C", str(root)])


def regenerate_all() -> int:
    """Regenerate every sample; print what changed in each (the tool's own report would call every file
    created, since each run starts from scratch)."""
    os.environ["GEN_WORKFLOWS_NO_CACHE"] = "1"  # a fast-path record of the samples would serve nobody
    failed = []
    for name in SAMPLE_NAMES:
        root = SAMPLES / name
        before = {p: p.read_bytes() for p in generated_files(root)}
        with contextlib.redirect_stdout(io.StringIO()):
            code = regenerate(root)
        if code != 0:
            failed.append(name)
            continue
        after = {p: p.read_bytes() for p in generated_files(root)}
        changes = [f"{'created' if p not in before else 'removed' if p not in after else 'updated'} {p.name}"
                   for p in sorted(before.keys() | after.keys()) if before.get(p) != after.get(p)]
        print(f"{SAMPLES.name}/{name}: {', '.join(changes) or 'unchanged'}")
    if failed:
        print(f"gen-workflows failed for: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(regenerate_all())
