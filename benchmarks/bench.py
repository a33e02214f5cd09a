#!/usr/bin/env python3
"""Whole-process benchmarks for gen-workflows: start-up, regeneration and scale.

Every number is the wall time of a separate process (never an in-process call), measured with
hyperfine when it is on PATH, else with a loop of subprocess.run (warm-up runs, then median and min),
plus the mean CPU time (user + system) of the process, for information: other work on the machine
moves it less than the wall time, though time stolen from a virtual machine still shows in it.

    python benchmarks/bench.py [--runs N] [--quick] [--json FILE] [--builtin-timer] [--keep] [--only PART]
                               [--instructions]

1. `python3 -c pass` against `gen-workflows --check` on an up-to-date copy of the largest sample
   (target: within 2x of the bare interpreter start).
2. A full regeneration of the largest sample, and of a spec of 100 images (100 workflows), each against
   `check-jsonschema --builtin-schema vendor.github-workflows` validating the same files in the same run
   (target: regeneration takes at most half as long); the regeneration again with the cache directory off
   (no kept templates or parsed spec), for information. With --instructions, each command of this part is
   also run once under valgrind (cachegrind, no cache simulation) and its instruction count compared: the
   count does not depend on what else the machine runs, so the ratio holds on a busy machine too.
3. Scale: synthetic specs with N variants (strategy qemu, build args differing), full regeneration
   for each N, a linear fit (time per variant) and whether growth looks linear.

Standard library only; the tool under test is found next to sys.executable (the virtualenv that
`pip install -e .` filled), else run as `sys.executable -m generator`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LARGEST_SAMPLE = "remote-desktop"  # the largest spec of sample-projects/
WORK = Path(tempfile.gettempdir()) / "gen-workflows-bench"  # deterministic, removed at the end
MARKER = ".gen-workflows-bench"  # only a directory holding this file is ever deleted
SCALE_N = (25, 50, 100, 200, 400)
SCALE_N_QUICK = (25, 50, 100)
MAX_VARIANTS_PER_IMAGE = 100  # schemas/multiarch.schema.json: images.<name>.variants maxProperties
MAX_IMAGES = 100  # schemas/multiarch.schema.json: images maxProperties
WIDE_PER_IMAGE = 25  # the "wide" layout: one image per 25 variants, so the shape per image is constant
REGEN_TARGET = 0.5  # regeneration / check-jsonschema on the same output
MANY_IMAGES = 100  # the second regeneration case: a workflow per image
DOCKERFILE = "FROM alpine:3.20\nARG FLAVOUR=plain\nRUN echo \"$FLAVOUR\" > /flavour\n"


# --------------------------------------------------------------------------- commands under test


def _script_interpreter(script: Path) -> str | None:
    """The interpreter a console script's shebang names, if it is a readable absolute path."""
    try:
        with script.open("rb") as handle:
            first = handle.readline(512).decode("utf-8", "replace").strip()
    except OSError:
        return None
    if not first.startswith("#!"):
        return None
    words = first[2:].split()
    if words and os.path.isabs(words[0]) and "python" in os.path.basename(words[0]) and os.access(words[0], os.X_OK):
        return words[0]
    return None


def find_tools() -> dict[str, Any]:
    """The gen-workflows command, the interpreter that runs it, and check-jsonschema (or None)."""
    bindir = Path(sys.executable).parent
    exe = bindir / ("gen-workflows.exe" if os.name == "nt" else "gen-workflows")
    if exe.is_file() and os.access(exe, os.X_OK):
        gen = [str(exe)]
        python = _script_interpreter(exe) or sys.executable
    else:
        gen = [sys.executable, "-m", "generator"]
        python = sys.executable
    schema = bindir / "check-jsonschema"
    check_jsonschema = str(schema) if schema.is_file() else shutil.which("check-jsonschema")
    return {"gen": gen, "python": python, "check_jsonschema": check_jsonschema}


