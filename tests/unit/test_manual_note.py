"""templates/scripts/manual-note.sh, the legs' first step on a manual run with push ticked. GitHub compares
strings in expressions ignoring case (docs, "Operators"; nektos/act's exprparser lowers both sides too), so
env.PUSH holds for refs/heads/MAIN as for refs/heads/main. The step matches the ref with its case against the
plan's regular expressions (filters.ref_condition), fails the leg before any login when env.PUSH took a ref
the patterns do not name, and says why a run that does not publish pushes nothing. Run for real under bash,
with the environment a manual run gives it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.filters import filter_match, ref_condition

from ..conftest import REPO, SAMPLES
from ..test_trust_plan import evaluate

SCRIPT = REPO / "templates/scripts/manual-note.sh"


def note(script: Path, refs: str, ref: str, push: bool) -> subprocess.CompletedProcess[str]:
    """The step as GitHub runs one with no `shell:` (`bash -e {0}`), in an empty workspace."""
    env = {"PATH": os.environ["PATH"], "GITHUB_REF": ref, "PUSH": str(push).lower(), "PUBLISHING_REFS": refs}
    return subprocess.run(["bash", "-e", str(script)], cwd=script.parent,
                          env=env, capture_output=True, text=True, timeout=30)


def outcome(proc: subprocess.CompletedProcess[str]) -> str:
    if proc.returncode == 0 and proc.stdout == "":
        return "publish"
    if proc.returncode == 0 and proc.stdout.startswith("::notice title=Build only::"):
        return "notice"
    if proc.returncode == 1 and proc.stdout.startswith("::error title=Not a publishing ref::"):
        return "refused"
    raise AssertionError(f"exit {proc.returncode}: {proc.stdout}{proc.stderr}")


def _step(sample: str) -> dict[str, Any]:
    doc = yaml.safe_load((SAMPLES / sample / ".github/workflows/multiarch.yml").read_text())
    (step,) = [s for s in doc["jobs"]["legs"]["steps"] if s.get("id") == "manual-note"]
    return step


@pytest.mark.parametrize(("ref", "push", "expected"), [
    ("refs/heads/main", True, "publish"),
    ("refs/tags/v1.0.0", True, "publish"),
    # What env.PUSH's expression takes, ignoring case: the leg fails before it logs in.
    ("refs/heads/MAIN", True, "refused"),
    ("refs/heads/Main", True, "refused"),
    ("refs/tags/V1.0.0", True, "refused"),
    # A ref env.PUSH refused: the run builds and says why it pushes nothing.
    ("refs/heads/experiment", False, "notice"),
    ("refs/heads/MAIN", False, "notice"),
])
def test_the_generated_step_publishes_only_from_the_exact_ref(tmp_path: Path, ref: str, push: bool,
                                                              expected: str) -> None:
    step = _step("minimal")
    script = tmp_path / "note.sh"
    script.write_text(step["run"])
    assert step["env"] == {"PUBLISHING_REFS": "^refs/heads/main$ ^refs/tags/v[^/]*$"}
    proc = note(script, step["env"]["PUBLISHING_REFS"], ref, push)
    assert outcome(proc) == expected, proc.stdout
    assert ref in proc.stdout or expected == "publish"


BRANCHES = ("main", "dev*", "feature/**", "!feature/old/**", "it's.(x)|y$")
TAGS = ("v*", "!v0*", "release-**")


@pytest.mark.parametrize(("ref", "expected"), [
    ("refs/heads/main", "publish"), ("refs/heads/MAIN", "refused"), ("refs/heads/mainx", "notice"),
    ("refs/heads/dev", "publish"), ("refs/heads/dev1", "publish"), ("refs/heads/DEV1", "refused"),
    ("refs/heads/dev/x", "notice"),  # `*` stops at '/'
    ("refs/heads/feature/a/b", "publish"), ("refs/heads/Feature/a", "refused"),
    ("refs/heads/feature/old/x", "notice"),
    # Excluded with case ignored (the expression): a ref GitHub's filter would take, refused, never the reverse.
    ("refs/heads/feature/OLD/x", "notice"),
    # The regular expressions quote what they match: '.', '(', '|', '$' are themselves.
    ("refs/heads/it's.(x)|y$", "publish"), ("refs/heads/it'sX(x)|y$", "notice"), ("refs/heads/y$", "notice"),
    ("refs/tags/v1.0.0", "publish"), ("refs/tags/V1.0.0", "refused"), ("refs/tags/v1/x", "notice"),
    ("refs/tags/v0.9", "notice"), ("refs/tags/V0.9", "notice"),
    ("refs/tags/release-1/2", "publish"), ("refs/tags/Release-1", "refused"),
    ("refs/heads/v1", "notice"), ("refs/tags/main", "notice"),
])
def test_a_manual_run_publishes_only_where_the_filters_match_with_case(tmp_path: Path, ref: str,
                                                                       expected: str) -> None:
    condition, honoured, exact = ref_condition(BRANCHES, TAGS)
    assert honoured == (*BRANCHES, *TAGS), "every pattern here can be decided"
    kind, name = ref.split("/", 2)[1:]
    github = {"ref": ref, "ref_name": name}
    push = bool(evaluate(condition, {"github": github}))  # env.PUSH's ref part, as GitHub evaluates it
    script = tmp_path / "note.sh"
    script.write_text(SCRIPT.read_text())
    found = outcome(note(script, " ".join(exact), ref, push))
    assert found == expected
    # Never the reverse: what publishes is what GitHub's filters (case and all) would take.
    assert found != "publish" or filter_match(BRANCHES if kind == "heads" else TAGS, name)
