"""Robustness: generated specs (valid and broken), hostile strings, bounded input, the file system,
concurrent runs and determinism. A bug found here stays as an `xfail(strict=True, reason="bug: ...")`
test, so the suite stays green and turns red the day the bug is fixed (then drop the mark)."""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from generator.cli import main
from generator.filters import glob_problem, path_problem
from generator.platforms import ACCEPTED

from .conftest import SAMPLES, snapshot
from .shape import ENGINE, Generated, from_texts, generated

SPEC = ".github/multiarch.yaml"
WORKFLOWS = ".github/workflows"
BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = "FROM alpine:3.22 AS base\nRUN apk add --no-cache ca-certificates\nFROM base AS runtime\n"
# A located problem (in the spec, or in a Dockerfile it names), or its hint: the only shapes stderr may
# take when a spec is refused.
PROBLEM_LINE = re.compile(r"(?:\.github/multiarch\.yaml|(?:[\w.-]+/)*[\w.-]*Dockerfile):[0-9]+:[0-9]+: \S.*|  hint: .*")


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The up-to-date fast path records runs in a cache directory: keep this module's out of ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEN_WORKFLOWS_CACHE_DIR", str(tmp_path_factory.mktemp("gen-workflows-cache")))
        yield


# ------------------------------------------------------------------------------------------ helpers


