"""Every sample's generated workflows, run under act for each event (issue 13's assertions 1-5)."""

from __future__ import annotations

import pytest

from tests.conftest import SAMPLE_NAMES

from . import checks, scenarios
from .conftest import report

CASES = [case for sample in SAMPLE_NAMES for case in scenarios.cases(sample)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_behaviour(case: scenarios.Case, runs: scenarios.Runs) -> None:
    run = runs.submit(case).result()
    problems = scenarios.judge(case, run)
    assert not problems, report(run, problems)


FAILURES = [c for c in CASES if c.check in ("failed", "unverified")]


@pytest.mark.parametrize("case", FAILURES, ids=[c.id for c in FAILURES])
def test_failure_blocks_only_its_build_and_dependents(case: scenarios.Case, runs: scenarios.Runs) -> None:
    """DESIGN.md: a failed leg blocks only its own build and its dependents; the rest still publish."""
    run = runs.submit(case).result()
    problems = checks.others_published(run, scenarios.builds(case.sample), case.failed)
    assert not problems, report(run, problems)
