"""`gen-workflows plan` after an import: the hand-written workflows still in place, beside the new plan.

Each build of the plan is matched to the old build that pushes the same repository with the same tag prefix
and suffix; the comparison shows how each did it (platforms, runners, tag rules as metadata-action lines).
Nothing is shown once the old workflows are gone (`gen-workflows --replace`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError, printable
from ..model import Spec
from ..plan.values import tag_lines
from .compose import slug, split_ref
from .model import Build


def compare_rows(root: Path, spec: Spec, rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """For each plan row (by index) that an old workflow also builds: how the old one did it."""
    from . import find, foreign_files

    try:
        if not foreign_files(root):
            return {}
        composed, _ = find(root)
    except UserError:
        return {}  # an old workflow import cannot read says so on `import`; the plan stands without it
    repo_name = slug(root.resolve().name)
    old: dict[tuple[str, str, str], Build] = {}
    for placed in composed.placed:
        b = placed.build
        for ref in b.refs:
            repository = split_ref(ref, repo_name)[1]
            old.setdefault((repository, b.prefix, b.suffix), b)
    out: dict[int, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        build = spec.variant(row["image"], row["variant"] or "")
        was = old.get((build.repository, build.prefix, build.suffix))
        if was is None:
            continue
        b = was
        out[i] = {"file": b.caller or b.file, "at": b.where, "how": b.how, "strategy": b.strategy,
                  "platforms": list(b.platforms), "runners": dict(b.runners), "tags": list(b.tag_lines)}
        out[i]["new_tags"] = tag_lines(build.tags, build.prefix, build.name).splitlines()
    return out


def comparison_text(rows: list[dict[str, Any]], old: dict[int, dict[str, Any]]) -> str:
    if not old:
        return ""
    files = sorted({o["file"] for o in old.values()})
    lines = ["", f"hand-written workflows still build these images ({', '.join(files)});",
             "`gen-workflows --replace` writes the new workflows and removes them:"]
    for i, was in sorted(old.items()):
        row = rows[i]
        name = row["image"] + (f"/{row['variant']}" if row["variant"] else "")
        lines.append(f"{name}")
        lines.append(f"  old  {was['at']}: {was['strategy']} ({was['how']})")
        lines.append(f"  new  {row['workflow']}: {row['strategy']}")
        platforms = list(dict.fromkeys([*was["platforms"], *row["platforms"]]))
        for platform in platforms:
            before = was["runners"].get(platform, "-") if platform in was["platforms"] else "(not built)"
            after = row["runners"].get(platform, "-") if platform in row["platforms"] else "(not built)"
            lines.append(f"  {platform:<14} old {before:<24} new {after}")
        lines.append(f"  tags old: {'; '.join(was['tags']) or '-'}")
        lines.append(f"  tags new: {'; '.join(was['new_tags']) or '-'}")
    return "".join(printable(line) + "\n" for line in lines)