def invoke(*args: str) -> tuple[int, str, str]:
    """main() in-process with its output captured (no pytest fixture, so hypothesis can call it)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def yq(text: str) -> str:
    """A double-quoted YAML scalar that reads back as exactly `text`. Written here rather than with the
    product's quoting (it would test itself) or ruamel's dumper (which writes U+0085 raw, read back as a
    line break)."""
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def to_yaml(value: Any) -> str:
    """Flow-style YAML for specs built as data (one line; every string double-quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return yq(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{yq(k)}: {to_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(to_yaml(v) for v in value) + "]"
    raise TypeError(value)


def load_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def make_repo(root: Path, spec_text: str, files: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, text in {SPEC: spec_text, "Dockerfile": DOCKERFILE, **(files or {})}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def workflows(root: Path) -> dict[str, str]:
    directory = root / WORKFLOWS
    return {p.name: p.read_text("utf-8") for p in sorted(directory.glob("*.yml"))} if directory.is_dir() else {}


def strings_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings_in(item)
    elif isinstance(node, str):
        yield node


def steps_of(wf: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every step of a workflow's jobs. A build workflow's jobs only call the engine: they have none."""
    for job_id, job in wf["jobs"].items():
        assert "steps" in job or "uses" in job, f"{job_id} neither runs steps nor calls a workflow"
        yield from job.get("steps", ())


def step_using(wf: dict[str, Any], action: str) -> dict[str, Any]:
    return next(s for s in steps_of(wf) if s.get("uses", "").startswith(action + "@"))


def run_scripts(wf: dict[str, Any]) -> list[str]:
    return [s["run"] for s in steps_of(wf) if "run" in s]


def assert_refusal_is_well_formed(code: int, out: str, err: str, before: dict[str, bytes],
                                  after: dict[str, bytes]) -> None:
    """Exit 2: every stderr line a located problem or its hint, nothing written, no traceback."""
    assert code == 2, (code, err)
    assert err, "a refusal says why"
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    for line in err.split("\n")[:-1]:
        assert PROBLEM_LINE.fullmatch(line), f"malformed stderr line {line!r} in:\n{err}"
    assert after == before, "a refused spec must write nothing"


def tool(name: str) -> str:
    path = shutil.which(name, path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if path is None:
        pytest.fail(f"{name} is not installed; `pip install -e '.[test]'` (and shellcheck) provide it")
    return path


def lint(files: list[Path], labels: set[str], scratch: Path) -> None:
    """actionlint (with shellcheck when present) and zizmor (pedantic) find nothing. `labels`: the
    self-hosted runner labels the spec names, which actionlint must be told about."""
    config = scratch / "actionlint.yaml"
    config.write_text(to_yaml({"self-hosted-runner": {"labels": sorted(labels)}}) + "\n", "utf-8")
    shellcheck = shutil.which("shellcheck")
    proc = subprocess.run([tool("actionlint"), "-config-file", str(config),
                           *(["-shellcheck", shellcheck] if shellcheck else []), *map(str, files)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = subprocess.run([tool("zizmor"), "--offline", "--no-progress", "--persona=pedantic", "--format=plain",
                           *map(str, files)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout, proc.stdout


# ------------------------------------------------------------------------------------------ valid specs

# Canonical platforms, each with some of the aliases the schema accepts (one spelling per platform in a list).
PLATFORMS = {
    "linux/amd64": ("linux/amd64", "amd64", "x86_64", "x86-64", "x64"),
    "linux/arm64": ("linux/arm64", "arm64", "aarch64", "linux/arm64/v8", "arm64v8"),
    "linux/arm/v7": ("linux/arm/v7", "armv7", "armhf", "arm/v7"),
    "linux/386": ("linux/386", "i386", "386"),
    "linux/ppc64le": ("linux/ppc64le", "ppc64le"),
    "linux/riscv64": ("linux/riscv64", "riscv64"),
}
CONTEXTS = (".", "app", "svc/api", "dir with space", "ünï-cöde", "#hash: x")
HOSTILE_SAMPLES = (
    "it's", 'say "hi"', "a #b", "#x", "key: value", "{{ x }}", "*star", "&amp", "!bang", "- dash", "café", "\U0001f600",
    "tab\there", "", " ", "yes", "1.20", "0x1F", "~", "null", "\\", "a,b", "%x", "@x", "`x`", "[x]", "{x}",
)
# One line of text: the spec refuses line breaks and control characters (and says so by path, see the injection
# tests), and text is all `FREE_TEXT` may hold.
ONE_LINE = st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp"))  # Cf: invisible, refused by the rules
FREE_TEXT = st.one_of(st.sampled_from(HOSTILE_SAMPLES), st.text(ONE_LINE, max_size=24)).filter(lambda s: "${{" not in s)
# Branch and tag filters: a ref name or a glob of one, so no white space, '~', '^', ':' or '\\'.
REF_CHARS = st.characters(exclude_categories=("Cs", "Cc", "Cf", "Zl", "Zp", "Zs"), exclude_characters="~^:\\\x85")
HOSTILE_REFS = st.one_of(
    st.sampled_from(("it's", 'say"hi"', "#x", "a#b", "{{x}}", "*star", "&amp", "!bang", "-dash", "café", "\U0001f600",
                     "[x]", "{x}", "a,b", "yes", "1.20", "?", "@")),
    st.text(REF_CHARS, min_size=1, max_size=24),
).filter(lambda s: "${{" not in s and re.fullmatch(r"[^\s~^:\\]+", s) is not None and not glob_problem(s, ref=True))
NAME = st.from_regex(r"[a-z0-9]{1,6}([._-][a-z0-9]{1,3}){0,2}", fullmatch=True)
# No '.': see the job-ID bug. A leading digit is fine (test_call_ids_are_valid_for_names_starting_with_a_digit).
TAME_NAME = st.from_regex(r"[a-z0-9][a-z0-9]{0,5}([_-][a-z0-9]{1,3}){0,2}", fullmatch=True)
TAME_REFS = st.one_of(st.sampled_from(("main", "release/*", "v*.*.*", "feature/**", "dev")),
                      st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,20}", fullmatch=True))
BUILD_ARG_VALUE = st.one_of(FREE_TEXT, st.integers(-(10**12), 10**12), st.booleans())
BUILD_ARGS = st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), BUILD_ARG_VALUE,
                             max_size=3)
TARGET = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,10}", fullmatch=True)
# metadata-action splits a tag rule on commas: a pattern holds only these (the schema's pattern).
SEMVER_PATTERN = st.one_of(st.sampled_from(("{{version}}", "v{{major}}.{{minor}}", "{{major}}", "{{raw}}")),
                           st.from_regex(r"[A-Za-z0-9_.{}+-]{1,20}", fullmatch=True))
RAW_TAG = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}", fullmatch=True)
LABEL = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,12}", fullmatch=True)


@st.composite
def platform_lists(draw: st.DrawFn) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(PLATFORMS)), min_size=1, max_size=3, unique=True))
    return [draw(st.sampled_from(PLATFORMS[p])) for p in chosen]


def tag_rules(free: st.SearchStrategy[str]) -> st.SearchStrategy[list[Any]]:
    rule = st.one_of(
        st.sampled_from(["branch", "sha", "edge", "version", "major.minor", "major", "pr", "schedule"]),
        st.builds(lambda t: {"raw": t}, RAW_TAG),
        st.builds(lambda p: {"semver": p}, SEMVER_PATTERN),
    )
    # A rule that fires on every run (sha, raw): a run that publishes must tag (tag_triggers.py).
    return st.lists(rule, min_size=1, max_size=4).map(
        lambda rules: rules if any(r == "sha" or (isinstance(r, dict) and "raw" in r) for r in rules)
        else [*rules, "sha"])


@st.composite
def build_keys(draw: st.DrawFn, free: st.SearchStrategy[str]) -> dict[str, Any]:
    """Keys an image and its variants share."""
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["strategy"] = draw(st.sampled_from(["qemu", "native", "buildx"]))
    if draw(st.booleans()):
        out["platforms"] = draw(platform_lists())
    if draw(st.booleans()):
        out["build-args"] = draw(BUILD_ARGS)
    if draw(st.integers(0, 3)) == 0:
        out["target"] = draw(TARGET)
    if draw(st.integers(0, 3)) == 0:
        out["tags"] = draw(tag_rules(free))
    if draw(st.integers(0, 4)) == 0:
        out["cache"] = draw(st.sampled_from(["gha", "registry", "none"]))
    if draw(st.integers(0, 4)) == 0:
        # One label: lists of labels crash native builds (test_runner_label_lists_render).
        out["runners"] = {draw(st.sampled_from(PLATFORMS["linux/arm64"])): draw(LABEL)}
    return out


@st.composite
def valid_specs(draw: st.DrawFn, *, tame: bool = False) -> dict[str, Any]:
    """A spec the schema and the semantic checks accept, with hostile text wherever free text is allowed.
    tame: branch, tag and path filters are ref-like, names have no '.' (for actionlint, which checks globs and
    job IDs)."""
    free = FREE_TEXT
    refs = TAME_REFS if tame else HOSTILE_REFS
    names = TAME_NAME if tame else NAME
    spec: dict[str, Any] = {"version": 1}
    namespace = draw(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True))
    registries = [{"type": "ghcr", "namespace": namespace}]
    if draw(st.booleans()):
        registries.append({"type": "dockerhub", "namespace": namespace + "hub"})
    if draw(st.booleans()):
        registries.reverse()
    spec["registries"] = registries
    triggers: dict[str, Any] = {"branches": draw(st.lists(refs, min_size=1, max_size=3))}
    if draw(st.booleans()):
        triggers["tags"] = draw(st.lists(refs, min_size=1, max_size=2))
    if draw(st.booleans()):
        triggers["pull-requests"] = draw(st.booleans())
        triggers["manual"] = draw(st.booleans())
    spec["triggers"] = triggers
    if draw(st.booleans()):
        spec["defaults"] = {"platforms": draw(platform_lists()),
                            "strategy": draw(st.sampled_from(["qemu", "native", "buildx"]))}
    else:
        spec["defaults"] = {"strategy": "qemu"}  # never `auto`: it needs the optional Dockerfile parser
    images: dict[str, Any] = {}
    for name in draw(st.lists(names, min_size=1, max_size=4, unique=True)):
        image = draw(build_keys(free))
        context = draw(st.sampled_from(CONTEXTS))
        if context != "." or draw(st.booleans()):
            image["context"] = context
        if draw(st.integers(0, 3)) == 0:
            image["dockerfile"] = draw(st.sampled_from([f"{context}/alt.Dockerfile", "docker/x.Dockerfile"]))
        if draw(st.integers(0, 3)) == 0:
            image["repository"] = f"{name}--r"  # image names never hold "--": no collision with another image
        if images and draw(st.integers(0, 3)) == 0:
            image["from"] = next(iter(images))  # the first image never has `from:`, so no cycle
        if draw(st.integers(0, 4)) == 0:
            image["paths"] = draw(st.lists((TAME_REFS if tame else free).filter(lambda p: not path_problem(p)),
                                           min_size=1, max_size=2).filter(lambda ps: not all(p[0] == "!" for p in ps)))
        if draw(st.integers(0, 4)) == 0:
            image["per-arch-tags"] = True
        if draw(st.booleans()):
            variants = {}
            for vname in draw(st.lists(names, min_size=1, max_size=3, unique=True)):
                variant = draw(build_keys(free))
                if draw(st.integers(0, 4)) == 0:
                    variant["context"] = draw(st.sampled_from(CONTEXTS))
                variants[vname] = variant
            image["variants"] = variants
        images[name] = image
    for image in images.values():
        if "from" in image:  # an input builds every platform of the builds made from it
            base = images[image["from"]]
            primary = next((v for v in base.get("variants", {}).values() if v.get("primary")),
                           next(iter(base.get("variants", {}).values()), {}))
            image["platforms"] = primary.get("platforms", base.get("platforms", spec["defaults"].get(
                "platforms", ["linux/amd64", "linux/arm64"])))
            for variant in image.get("variants", {}).values():
                variant.pop("platforms", None)
    spec["images"] = images
    return spec


def repo_files() -> dict[str, str]:
    """A Dockerfile (and an alternative one) in every context the strategies use."""
    files = {"docker/x.Dockerfile": DOCKERFILE}
    for context in CONTEXTS:
        files[f"{context}/Dockerfile"] = DOCKERFILE
        files[f"{context}/alt.Dockerfile"] = DOCKERFILE
    return files


def arg_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def user_values_hold(spec: dict[str, Any], parsed: dict[str, dict[str, Any]]) -> None:
    """Every user value the spec wrote appears unchanged in the parsed workflows."""
    texts = [s for wf in parsed.values() for s in strings_in(wf)]
    exact = set(texts)

    def somewhere(fragment: str) -> bool:
        return any(fragment in text for text in texts)

    triggers = spec["triggers"]
    assert "workflow_call" in parsed[ENGINE]["on"], "the engine: called by the build workflows, never triggered"
    builds = [wf for name, wf in parsed.items() if name != ENGINE]
    assert builds
    for wf in builds:
        assert wf["on"]["push"]["branches"] == triggers["branches"]
        assert wf["on"]["push"].get("tags", ["v*"]) == triggers.get("tags", ["v*"])
        if triggers.get("pull-requests", True):
            assert wf["on"]["pull_request"]["branches"] == triggers["branches"]
    for reg in spec["registries"]:
        host = "ghcr.io" if reg["type"] == "ghcr" else "docker.io"
        assert somewhere(f"{host}/{reg['namespace']}/"), reg
    for name, image in spec["images"].items():
        own = {k: v for k, v in image.items() if k != "variants"}
        # What each build is made of: the image's keys, overridden by its variant's (build-args merged).
        units = [{**own, **variant, "build-args": {**own.get("build-args", {}), **variant.get("build-args", {})}}
                 for variant in image.get("variants", {}).values()] or [own]
        for unit in units:
            for key, value in unit.get("build-args", {}).items():
                assert somewhere(f"{key}={arg_text(value)}\n"), (name, key, value)
            for rule in unit.get("tags", []):
                if isinstance(rule, dict) and "raw" in rule:
                    assert somewhere(f"type=raw,value={rule['raw']}\n"), rule
                if isinstance(rule, dict) and "semver" in rule:
                    assert somewhere(f"type=semver,pattern={rule['semver']}\n"), rule
            if "target" in unit:
                assert unit["target"] in exact, unit["target"]
        for wf in builds:
            # A workflow holding an image whose context is the whole repository has no path filter at all.
            filters = wf["on"]["push"].get("paths")
            if filters is not None and name in wf["name"].split(" ", 1)[1].split(", "):
                assert set(image.get("paths", [])) <= set(filters), (name, filters)


def generate(spec: dict[str, Any], root: Path) -> tuple[int, str, dict[str, str]]:
    make_repo(root, to_yaml(spec) + "\n", repo_files())
    code, _, err = invoke("-C", str(root))
    return code, err, workflows(root)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_valid_specs_generate_and_keep_every_value(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        code, err, files = generate(spec, Path(tmp) / "repo")
    assert code == 0, err
    assert files, "a valid spec writes workflows"
    parsed = {name: load_yaml(text) for name, text in files.items()}
    user_values_hold(spec, parsed)


@settings(max_examples=3, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs(tame=True))
def test_generated_specs_are_lint_clean(spec: dict[str, Any]) -> None:
    """A small deterministic sample through actionlint and zizmor (they cost a process each)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        code, err, _ = generate(spec, root)
        assert code == 0, err
        labels = {label for image in spec["images"].values()
                  for unit in [image, *image.get("variants", {}).values()]
                  for value in unit.get("runners", {}).values()
                  for label in ([value] if isinstance(value, str) else value)}
        lint(sorted((root / WORKFLOWS).glob("*.yml")), labels, Path(tmp))


@pytest.mark.parametrize("where", ["image", "variant", "global"])
def test_runner_label_lists_render(where: str, tmp_path: Path) -> None:
    runners = {"linux/arm64": ["self-hosted", "linux", "arm64"]}
    image: dict[str, Any] = {"strategy": "native"}
    spec: dict[str, Any] = {"version": 1, "images": {"app": image}}
    if where == "global":
        spec["runners"] = runners
    else:
        image["runners"] = runners
        if where == "variant":
            image["variants"] = {"a": {}, "b": {"runners": runners}}
            del image["runners"]
    root = make_repo(tmp_path / "repo", to_yaml(spec) + "\n")
    code, _, err = invoke("-C", str(root))
    assert code == 0, err
    out = generated(root)
    legs = [leg for call in out.calls for leg in out.legs(call)]
    assert ["self-hosted", "linux", "arm64"] in [leg["runner"] for leg in legs], "the call's row keeps the list"
    assert out.jobs["legs"]["runs-on"].endswith("matrix.runner }}"), "the engine's legs run where the row says"


def test_job_ids_are_valid_for_dotted_image_names(tmp_path: Path) -> None:
    spec = {"version": 1, "images": {"a.b": {"strategy": "qemu"}, "c": {"strategy": "qemu", "from": "a.b"}}}
    root = make_repo(tmp_path / "repo", to_yaml(spec) + "\n")
    code, _, err = invoke("-C", str(root))
    assert code == 0, err
    for text in workflows(root).values():
        for job_id in load_yaml(text)["jobs"]:
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", job_id), job_id


def test_call_ids_are_valid_for_names_starting_with_a_digit(tmp_path: Path) -> None:
    spec = {"version": 1, "images": {"9lives": {"strategy": "qemu"}, "app": {"strategy": "qemu", "from": "9lives"}}}
    root = make_repo(tmp_path / "repo", to_yaml(spec) + "\n")
    code, _, err = invoke("-C", str(root))
    assert code == 0, err
    for text in workflows(root).values():
        for job_id in load_yaml(text)["jobs"]:
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", job_id), job_id


# ------------------------------------------------------------------------------------------ invalid specs

BASE_SPEC = {
    "version": 1,
    "registries": [{"type": "ghcr", "namespace": "acme"}, {"type": "dockerhub", "namespace": "acmehub"}],
    "triggers": {"branches": ["main", "release/*"], "tags": ["v*"], "schedule": ["0 3 * * 1"]},
    "defaults": {"platforms": ["amd64", "arm64"], "strategy": "qemu", "cache": "gha"},
    "runners": {"linux/arm64": "ubuntu-24.04-arm"},
    "images": {
        "base": {"context": "app", "strategy": "native", "build-args": {"A": "1"}, "tags": ["branch", {"raw": "x"}],
                 "platforms": ["amd64", "arm64", "armv7"]},  # every platform of the builds made from it
        "app": {"from": "base", "target": "runtime", "platforms": ["linux/amd64", "armv7"],
                "variants": {"slim": {"build-args": {"B": "two"}}, "full": {"suffix": "-full", "strategy": "buildx"}}},
    },
}
CLOSED_MAPPINGS = [(), ("triggers",), ("defaults",), ("registries", 0), ("images", "base"), ("images", "app"),
                   ("images", "app", "variants", "full")]
KNOWN_KEYS = {"version", "registries", "triggers", "defaults", "runners", "images", "actions", "type", "namespace",
              "branches", "tags", "schedule", "platforms", "strategy", "cache", "context", "build-args", "from",
              "target", "variants", "suffix", "prefix", "repository", "dockerfile", "provenance", "timeout-minutes",
              "pull-request-cache", "prerelease-floating", "paths", "per-arch-tags", "primary", "manual",
              "pull-requests", "host", "username-secret", "password-secret", "role", "region"}
# Any text at all, line breaks and control characters included: the spec refuses those by path.
BAD_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=16).filter(lambda s: "${{" not in s)
WRONG_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
                         st.just([]), st.just({}), st.lists(st.integers(), min_size=1, max_size=2),
                         st.dictionaries(st.sampled_from(["a", "type"]), st.integers(), min_size=1), BAD_TEXT)


def all_paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from all_paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from all_paths(value, (*path, i))


def get_at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


def describe(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@st.composite
def broken_specs(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    """(kind, the path the message must name or "", spec)."""
    spec = json.loads(json.dumps(BASE_SPEC))
    kind = draw(st.sampled_from(["wrong-type", "unknown-key", "missing-key", "bad-platform"]))
    if kind == "wrong-type":
        path = draw(st.sampled_from(sorted(all_paths(spec), key=str)))
        value = draw(WRONG_VALUES)
        if isinstance(value, float):
            value = int(value) if value.is_integer() and abs(value) < 1e15 else str(value)  # YAML floats: as text
        get_at(spec, path[:-1])[path[-1]] = value
        return kind, "", spec
    if kind == "unknown-key":
        path = draw(st.sampled_from(CLOSED_MAPPINGS))
        key = draw(st.one_of(st.from_regex(r"[a-z][a-z-]{0,12}", fullmatch=True), BAD_TEXT)
                   .filter(lambda k: k not in KNOWN_KEYS))
        get_at(spec, path)[key] = draw(st.one_of(st.integers(), BAD_TEXT))
        return kind, describe(path) or "the spec", spec
    if kind == "missing-key":
        path = draw(st.sampled_from([("version",), ("images",), ("registries", 1, "type")]))
        del get_at(spec, path[:-1])[path[-1]]
        return kind, f'missing required key "{path[-1]}"', spec
    path = draw(st.sampled_from([("defaults", "platforms", 0), ("images", "app", "platforms", 1),
                                 ("images", "app", "variants", "slim")]))
    near_misses = ["linux/arm65", "amd46", "Linux/AMD64", "linux/amd64 ", "arm", "windows/amd64"]
    bad = draw(st.one_of(st.sampled_from(near_misses), BAD_TEXT).filter(lambda p: p not in ACCEPTED))
    if path[-1] == "slim":
        get_at(spec, path)["platforms"] = [bad]
        path = (*path, "platforms", 0)
    else:
        get_at(spec, path[:-1])[path[-1]] = bad
    return kind, describe(path), spec


BROKEN_FILES = {"app/Dockerfile": DOCKERFILE}


def assert_refused(root: Path) -> str:
    """Run the generator on root: exit 2 with located problems and nothing written. Returns stderr."""
    before = snapshot(root)
    code, out, err = invoke("-C", str(root))
    assert_refusal_is_well_formed(code, out, err, before, snapshot(root))
    return err


def check_refusal_or_success(root: Path) -> tuple[int, str]:
    before = snapshot(root)
    code, out, err = invoke("-C", str(root))
    assert code in (0, 2), (code, err)
    if code == 2:
        assert_refusal_is_well_formed(code, out, err, before, snapshot(root))
    return code, err


@settings(max_examples=100, deadline=timedelta(seconds=3))
@given(broken_specs())
def test_broken_specs_are_refused_with_located_messages(case: tuple[str, str, dict[str, Any]]) -> None:
    kind, must_name, spec = case
    with tempfile.TemporaryDirectory() as tmp:
        root = make_repo(Path(tmp) / "repo", to_yaml(spec) + "\n", BROKEN_FILES)
        code, err = check_refusal_or_success(root)
    if kind != "wrong-type":
        assert code == 2, err
        assert must_name in err, err


@pytest.mark.parametrize("value", ["[]", "{a: 1}"])
def test_registry_type_of_the_wrong_type(value: str, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", f"version: 1\nregistries:\n  - type: {value}\nimages:\n  app: {{}}\n")
    err = assert_refused(root)
    assert "registries[0].type" in err


def test_bad_raw_tag_is_reported_at_the_raw_value(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", 'version: 1\nimages:\n  app:\n    tags: [{raw: "it\'s"}]\n')
    err = assert_refused(root)
    assert "images.app.tags[0].raw" in err
    assert "allowed: branch" not in err


MUTATION_BASE = """\
version: 1
registries:
  - type: ghcr
    namespace: acme
  - {type: dockerhub, namespace: acmehub}
triggers:
  branches: [main, "release/*"]
  tags: ['v*']
defaults:
  platforms: &platforms [amd64, arm64]
  strategy: qemu
images:
  base:
    context: app
    strategy: native
    platforms: [amd64, arm64, armv7]
    build-args:
      A: "1"
      B: "tab\\tand \\u00e9"
    tags: [branch, {raw: stable}, {semver: "{{major}}"}]
  app:
    context: app
    from: base
    target: runtime
    platforms:
      - linux/amd64
      - armv7
    variants:
      slim: &slim {build-args: {C: three}}
      full:
        <<: *slim
        suffix: -full
        strategy: buildx
        platforms: *platforms
"""
# YAML's own punctuation (and escapes: a backslash inside quotes) is the interesting part.
MUTATION_CHARS = st.one_of(st.sampled_from(list(":-[]{}&*!|>'\"%@#,?`<=\\ \t\n\r")),
                           st.characters(exclude_categories=("Cs",)))


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    text = MUTATION_BASE
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate-line"]))
        if op == "insert":
            text = text[:pos] + draw(st.text(MUTATION_CHARS, min_size=1, max_size=3)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 8)):]
        elif op == "replace":
            text = text[:pos] + draw(MUTATION_CHARS) + text[pos + 1:]
        else:
            lines = text.split("\n")
            i = pos % len(lines)
            text = "\n".join([*lines[:i], lines[i], *lines[i:]])
    return text


def collection_in_key(text: str) -> bool:
    """Whether a mapping key holds a collection inside a collection (`? [[a]]`), which ruamel cannot hash."""
    from ruamel.yaml.nodes import CollectionNode, MappingNode

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate anchors and the like: the product's business
            root = YAML(typ="rt", pure=True).compose(text)
    except Exception:  # broken YAML: the product must cope with it, and does
        return False
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if not isinstance(node, CollectionNode) or id(node) in seen:
            continue
        seen.add(id(node))
        children = [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else list(node.value)
        if isinstance(node, MappingNode):
            for key, _ in node.value:
                inner = [n for pair in key.value for n in pair] if isinstance(key, MappingNode) else \
                    key.value if isinstance(key, CollectionNode) else []
                if any(isinstance(n, CollectionNode) for n in inner):
                    return True
        stack += children
    return False


@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.YAMLWarning")  # see test_yaml_warnings_do_not_leak
@settings(max_examples=150, deadline=timedelta(seconds=3))
@given(mutated_texts())
def test_mutated_spec_text_is_refused_or_accepted_never_a_crash(text: str) -> None:
    assume(not collection_in_key(text))  # a known crash: test_collection_inside_a_key
    with tempfile.TemporaryDirectory() as tmp:
        root = make_repo(Path(tmp) / "repo", text, BROKEN_FILES)
        check_refusal_or_success(root)


@pytest.mark.parametrize("key", ["[[a]]", "{a: {b: 1}}"])
def test_collection_inside_a_key(key: str, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", f"version: 1\nimages:\n  app: {{}}\n? {key}\n: x\n")
    assert collection_in_key((root / SPEC).read_text("utf-8"))
    assert_refused(root)


def test_yaml_warnings_do_not_leak(tmp_path: Path) -> None:
    spec = "version: 1\ndefaults:\n  platforms: &p [amd64]\n  tags: &p [branch]\nimages:\n  app: {strategy: qemu}\n"
    root = make_repo(tmp_path / "repo", spec)
    proc = subprocess.run([sys.executable, "-m", "generator", "-C", str(root)], capture_output=True, text=True,
                          env={**os.environ, "GEN_WORKFLOWS_NO_CACHE": "1"}, check=False)
    assert proc.returncode in (0, 2), proc.stderr
    if proc.returncode == 0:
        assert proc.stderr == ""
    for line in proc.stderr.split("\n")[:-1]:
        assert PROBLEM_LINE.fullmatch(line), line


def test_mutation_base_is_valid(tmp_path: Path) -> None:
    """The mutations start from a spec that generates (else every mutant would be refused for the same reason)."""
    root = make_repo(tmp_path / "repo", MUTATION_BASE, BROKEN_FILES)
    code, _, err = invoke("-C", str(root))
    assert code == 0, err


@pytest.mark.parametrize("spec", [
    'version: 1\nimages:\n  app:\n    "plat\\nforms": []\n',
    'version: 1\nimages:\n  app:\n    context: "no\\nsuch"\n',
])
def test_messages_stay_on_one_line(spec: str, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", spec)
    assert_refused(root)


def test_yaml_merge_keys_are_read_or_refused(tmp_path: Path) -> None:
    spec = "version: 1\nimages:\n  base: &b {context: .}\n  app:\n    <<: *b\n    strategy: qemu\n"
    root = make_repo(tmp_path / "repo", spec)
    code, _, err = invoke("-C", str(root))
    assert code in (0, 2), err
    assert "internal error" not in err


# ------------------------------------------------------------------------------------------ injection

HOSTILE = {
    "newline": "line1\nline2",
    "single-quote": "it's",
    "double-quote": 'say "hi"',
    "hash": "a #b",
    "leading-hash": "#x",
    "colon-space": "key: value",
    "jinja": "{{ x }}",
    "expression": "${{ secrets.X }}",
    "star": "*star",
    "ampersand": "&anchor",
    "bang": "!tag",
    "dash-space": "- item",
    "e-acute": "café",
    "emoji": "\U0001f600",
    "u2028": "a\u2028b",
    "u0085": "a\x85b",
    "long": "long-" * 1000,
}
HARMLESS = "harmless"


def _set_build_arg(spec: dict[str, Any], v: str) -> None:
    spec["images"]["app"]["build-args"] = {"X": v}


def _set_branch(spec: dict[str, Any], v: str) -> None:
    spec["triggers"] = {"branches": [v]}


def _set_tag_glob(spec: dict[str, Any], v: str) -> None:
    spec["triggers"] = {"tags": [v]}


def _set_rule(kind: str) -> Callable[[dict[str, Any], str], None]:
    def setter(spec: dict[str, Any], v: str) -> None:
        spec["images"]["app"]["tags"] = ["branch", {kind: v}, "sha"]  # sha: tag pushes tag (tag_triggers.py)
    return setter


def _set_image_key(key: str, *, strategy: str = "") -> Callable[[dict[str, Any], str], None]:
    def setter(spec: dict[str, Any], v: str) -> None:
        spec["images"]["app"][key] = v
        if strategy:
            spec["images"]["app"]["strategy"] = strategy
    return setter


def _set_runner(spec: dict[str, Any], v: str) -> None:
    spec["images"]["app"] |= {"strategy": "native", "runners": {"linux/arm64": [v]}}


def _set_paths(spec: dict[str, Any], v: str) -> None:
    spec["images"]["app"]["paths"] = [v]


def _set_suffix(spec: dict[str, Any], v: str) -> None:
    spec["images"]["app"]["variants"] = {"main": {}, "other": {"suffix": v}}


def _set_namespace(spec: dict[str, Any], v: str) -> None:
    spec["registries"] = [{"type": "ghcr", "namespace": v}]


Holds = Callable[[Generated, str], bool]


def _held(where: Callable[[Generated], Any], expected: Callable[[str], Any]) -> Holds:
    def check(out: Generated, v: str) -> bool:
        return bool(where(out) == expected(v))
    return check


def _contains(where: Callable[[Generated], Any], expected: Callable[[str], str]) -> Holds:
    def check(out: Generated, v: str) -> bool:
        return expected(v) in where(out)
    return check


def _given(key: str, call: str = "app") -> Callable[[Generated], Any]:
    """What a call hands the engine for `key`; the engine declares that input."""
    def where(out: Generated) -> Any:
        assert key in out.inputs, f"the engine takes no {key}"
        return out.with_(call).get(key)
    return where


def _build(out: Generated) -> dict[str, Any]:
    """The build workflow of `app`: its triggers and filters."""
    return out.workflows["multiarch-app.yml"]


OWN_REPOSITORY = "ghcr.io/acme/${{ inputs.repository }}\n"  # the engine's image: the call's repository


def _images(out: Generated) -> str:
    images: str = out.engine["env"]["IMAGES"]
    return images


# field -> (where the spec holds it, how to put a value there, whether the generated files hold it unchanged,
#           whether the value is one line of a newline-separated list input that an action splits)
FIELDS: dict[str, tuple[str, Callable[[dict[str, Any], str], None], Holds, bool]] = {
    "build-arg": ("images.app.build-args.X", _set_build_arg, _held(_given("build-args"), lambda v: f"X={v}\n"), True),
    "branch": ("triggers.branches[0]", _set_branch,
               _held(lambda out: (_build(out)["on"]["push"]["branches"], _build(out)["on"]["pull_request"]["branches"]),
                     lambda v: ([v], [v])), False),
    "tag-glob": ("triggers.tags[0]", _set_tag_glob, _held(lambda out: _build(out)["on"]["push"]["tags"], lambda v: [v]),
                 False),
    "semver": ("images.app.tags[1]", _set_rule("semver"),
               _held(_given("semver"), lambda v: f"type=semver,pattern={v}\n"), True),
    "raw-tag": ("images.app.tags[1]", _set_rule("raw"), _contains(_given("tags"), lambda v: f"type=raw,value={v}\n"),
                True),
    "schedule-tag": ("images.app.tags[1]", _set_rule("schedule"),
                     _contains(_given("tags"), lambda v: f"type=schedule,pattern={v}\n"), True),
    "paths": ("images.app.paths[0]", _set_paths, _held(lambda out: _build(out)["on"]["push"]["paths"][0], lambda v: v),
              False),
    "context": ("images.app.context", _set_image_key("context"), _held(_given("context"), lambda v: v), False),
    "dockerfile": ("images.app.dockerfile", _set_image_key("dockerfile"), _held(_given("file"), lambda v: v), False),
    "target": ("images.app.target", _set_image_key("target"), _held(_given("target"), lambda v: v), False),
    "runner-label": ("images.app.runners.linux/arm64", _set_runner,
                     _held(lambda out: out.legs("app")[1]["runner"], lambda v: v), False),
    "repository": ("images.app.repository", _set_image_key("repository"),
                   _held(lambda out: (_given("repository")(out), OWN_REPOSITORY in _images(out)), lambda v: (v, True)),
                   True),
    "suffix": ("images.app.variants.other.suffix", _set_suffix, _held(_given("suffix", "app-other"), lambda v: v),
               True),
    "namespace": ("registries[0].namespace", _set_namespace,
                  _contains(_images, lambda v: f"ghcr.io/{v}/${{{{ inputs.repository }}}}\n"), True),
}
# What the current code still does wrong with a hostile value, as (field, hostile) -> "bug: ..." (none today).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def _injection_spec(field: str, value: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"version": 1, "registries": [{"type": "ghcr", "namespace": "acme"}],
                            "images": {"app": {"strategy": "qemu"}}}
    FIELDS[field][1](spec, value)
    return spec


def _injection_files(field: str, value: str) -> dict[str, str]:
    """The build context or Dockerfile a path field names, when the file system can hold it."""
    if field == "context" and "\0" not in value and max(map(len, value.encode().split(b"/"))) <= 255:
        return {f"{value}/Dockerfile": DOCKERFILE}
    if field == "dockerfile" and max(map(len, value.encode().split(b"/"))) <= 255:
        return {value: DOCKERFILE}
    return {}


def _render_for(field: str, value: str, root: Path) -> tuple[int, str, str, dict[str, str]]:
    make_repo(root, to_yaml(_injection_spec(field, value)) + "\n", _injection_files(field, value))
    before = snapshot(root)
    code, out, err = invoke("-C", str(root))
    if code == 2:
        assert_refusal_is_well_formed(code, out, err, before, snapshot(root))
    return code, out, err, workflows(root)


@pytest.mark.parametrize(("field", "hostile"), [
    pytest.param(field, name, id=f"{field}-{name}",
                 marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[(field, name)])]
                 if (field, name) in KNOWN_BUGS else [])
    for field in FIELDS for name in HOSTILE])
def test_hostile_string_is_refused_by_path_or_kept_inert(field: str, hostile: str, tmp_path: Path) -> None:
    value = HOSTILE[hostile]
    where, _, holds, one_line = FIELDS[field]
    code, _, err, files = _render_for(field, value, tmp_path / "hostile")
    assert code in (0, 2), err
    if code == 2:
        assert where in err, f"the message must name {where}:\n{err}"
        return
    assert "${{" not in value, "`${{` is refused by design"
    if one_line:
        assert not re.search(r"[\r\n]", value), "accepted a line break inside one line of a list input"
    code0, _, err0, baseline = _render_for(field, HARMLESS, tmp_path / "harmless")
    assert code0 == 0, err0
    assert files.keys() == baseline.keys()
    assert holds(from_texts(files), value), f"{field} does not hold {value!r} unchanged"
    assert holds(from_texts(baseline), HARMLESS)
    for name, text in files.items():
        wf, wf0 = load_yaml(text), load_yaml(baseline[name])
        assert run_scripts(wf) == run_scripts(wf0), "a user string changed a run: script"
        assert text.count("${{") == baseline[name].count("${{"), "a user string created a GitHub expression"


@pytest.mark.parametrize("field", list(FIELDS))
def test_every_field_is_found_where_it_lands(field: str, tmp_path: Path) -> None:
    """The check above reads each field where the generated files hold it: a harmless value is found there,
    and another value is not (else a hostile one would pass unread)."""
    code, _, err, files = _render_for(field, HARMLESS, tmp_path / "harmless")
    assert code == 0, err
    out = from_texts(files)
    assert sorted(out.workflows) == ["multiarch-app.yml", ENGINE]
    holds = FIELDS[field][2]
    assert holds(out, HARMLESS)
    assert not holds(out, "other")


def test_branch_cannot_inject_step_outputs(tmp_path: Path) -> None:
    spec = {"version": 1, "triggers": {"branches": ["main\nref=evil.example/x"]},
            "images": {"base": {"strategy": "qemu"}, "app": {"strategy": "qemu", "from": "base"}}}
    root = make_repo(tmp_path / "repo", to_yaml(spec) + "\n")
    code, _, err = invoke("-C", str(root))
    if code == 2:
        assert "triggers.branches[0]" in err
        return
    for text in workflows(root).values():
        for step in steps_of(load_yaml(text)):
            if "GITHUB_OUTPUT" in step.get("run", ""):
                for name, value in step.get("env", {}).items():
                    assert not re.search(r"[\r\n]", str(value)), f"{step['name']}: {name}={value!r}"


def test_accepted_branch_filters_are_lint_clean(tmp_path: Path) -> None:
    spec = {"version": 1, "triggers": {"branches": ["release candidate"], "tags": ["v1: final"]},
            "images": {"app": {"strategy": "qemu"}}}
    root = make_repo(tmp_path / "repo", to_yaml(spec) + "\n")
    code, _, err = invoke("-C", str(root))
    if code == 2:
        assert "triggers.branches[0]" in err
        return
    lint(sorted((root / WORKFLOWS).glob("*.yml")), set(), tmp_path)


@pytest.mark.parametrize("value", ["a\\0b", "\\ud83d\\ude00", "x" * 300])
def test_unusable_paths_are_refused(value: str, tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", f'version: 1\nimages:\n  app:\n    context: "{value}"\n')
    err = assert_refused(root)
    assert "images.app.context" in err or "build context" in err


# ------------------------------------------------------------------------------------------ bounded input


def _many_variants_native() -> str:
    platforms = ", ".join(PLATFORMS)  # 6 platforms
    variants = "".join(f"      v{i}: {{build-args: {{N: '{i}'}}}}\n" for i in range(50))  # 50 x 6 = 300 legs
    return f"version: 1\nimages:\n  app:\n    strategy: native\n    platforms: [{platforms}]\n    variants:\n{variants}"


# Nine levels of ten aliases each: a billion strings once expanded.
ALIAS_BOMB = ("version: 1\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
              + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
                        for p, c in zip("abcdefgh", "bcdefghi", strict=True))
              + "images:\n  app: {}\n")
BOUNDED = {
    "over-size-limit": ("version: 1\nimages:\n  app: {}\n" + "# " + "x" * 600_000 + "\n", "the limit is"),
    "nesting-too-deep": ("version: 1\nimages:\n  app:\n    build-args: " + "[" * 40 + "]" * 40 + "\n", "nests deeper"),
    "alias-bomb": (ALIAS_BOMB, "more than 20000 values"),
    "too-many-images": ("version: 1\nimages:\n" + "".join(f"  i{i}: {{strategy: qemu}}\n" for i in range(101)),
                        "images has more than 100 entries"),
}


@pytest.mark.parametrize("case", list(BOUNDED))
def test_bounded_input_is_refused_clearly(case: str, tmp_path: Path) -> None:
    text, message = BOUNDED[case]
    root = make_repo(tmp_path / "repo", text)
    before = snapshot(root)
    start = time.monotonic()
    code, out, err = invoke("-C", str(root))
    assert time.monotonic() - start < 5, "bounded input must be refused quickly"
    assert code == 2, err
    assert message in err, err
    assert "Traceback" not in err
    assert "internal error" not in err
    assert snapshot(root) == before
    assert_refusal_is_well_formed(code, out, err, before, snapshot(root))


def test_many_variants_make_many_small_matrices(tmp_path: Path) -> None:
    """300 legs once shared one matrix, over GitHub's 256 jobs, and were refused. Each variant is now its
    own call whose legs are its own matrix: generated quickly, no matrix near the limit."""
    root = make_repo(tmp_path / "repo", _many_variants_native())
    start = time.monotonic()
    code, _, err = invoke("-C", str(root))
    assert time.monotonic() - start < 5, "many variants are generated quickly"
    assert code == 0, err
    out = generated(root)
    assert [job_id for job_id, job in out.jobs.items() if "strategy" in job] == ["legs"], "the one matrix"
    assert len(out.calls) == 50
    assert {len(out.legs(call)) for call in out.calls} == {6}, "6 legs per call: its platforms"


def test_deep_flow_nesting_is_refused_fast(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", "version: 1\nimages:\n  app:\n    build-args: " + "[" * 20_000 + "\n")
    before = snapshot(root)
    start = time.monotonic()
    code, out, err = invoke("-C", str(root))
    elapsed = time.monotonic() - start
    assert_refusal_is_well_formed(code, out, err, before, snapshot(root))
    assert elapsed < 1.0, f"took {elapsed:.1f}s to refuse a {20_000 + 40} byte spec"


# ------------------------------------------------------------------------------------------ files, concurrency


def minimal_copy(target: Path) -> Path:
    shutil.copytree(SAMPLES / "minimal", target, symlinks=True)
    shutil.rmtree(target / WORKFLOWS, ignore_errors=True)
    return target


def _generate_in_child(directory: str, barrier: Any) -> None:
    barrier.wait(30)
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main(["-C", directory])
    sys.exit(code)


def _assert_same_as_single_run(copies: list[Path], reference: dict[str, bytes]) -> None:
    for root in copies:
        names = sorted(p.name for p in (root / WORKFLOWS).iterdir())
        assert names == sorted(reference), f"{root}: {names} (a temporary file left over?)"
        assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]
        for name, data in reference.items():
            assert (root / WORKFLOWS / name).read_bytes() == data
            assert load_yaml(data.decode("utf-8"))["jobs"]


@pytest.fixture
def single_run(tmp_path: Path) -> dict[str, bytes]:
    root = minimal_copy(tmp_path / "single")
    code, _, err = invoke("-C", str(root))
    assert code == 0, err
    return {p.name: p.read_bytes() for p in (root / WORKFLOWS).iterdir()}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_concurrent_runs_write_the_same_files(tmp_path: Path, single_run: dict[str, bytes]) -> None:
    """50 rounds of two processes generating into the same fresh repository at the same moment."""
    ctx = multiprocessing.get_context("fork")
    copies = [minimal_copy(tmp_path / f"round{i}") for i in range(50)]
    for batch in range(0, len(copies), 5):
        procs = []
        for root in copies[batch:batch + 5]:
            barrier = ctx.Barrier(2)
            procs += [ctx.Process(target=_generate_in_child, args=(str(root), barrier)) for _ in range(2)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(60)
        assert [proc.exitcode for proc in procs] == [0] * len(procs)
    _assert_same_as_single_run(copies, single_run)


def test_concurrent_command_line_runs_write_the_same_files(tmp_path: Path, single_run: dict[str, bytes]) -> None:
    """The same through `python -m generator` (the console script's path, fast path included)."""
    env = {**os.environ, "GEN_WORKFLOWS_CACHE_DIR": str(tmp_path / "cache")}
    copies = [minimal_copy(tmp_path / f"cli{i}") for i in range(3)]
    for root in copies:
        procs = [subprocess.Popen([sys.executable, "-m", "generator", "-C", str(root)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [(*proc.communicate(timeout=60), proc.returncode) for proc in procs]
        assert [r[2] for r in results] == [0, 0], results
    _assert_same_as_single_run(copies, single_run)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_workflows_directory_is_a_clear_error(tmp_path: Path) -> None:
    root = minimal_copy(tmp_path / "repo")
    (root / WORKFLOWS).mkdir()
    (root / WORKFLOWS).chmod(0o555)
    try:
        code, _, err = invoke("-C", str(root))
        assert code == 2, err
        assert "cannot write" in err or "ermission denied" in err, err
        assert "Traceback" not in err
        assert "internal error" not in err
        assert list((root / WORKFLOWS).iterdir()) == []
    finally:
        (root / WORKFLOWS).chmod(0o755)


def test_workflows_path_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    root = minimal_copy(tmp_path / "repo")
    (root / WORKFLOWS).write_text("not a directory\n")
    code, _, err = invoke("-C", str(root))
    assert code == 2, err
    assert ".github/workflows: exists and is not a directory" in err
    assert (root / WORKFLOWS).read_text() == "not a directory\n"


@pytest.mark.parametrize("link", [".github", WORKFLOWS])
def test_symlink_leaving_the_repository_is_refused(link: str, tmp_path: Path) -> None:
    root = minimal_copy(tmp_path / "repo")
    outside = tmp_path / "outside"
    spec: list[str] = []
    if link == ".github":
        shutil.copyfile(root / SPEC, root / "spec.yaml")  # a spec that moved out with .github is refused first
        spec = ["--spec", "spec.yaml"]
        shutil.move(root / ".github", outside)
    else:
        outside.mkdir()
    (root / link).symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)
    code, _, err = invoke("-C", str(root), *spec)
    assert code == 2, err
    assert f"{link}: is a symlink that leaves the repository" in err
    assert "Traceback" not in err
    assert snapshot(outside) == before, "nothing written outside the repository"


# ------------------------------------------------------------------------------------------ determinism

DETERMINISM_SPEC = """\
version: 1
registries:
  - type: ghcr
    namespace: acme
  - {type: dockerhub, namespace: acmehub}
triggers:
  branches: [main, "release/*", "\u0130stanbul-\u0131"]
  tags: ["v*"]
  schedule: ["0 3 * * 1"]
defaults:
  platforms: [x86_64, aarch64, armhf]
  strategy: native
runners:
  linux/arm64: ARM64-self
images:
  base:
    context: ünï
    platforms: [x86_64, aarch64, armhf, ppc64le, s390x, riscv64, i386]
    build-args: {TITLE: "\u0130I \u0131i é", B: "b", A: "a"}
    per-arch-tags: true
    tags: [branch, version, major.minor, {raw: stable}, {semver: "{{major}}"}]
  app:
    from: base
    strategy: qemu
    platforms: [linux/ppc64le, linux/s390x, riscv64, amd64]
    variants:
      zeta: {build-args: {Z: "1"}}
      alpha: {suffix: -alpha, strategy: buildx}
      mid: {prefix: mid-, platforms: [i386, arm64]}
  tool:
    dockerfile: tools/Tool.Dockerfile
    context: tools
    strategy: buildx
    cache: registry
"""
DETERMINISM_FILES = {"ünï/Dockerfile": DOCKERFILE, "tools/Tool.Dockerfile": DOCKERFILE}


def _available_locale(*names: str) -> str:
    """The first of names that `locale -a` lists (it spells UTF-8 as utf8), else the last one."""
    command = shutil.which("locale")
    listed = subprocess.run([command, "-a"], capture_output=True, text=True, check=False).stdout if command else ""
    found = {n.lower().replace("-", "") for n in listed.split()}
    return next((n for n in names if n.lower().replace("-", "") in found), names[-1])


def _determinism_repo(root: Path) -> Path:
    return make_repo(root, DETERMINISM_SPEC, DETERMINISM_FILES)


def test_same_spec_same_bytes_across_environments(tmp_path: Path) -> None:
    reference_root = _determinism_repo(tmp_path / "in-process")
    code, _, err = invoke("-C", str(reference_root))
    assert code == 0, err
    reference = snapshot(reference_root)
    assert sorted(k for k in reference if k.startswith(WORKFLOWS)) == [  # base and app share one; the engine
        f"{WORKFLOWS}/multiarch-base.yml", f"{WORKFLOWS}/multiarch-tool.yml", f"{WORKFLOWS}/{ENGINE}"]
    utf8 = _available_locale("en_US.UTF-8", "C.UTF-8")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHONHASHSEED"))}
    clean["GEN_WORKFLOWS_NO_CACHE"] = "1"
    variants = {
        "C": ({"LC_ALL": "C", "LANG": "C", "PYTHONHASHSEED": "0"}, False),
        "utf8": ({"LC_ALL": utf8, "PYTHONHASHSEED": "1"}, False),
        "turkish": ({"LC_ALL": "tr_TR.UTF-8", "LANG": "tr_TR.UTF-8", "PYTHONHASHSEED": "random"}, False),
        "relative": ({"LANG": "tr_TR.UTF-8", "PYTHONHASHSEED": "4242"}, True),
    }
    elsewhere = tmp_path / "elsewhere" / "cwd"
    elsewhere.mkdir(parents=True)
    procs = {}
    for name, (extra, relative) in variants.items():
        root = _determinism_repo(tmp_path / name)
        directory = os.path.relpath(root, elsewhere) if relative else str(root)
        procs[name] = (root, subprocess.Popen(
            [sys.executable, "-m", "generator", "-C", directory], cwd=elsewhere if relative else REPO_ROOT,
            env={**clean, **extra}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    for name, (root, proc) in procs.items():
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (name, out, err)
        assert snapshot(root) == reference, f"{name}: different bytes"


def _reordered(text: str) -> str:
    """The same spec with keys whose order means nothing moved around: top-level keys, keys inside
    registries entries, triggers, defaults and image mappings."""
    data = YAML(typ="safe", pure=True).load(text)

    def rev(mapping: dict[str, Any]) -> dict[str, Any]:
        return dict(reversed(list(mapping.items())))

    data["registries"] = [rev(r) for r in data["registries"]]
    data["triggers"] = rev(data["triggers"])
    data["defaults"] = rev(data["defaults"])
    data["images"] = {name: rev(image) for name, image in data["images"].items()}
    for image in data["images"].values():
        for vname, variant in image.get("variants", {}).items():
            image["variants"][vname] = rev(variant)
    return to_yaml(rev(data)) + "\n"


def test_key_order_without_meaning_does_not_change_the_bytes(tmp_path: Path) -> None:
    first = _determinism_repo(tmp_path / "first")
    second = make_repo(tmp_path / "second", _reordered(DETERMINISM_SPEC), DETERMINISM_FILES)
    assert (second / SPEC).read_text("utf-8") != DETERMINISM_SPEC
    for root in (first, second):
        code, _, err = invoke("-C", str(root))
        assert code == 0, err
    assert workflows(first) == workflows(second)