def tool_version(gen: Sequence[str], env: dict[str, str]) -> str:
    done = subprocess.run([*gen, "--version"], capture_output=True, text=True, env=env, check=False)
    return (done.stdout or done.stderr).strip() or f"unknown (exit {done.returncode})"


def checkout_state() -> str | None:
    """`<commit>[+dirty]` of the checkout, read-only, or None outside a git checkout."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        return None
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)
    if head.returncode != 0:
        return None
    status = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                            capture_output=True, text=True, check=False)
    return head.stdout.strip() + ("+dirty" if status.stdout.strip() else "")


# --------------------------------------------------------------------------- timing


class Timer:
    """Times whole commands with hyperfine (JSON export) or, without it, a subprocess.run loop."""

    def __init__(self, runs: int, warmup: int, env: dict[str, str], *, builtin: bool) -> None:
        self.runs, self.warmup, self.env = runs, warmup, env
        self.hyperfine = None if builtin else shutil.which("hyperfine")
        self.scratch = WORK / "hyperfine"

    def describe(self) -> str:
        how = f"{self.runs} runs after {self.warmup} warm-up(s)"
        if self.hyperfine:
            version = subprocess.run([self.hyperfine, "--version"], capture_output=True, text=True, check=False)
            return f"{version.stdout.strip() or 'hyperfine'} (-N, --export-json), {how}"
        return f"built-in subprocess.run loop (perf_counter), {how}"

    def time(self, name: str, cmd: Sequence[str], *, prepare: Path | None = None) -> dict[str, Any]:
        """Time `cmd`; `prepare`, when given, is a directory deleted (untimed) before every run."""
        print(f"  timing {name} ...", file=sys.stderr, flush=True)
        times, cpu = self._hyperfine(name, cmd, prepare) if self.hyperfine else self._loop(cmd, prepare)
        return {"name": name, "command": shlex.join(cmd), "runs": len(times), "times_s": times,
                "median_s": statistics.median(times), "min_s": min(times), "mean_s": statistics.fmean(times),
                "stdev_s": statistics.stdev(times) if len(times) > 1 else 0.0,
                "cpu_s": cpu}  # mean user + system seconds

    def _hyperfine(self, name: str, cmd: Sequence[str], prepare: Path | None) -> tuple[list[float], float | None]:
        assert self.hyperfine is not None
        self.scratch.mkdir(parents=True, exist_ok=True)
        export = self.scratch / "result.json"
        argv = [self.hyperfine, "-N", "--style", "none", "--runs", str(self.runs), "--warmup", str(self.warmup),
                "--export-json", str(export), "--command-name", name]
        if prepare is not None:
            argv += ["--prepare", shlex.join(["rm", "-rf", str(prepare)])]
        argv.append(shlex.join(cmd))
        done = subprocess.run(argv, capture_output=True, text=True, env=self.env, check=False)
        if done.returncode != 0:
            raise BenchError(f"hyperfine failed on {name!r} (exit {done.returncode}):\n{done.stderr.strip()}")
        result = json.loads(export.read_text(encoding="utf-8"))["results"][0]
        return [float(t) for t in result["times"]], float(result["user"]) + float(result["system"])

    def _loop(self, cmd: Sequence[str], prepare: Path | None) -> tuple[list[float], float | None]:
        times: list[float] = []
        cpu: list[float] = []
        for i in range(self.warmup + self.runs):
            if prepare is not None:
                shutil.rmtree(prepare, ignore_errors=True)
            before = _children_cpu()
            start = time.perf_counter()
            done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env,
                                  check=False)
            elapsed = time.perf_counter() - start
            after = _children_cpu()
            if done.returncode != 0:
                raise BenchError(f"{shlex.join(cmd)} exited {done.returncode}")
            if i >= self.warmup:
                times.append(elapsed)
                if before is not None and after is not None:
                    cpu.append(after - before)
        return times, statistics.fmean(cpu) if cpu else None


def _children_cpu() -> float | None:
    """User + system seconds of the waited-for children so far (None where `resource` is missing)."""
    try:
        import resource
    except ImportError:
        return None
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class BenchError(Exception):
    pass


def run_checked(cmd: Sequence[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    """Run once (untimed) and insist on exit 0, so a broken tool is not benchmarked as a fast one."""
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise BenchError(f"{what}: {shlex.join(cmd)} exited {done.returncode}\n{done.stderr.strip()}")
    return done


# --------------------------------------------------------------------------- fixtures


def prepare_workdir() -> None:
    if WORK.exists():
        if not (WORK / MARKER).exists():
            raise BenchError(f"{WORK} exists and was not made by this script; remove it or move it away")
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    (WORK / MARKER).write_text("scratch directory of benchmarks/bench.py; safe to delete\n", encoding="utf-8")


def copy_sample(name: str, dest: Path) -> Path:
    shutil.copytree(REPO / "sample-projects" / name, dest)
    return dest


def workflow_files(root: Path) -> list[Path]:
    directory = root / ".github" / "workflows"
    return sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml")) if directory.is_dir() else []


def layout(n: int, kind: str) -> list[int]:
    """Variants per image for N variants: `deep` packs up to the schema's limit into each image,
    `wide` gives every image WIDE_PER_IMAGE variants (a constant shape, so only the count grows)."""
    per = MAX_VARIANTS_PER_IMAGE if kind == "deep" else WIDE_PER_IMAGE
    images = -(-n // per)
    if images > MAX_IMAGES:
        raise BenchError(f"N={n} needs {images} images; the schema allows {MAX_IMAGES}")
    base, extra = divmod(n, images)  # spread evenly: 200 -> 100 + 100, never 100 + 100 + 0
    return [base + (1 if i < extra else 0) for i in range(images)]


def write_synthetic(root: Path, n: int, kind: str) -> int:
    """A repository whose spec has N variants (differing by a build arg), strategy qemu; returns #images."""
    (root / ".github").mkdir(parents=True)
    (root / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    lines = ["# Synthetic spec written by benchmarks/bench.py", "version: 1", "defaults:",
             "  strategy: qemu", "  platforms: [amd64, arm64]", "images:"]
    counts = layout(n, kind)
    v = 0
    for i, count in enumerate(counts):
        lines += [f"  img{i:03d}:", "    variants:"]
        for _ in range(count):
            lines.append(f"      v{v:04d}: {{build-args: {{FLAVOUR: flavour{v:04d}}}}}")
            v += 1
    (root / ".github" / "multiarch.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(counts)


# --------------------------------------------------------------------------- report helpers


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def row(result: dict[str, Any], width: int = 62) -> str:
    cpu = f"   cpu {ms(result['cpu_s'])}" if result.get("cpu_s") is not None else ""
    return f"    {result['name']:<{width}} median {ms(result['median_s'])}   min {ms(result['min_s'])}{cpu}"


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    """Least squares y = a + b x; returns (a, b)."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return my - b * mx, b


def growth(points: dict[int, float], noise: dict[int, float]) -> dict[str, Any]:
    """Ratios t(2N)/t(N), and the marginal cost per variant of each doubling: that ratio is ~1 when
    the time is linear (fixed cost + per-variant cost), ~2 when it is quadratic. `noise` is each
    point's standard error: a doubling whose time difference is within twice that says nothing."""
    ns = sorted(points)
    doublings = [(n, 2 * n) for n in ns if 2 * n in points]
    ratios = {f"t({b})/t({a})": points[b] / points[a] for a, b in doublings}
    marginal = {f"{a}->{b}": (points[b] - points[a]) / (b - a) for a, b in doublings}
    verdict = "not enough points"
    if len(doublings) >= 2:
        (a1, b1), (a2, b2) = doublings[-2], doublings[-1]
        m1, m2 = marginal[f"{a1}->{b1}"], marginal[f"{a2}->{b2}"]
        change = m2 / m1 if m1 > 0 else float("nan")
        gates = [2 * (noise[a] ** 2 + noise[b] ** 2) ** 0.5 for a, b in ((a1, b1), (a2, b2))]
        if points[b1] - points[a1] <= gates[0] or points[b2] - points[a2] <= gates[1]:
            verdict = (f"inconclusive: a doubling adds less than twice its standard error ({gates[0] * 1000:.0f}, "
                       f"{gates[1] * 1000:.0f} ms); try larger N or more runs on a quieter machine")
        elif change <= 1.3:
            verdict = f"linear (marginal cost per variant x{change:.2f} from {a1}->{b1} to {a2}->{b2})"
        elif change >= 1.7:
            verdict = f"superlinear, close to quadratic (marginal cost per variant x{change:.2f})"
        else:
            verdict = f"somewhat superlinear (marginal cost per variant x{change:.2f})"
    return {"ratios": ratios, "marginal_s_per_variant": marginal, "verdict": verdict}


# --------------------------------------------------------------------------- the benchmarks


def bench_startup(timer: Timer, tools: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    root = copy_sample(LARGEST_SAMPLE, WORK / "startup")
    run_checked([*tools["gen"], "-C", str(root)], env, "regeneration of the sample")  # one regeneration
    run_checked([*tools["gen"], "--check", "-C", str(root)], env, "--check on the regenerated sample")
    bare = timer.time(f"{Path(tools['python']).name} -c pass", [tools["python"], "-c", "pass"])
    check = timer.time(f"gen-workflows --check ({LARGEST_SAMPLE}, up to date)",
                       [*tools["gen"], "--check", "-C", str(root)])
    out: dict[str, Any] = {"bare": bare, "check": check, "ratio": check["median_s"] / bare["median_s"]}
    # The same check with the up-to-date record (generator/fast.py) switched off: the full path.
    full_env = {**env, "GEN_WORKFLOWS_NO_CACHE": "1"}
    full_timer = Timer(timer.runs, timer.warmup, full_env, builtin=timer.hyperfine is None)
    full = full_timer.time("gen-workflows --check, full path (GEN_WORKFLOWS_NO_CACHE=1)",
                           [*tools["gen"], "--check", "-C", str(root)])
    out["check_full"] = full
    out["ratio_full"] = full["median_s"] / bare["median_s"]
    return out


def write_many_images(root: Path, images: int = MANY_IMAGES) -> None:
    """A repository whose spec has `images` images, each in its own workflow: the strategies in turn (qemu,
    native, buildx), three platforms, two registries, version tags: the shapes a large spec holds."""
    (root / ".github").mkdir(parents=True)
    (root / "Dockerfile").write_text(DOCKERFILE, encoding="utf-8")
    lines = ["# Synthetic spec written by benchmarks/bench.py", "version: 1", "registries:",
             "  - {type: ghcr, namespace: acme}", "  - {type: dockerhub, namespace: acme}",
             "triggers: {branches: [main], tags: ['v*']}", "defaults:", "  platforms: [amd64, arm64, armv7]",
             "  tags: [branch, version, major.minor, sha]", "images:"]
    for i in range(images):
        strategy = ("qemu", "native", "buildx")[i % 3]
        lines.append(f"  img{i:03d}: {{strategy: {strategy}, build-args: {{FLAVOUR: flavour{i:03d}}}}}")
    (root / ".github" / "multiarch.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def count_instructions(cmd: Sequence[str], env: dict[str, str], *, prepare: Path | None = None) -> int:
    """Instructions the process executes (valgrind's cachegrind, `I refs`), after deleting `prepare`."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise BenchError("--instructions needs valgrind on PATH (apt-get install valgrind)")
    if prepare is not None:
        shutil.rmtree(prepare, ignore_errors=True)
    log = WORK / "valgrind.log"
    done = subprocess.run([valgrind, "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           f"--log-file={log}", *cmd], capture_output=True, env=env, check=False)
    found = re.search(r"I\s+refs:\s+([\d,]+)", log.read_text(encoding="utf-8", errors="replace"))
    if done.returncode != 0 or found is None:
        raise BenchError(f"valgrind on {shlex.join(cmd)} failed (exit {done.returncode})")
    return int(found.group(1).replace(",", ""))


def bench_regen_vs_schema(timer: Timer, tools: dict[str, Any], env: dict[str, str], *,
                          instructions: bool = False) -> dict[str, Any]:
    """Each case: a full regeneration (workflows deleted before every run), then check-jsonschema on a copy
    of the same output, timed one after the other in this run."""
    many = WORK / "regen-many"
    write_many_images(many)
    cases = [(LARGEST_SAMPLE, copy_sample(LARGEST_SAMPLE, WORK / "regen")), (f"{MANY_IMAGES} images", many)]
    return {"cases": [_regen_case(timer, tools, env, name, root, instructions=instructions)
                      for name, root in cases]}


def _regen_case(timer: Timer, tools: dict[str, Any], env: dict[str, str], name: str, regen_root: Path, *,
                instructions: bool = False) -> dict[str, Any]:
    shutil.rmtree(regen_root / ".github" / "workflows", ignore_errors=True)
    run_checked([*tools["gen"], "-C", str(regen_root)], env, f"regeneration of {name}")
    files = workflow_files(regen_root)
    if not files:
        raise BenchError(f"the regeneration of {name} wrote no workflow")
    # check-jsonschema validates a separate copy, so deleting the regeneration's output cannot race it.
    validated = WORK / f"validated-{regen_root.name}"
    validated.mkdir()
    for path in files:
        shutil.copy2(path, validated / path.name)
    targets = [str(validated / p.name) for p in files]
    regen = timer.time(f"gen-workflows ({name}, workflows deleted)", [*tools["gen"], "-C", str(regen_root)],
                       prepare=regen_root / ".github" / "workflows")
    # The same with the cache directory switched off (no kept templates or parsed spec): a first run.
    cold_timer = Timer(timer.runs, timer.warmup, {**env, "GEN_WORKFLOWS_NO_CACHE": "1"},
                       builtin=timer.hyperfine is None)
    cold = cold_timer.time(f"gen-workflows ({name}, cache off: GEN_WORKFLOWS_NO_CACHE=1)",
                           [*tools["gen"], "-C", str(regen_root)], prepare=regen_root / ".github" / "workflows")
    out: dict[str, Any] = {"case": name, "files": [p.name for p in files],
                           "bytes": sum(p.stat().st_size for p in files), "regen": regen, "regen_cold": cold}
    if tools["check_jsonschema"] is None:
        out["skipped"] = "check-jsonschema not found (pip install -e '.[test]')"
        return out
    cmd = [tools["check_jsonschema"], "--builtin-schema", "vendor.github-workflows", *targets]
    run_checked(cmd, env, f"check-jsonschema on the regenerated workflows of {name}")
    schema = timer.time(f"check-jsonschema vendor.github-workflows ({len(targets)} file(s))", cmd)
    out["schema"] = schema
    out["ratio"] = regen["median_s"] / schema["median_s"]
    out["ratio_cold"] = cold["median_s"] / schema["median_s"]
    if instructions:
        print(f"  counting instructions ({name}) ...", file=sys.stderr, flush=True)
        regen_ir = count_instructions([*tools["gen"], "-C", str(regen_root)], env,
                                      prepare=regen_root / ".github" / "workflows")
        schema_ir = count_instructions(cmd, env)
        out["instructions"] = {"regen": regen_ir, "schema": schema_ir, "ratio": regen_ir / schema_ir}
    return out


def bench_scale(timer: Timer, tools: dict[str, Any], env: dict[str, str], ns: Sequence[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("deep", "wide"):
        series: dict[str, Any] = {"points": []}
        for n in ns:
            root = WORK / f"scale-{kind}-{n}"
            images = write_synthetic(root, n, kind)
            run_checked([*tools["gen"], "-C", str(root)], env, f"regeneration of the synthetic spec N={n}")
            outputs = workflow_files(root)
            result = timer.time(f"{kind} N={n:<3} ({images} image(s), {len(outputs)} workflow(s))",
                                [*tools["gen"], "-C", str(root)], prepare=root / ".github" / "workflows")
            result.update(n=n, images=images, workflows=len(outputs),
                          bytes=sum(p.stat().st_size for p in outputs))
            series["points"].append(result)
        # Fitted on the median and on the minimum (the least disturbed by other work on the machine);
        # the noise gate is the standard error of a median, about 1.25 sigma / sqrt(runs).
        for stat in ("median", "min"):
            points = {p["n"]: p[f"{stat}_s"] for p in series["points"]}
            a, b = linear_fit(list(points), list(points.values()))
            noise = {p["n"]: 1.25 * p["stdev_s"] / p["runs"] ** 0.5 for p in series["points"]}
            series[stat] = {"fit_intercept_s": a, "fit_s_per_variant": b, **growth(points, noise)}
        out[kind] = series
    return out


# --------------------------------------------------------------------------- main


def _load() -> float | None:
    """The 1-minute load average: other work on the machine is the main source of noise."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def report(results: dict[str, Any]) -> str:
    machine = results["machine"]
    load = f", load {machine['load_before']:.2f} before the run" if machine["load_before"] is not None else ""
    lines = [f"machine: {machine['cpus']} CPU(s), {machine['platform']}, "
             f"Python {machine['python_version']} ({results['tool']['python']}){load}",
             f"tool:    {results['tool']['version']} ({shlex.join(results['tool']['command'])})"
             + (f", checkout {results['tool']['checkout']}" if results["tool"]["checkout"] else ""),
             f"timer:   {results['timer']}; bytecode cached under PYTHONPYCACHEPREFIX (scratch directory)", ""]
    s = results.get("startup")
    if s:
        lines += ["1. start-up: bare interpreter vs --check on an up-to-date repository (target: <= 2x)",
                  row(s["bare"]), row(s["check"]), row(s["check_full"]),
                  f"    ratio --check / bare start: {s['ratio']:.2f}x "
                  f"({'meets' if s['ratio'] <= 2 else 'misses'} the 2x target); "
                  f"full path: {s['ratio_full']:.1f}x; on min: {s['check']['min_s'] / s['bare']['min_s']:.2f}x", ""]
    regen_cases = (results.get("regen_vs_schema") or {}).get("cases", [])
    if regen_cases:
        lines.append(f"2. full regeneration vs check-jsonschema on the same output (target: <= {REGEN_TARGET}x)")
    for r in regen_cases:
        lines += [f"  {r['case']}: {len(r['files'])} file(s), {r['bytes'] // 1024} KiB", row(r["regen"]),
                  row(r["regen_cold"])]
        if "schema" in r:
            lines += [row(r["schema"]), f"    ratio regeneration / check-jsonschema: {r['ratio']:.2f}x "
                      f"({'meets' if r['ratio'] <= REGEN_TARGET else 'misses'} the target); on min: "
                      f"{r['regen']['min_s'] / r['schema']['min_s']:.2f}x; cache off: {r['ratio_cold']:.2f}x"]
            if "instructions" in r:
                ir = r["instructions"]
                lines.append(f"    instructions (valgrind): regeneration {ir['regen'] / 1e6:,.0f} M, check-jsonschema "
                             f"{ir['schema'] / 1e6:,.0f} M, ratio {ir['ratio']:.2f}x "
                             f"({'meets' if ir['ratio'] <= REGEN_TARGET else 'misses'} the target)")
        else:
            lines.append(f"    check-jsonschema: skipped, {r['skipped']}")
    if regen_cases:
        lines.append("")
    sc = results.get("scale")
    if sc:
        lines.append("3. scale: full regeneration of synthetic specs, N variants differing by a build arg, "
                     "strategy qemu")
        lines.append(f"    deep = up to {MAX_VARIANTS_PER_IMAGE} variants per image (one image up to N=100); "
                     f"wide = {WIDE_PER_IMAGE} variants per image")
        lines.append("    linear: t(2N)/t(N) < 2 because of the fixed start-up cost, and the marginal cost per "
                     "variant stays flat (~2x per doubling would be quadratic)")
        for kind, series in sc.items():
            for p in series["points"]:
                lines.append(row(p) + f"   {p['bytes'] // 1024:>5} KiB out")
            for stat in ("median", "min"):
                g = series[stat]
                last = list(g["ratios"].items())[-2:]
                ratios = ", ".join(f"{k} = {v:.2f}" for k, v in last)
                marginal = " / ".join(f"{v * 1000:.2f}" for v in list(g["marginal_s_per_variant"].values())[-2:])
                lines += [f"    {kind}, {stat + ':':<7} {g['fit_intercept_s'] * 1000:4.0f} ms "
                          f"{g['fit_s_per_variant'] * 1000:+.2f} ms x N; {ratios}; marginal ms/variant {marginal}",
                          f"      -> {g['verdict']}"]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=None, help="timed runs per command [default: 10, --quick 3]")
    parser.add_argument("--quick", action="store_true",
                        help=f"fewer runs and N in {SCALE_N_QUICK} instead of {SCALE_N}")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement to FILE")
    parser.add_argument("--builtin-timer", action="store_true", help="use the subprocess loop even with hyperfine")
    parser.add_argument("--keep", action="store_true", help=f"keep {WORK} for inspection")
    parser.add_argument("--instructions", action="store_true",
                        help="also count the instructions of part 2's commands under valgrind (slow, load-proof)")
    parser.add_argument("--only", choices=("startup", "regen", "scale"), action="append",
                        help="run only this part (repeatable)")
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 10)
    if runs < 1:
        parser.error("--runs must be at least 1")
    warmup = 1 if args.quick else 2
    ns = SCALE_N_QUICK if args.quick else SCALE_N
    parts = set(args.only or ("startup", "regen", "scale"))

    tools = find_tools()
    env = {**os.environ, "NO_COLOR": "1",
           # The up-to-date record of generator/fast.py goes into the scratch directory, not ~/.cache.
           "GEN_WORKFLOWS_CACHE_DIR": str(WORK / "cache"),
           # Compiled bytecode too: an editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise
           # compile generator/ from source on every run, which no installed copy does.
           "PYTHONPYCACHEPREFIX": str(WORK / "pycache")}
    for name in ("GEN_WORKFLOWS_NO_CACHE", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    timer = Timer(runs, warmup, env, builtin=args.builtin_timer)
    try:
        prepare_workdir()  # first: the commands below already write bytecode under it
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    python_version = subprocess.run([tools["python"], "-c", "import sys; print(sys.version.split()[0])"],
                                    capture_output=True, text=True, check=False).stdout.strip()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python_version": python_version,
                    "load_before": _load()},
        "tool": {"command": tools["gen"], "python": tools["python"], "version": tool_version(tools["gen"], env),
                 "checkout": checkout_state(), "check_jsonschema": tools["check_jsonschema"]},
        "timer": timer.describe(), "quick": args.quick, "runs": runs, "warmup": warmup,
    }
    steps: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
        ("startup", "startup", lambda: bench_startup(timer, tools, env)),
        ("regen", "regen_vs_schema", lambda: bench_regen_vs_schema(timer, tools, env, instructions=args.instructions)),
        ("scale", "scale", lambda: bench_scale(timer, tools, env, ns)),
    ]
    try:
        for part, key, step in steps:
            if part in parts:
                print(f"{part}:", file=sys.stderr, flush=True)
                results[key] = step()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep and (WORK / MARKER).exists():
            shutil.rmtree(WORK, ignore_errors=True)
    print(report(results), end="")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"results written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
