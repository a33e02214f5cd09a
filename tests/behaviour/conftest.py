from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import harness, scenarios
from .server import ModelServer


@pytest.fixture(scope="session")
def toolkit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Toolkit]:
    problem = harness.act_problem()
    if problem:
        pytest.skip(f"the behaviour suite needs act to run the workflows: {problem}")
    server = ModelServer()
    try:
        yield harness.make_toolkit(tmp_path_factory.mktemp("behaviour-tools"), server.port)
    finally:
        server.close()


@pytest.fixture(scope="session")
def runs(request: pytest.FixtureRequest, toolkit: harness.Toolkit,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[scenarios.Runs]:
    """Every run the session's tests ask for, started at once so act runs overlap, the biggest first."""
    pool = scenarios.Runs(toolkit, tmp_path_factory.mktemp("behaviour-runs"))
    wanted = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("case"), scenarios.Case):
            wanted.append(callspec.params["case"])
    for case in sorted(wanted, key=lambda c: -scenarios.weight(c.sample)):
        pool.submit(case)
    if any(item.nodeid.startswith("tests/behaviour/test_mutations.py") for item in request.session.items):
        from .test_mutations import submit_mutations

        submit_mutations(pool)
    yield pool
    pool.close()
    # benchmarks/behaviour.py asks for each run's time here.
    timings = os.environ.get("BEHAVIOUR_TIMINGS")
    if timings:
        done = {k: f.result() for k, f in pool.futures.items() if f.done() and not f.cancelled() and not f.exception()}
        Path(timings).write_text(json.dumps({
            "workers": pool.workers,
            "runs": {k: {"sample": r.sample, "scenario": r.scenario.name, "seconds": round(r.seconds, 3),
                         "jobs": len(r.jobs), "steps": len(r.step_dumps())} for k, r in sorted(done.items())},
        }, indent=1))


def report(run: harness.Run, problems: list[str]) -> str:
    """A failure message: the problems, then the end of act's log and where the run's files are."""
    log = "\n".join(run.text().splitlines()[-60:])
    return "\n".join([*problems, "", f"act log (end; all in {Path(run.directory) / 'act.log'}):", log])
