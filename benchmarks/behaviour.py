#!/usr/bin/env python3
"""How long the behaviour suite (tests/behaviour/: every sample's workflows under act) takes.

Times `python -m pytest tests/behaviour` as a whole process (wall and CPU time of the process and its
children) and reads back each act run's own time (the suite writes them where BEHAVIOUR_TIMINGS
says), so the report shows the total, where it goes (per sample, the slowest runs) and how much the
parallel runs overlap. The target is under 4 minutes on a 2-core machine; this reports, it never fails
on time.

    python benchmarks/behaviour.py [--runs N] [--workers N] [--json FILE] [-- PYTEST ARGS...]

Standard library only. The machine's load average before and after is printed: on a shared machine
the wall time says more about the neighbours than about the suite, the CPU time less so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TARGET = 240.0  # seconds, issue 13


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(workers: int, extra: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="behaviour-bench-") as tmp:
        timings = Path(tmp) / "timings.json"
        env = {**os.environ, "BEHAVIOUR_TIMINGS": str(timings), "PYTHONDONTWRITEBYTECODE": "1"}
        if workers:
            env["BEHAVIOUR_WORKERS"] = str(workers)
        cmd = [sys.executable, "-m", "pytest", "tests/behaviour", "-q", "-p", "no:cacheprovider", *extra]
        load_before = os.getloadavg()[0]
        cpu_before = cpu_of_children()
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.monotonic() - started
        cpu = cpu_of_children() - cpu_before
        (Path(tempfile.gettempdir()) / "behaviour-bench-last.log").write_text(proc.stdout + proc.stderr)
        lines = proc.stdout.strip().splitlines() or ["(no output)"]
        summary = lines[-1]
        failed = [line.split(" ", 1)[1].split(" - ")[0] for line in lines if line.startswith(("FAILED ", "ERROR "))]
        runs = json.loads(timings.read_text()) if timings.exists() else {"workers": workers, "runs": {}}
    return {"wall": wall, "cpu": cpu, "exit": proc.returncode, "summary": summary, "failed": failed,
            "load_before": load_before,
            "load_after": os.getloadavg()[0], "workers": runs["workers"], "runs": runs["runs"]}


def report(result: dict[str, Any]) -> None:
    runs = result["runs"].values()
    act_total = sum(r["seconds"] for r in runs)
    print(f"suite: {result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU (process and children), "
          f"exit {result['exit']}: {result['summary']}")
    for test in result["failed"]:
        print(f"  failed: {test}")
    if result["failed"]:
        print(f"  (pytest's output: {Path(tempfile.gettempdir()) / 'behaviour-bench-last.log'})")
    print(f"  target < {TARGET:.0f} s: {'met' if result['wall'] < TARGET else 'NOT met'}; "
          f"load average {result['load_before']:.1f} before, {result['load_after']:.1f} after")
    if not runs:
        return
    print(f"  {len(result['runs'])} act runs, {act_total:.1f} s of act time in {result['workers']} workers: "
          f"{act_total / result['wall']:.1f} runs at a time on average")
    per_sample: dict[str, list[float]] = {}
    for r in runs:
        per_sample.setdefault(r["sample"], []).append(r["seconds"])
    print("  per sample (runs, total, slowest):")
    for sample, times in sorted(per_sample.items(), key=lambda kv: -sum(kv[1])):
        print(f"    {sample:22} {len(times):3}  {sum(times):6.1f} s  {max(times):5.1f} s")
    slowest = sorted(result["runs"].items(), key=lambda kv: -kv[1]["seconds"])[:5]
    print("  slowest runs: " + ", ".join(f"{k} {v['seconds']:.1f} s ({v['jobs']} jobs)" for k, v in slowest))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="times to run the suite (default 1: it takes minutes)")
    parser.add_argument("--workers", type=int, default=0, help="act runs at a time (default: CPUs + 2)")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest (e.g. -k minimal)")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()} {platform.machine()}, "
          f"Python {platform.python_version()}")
    results = []
    for i in range(args.runs):
        if args.runs > 1:
            print(f"run {i + 1}/{args.runs}")
        results.append(one_run(args.workers, args.pytest_args))
        report(results[-1])
    if args.runs > 1:
        walls = [r["wall"] for r in results]
        print(f"wall: median {statistics.median(walls):.1f} s, min {min(walls):.1f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
