"""Trust boundaries in what the plan decides (issue 12): one verdict for every command, outputs that never
overwrite each other, filters GitHub accepts, no self-hosted runner for pull requests unless the spec opts
in, manual runs that publish only from the configured refs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator.filters import cron_problem, escape_glob, glob_problem, ref_condition

from .conftest import Runner, snapshot, write_tree
from .shape import Generated, generated

BIN = Path(sys.executable).parent
INVALID = Path(__file__).parent / "invalid"
SPEC = ".github/multiarch.yaml"
DOCKERFILE = "FROM alpine:3.22\nRUN apk add --no-cache ca-certificates\n"


def _repo(root: Path, spec: str, files: dict[str, str] | None = None) -> Path:
    return write_tree(root, {SPEC: spec, "Dockerfile": DOCKERFILE, **(files or {})})


def _workflow(root: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe", pure=True).load((root / ".github/workflows" / name).read_text("utf-8"))
    return data


def _lint(root: Path) -> None:
    files = sorted(str(p) for p in (root / ".github/workflows").glob("*.yml"))
    assert files
    for command in ([str(BIN / "actionlint"), "-shellcheck", shutil.which("shellcheck") or "", *files],
                    [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files]):
        proc = subprocess.run(command, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------ one verdict


@pytest.mark.parametrize("case", sorted(p.name for p in INVALID.iterdir() if p.is_dir()))
def test_validate_and_plan_refuse_what_generate_refuses(case: str, tmp_path: Path, run: Runner) -> None:
    repo = tmp_path / case
    shutil.copytree(INVALID / case, repo, ignore=shutil.ignore_patterns("expected.txt"))
    generate = run("-C", str(repo))
    assert generate.code == 2
    for command in ("validate", "plan"):
        result = run(command, "-C", str(repo))
        assert (result.code, result.err) == (2, generate.err), command
        assert result.out == ""


def test_an_image_named_check_never_loses_its_workflow_to_the_drift_guard(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", "version: 1\ncheck-workflow: true\nimages:\n  check: {strategy: qemu}\n")
    before = snapshot(repo)
    for command in ((), ("validate",), ("plan",)):
        result = run(*command, "-C", str(repo))
        assert result.code == 2, command
        assert result.err.startswith('.github/multiarch.yaml:4:3: image "check" would be written to '
                                     ".github/workflows/multiarch-check.yml, which the drift guard"), result.err
    assert snapshot(repo) == before
    # Without the drift guard the name is free, and its workflow is written.
    (repo / SPEC).write_text("version: 1\nimages:\n  check: {strategy: qemu}\n", encoding="utf-8")
    assert run("-C", str(repo)).code == 0
    assert _workflow(repo, "multiarch-check.yml")["name"] == "Image check"


def test_no_matrix_is_one_github_would_refuse(tmp_path: Path, run: Runner) -> None:
    """GitHub refuses a matrix of more than 256 jobs. A matrix is now one call's legs (a build's platforms),
    so 50 variants on 6 native platforms, 300 legs that once shared one matrix, are 50 calls of 6 legs:
    validate accepts them, and every matrix the engine runs stays far below the limit."""
    variants = "".join(f"      v{i}: {{build-args: {{N: '{i}'}}}}\n" for i in range(50))
    repo = _repo(tmp_path / "repo", "version: 1\nimages:\n  app:\n    strategy: native\n"
                                    f"    platforms: [amd64, arm64, armv7, ppc64le, s390x, riscv64]\n"
                                    f"    variants:\n{variants}")
    result = run("validate", "-C", str(repo))
    assert (result.code, result.err) == (0, "")
    assert run("-C", str(repo)).code == 0
    out = generated(repo)
    assert out.jobs["legs"]["strategy"]["matrix"] == {"include": "${{ fromJSON(inputs.legs) }}"}, "the only matrix"
    assert not [job_id for job_id, job in out.jobs.items() if job_id != "legs" and "strategy" in job]
    assert len(out.calls) == 50
    assert all(len(out.legs(call)) == 6 for call in out.calls), "a matrix of 6 legs per call"


# ------------------------------------------------------------------------------------------ init


def test_init_shortens_a_long_directory_name_to_an_image_name(tmp_path: Path, run: Runner) -> None:
    directory = "a-" * 50 + "service"
    write_tree(tmp_path, {f"{directory}/Dockerfile": DOCKERFILE})
    result = run("init", "-C", str(tmp_path))
    assert result.code == 0, result.err
    images = YAML(typ="safe").load((tmp_path / SPEC).read_text())["images"]
    (name,) = images
    assert len(name) <= 64
    assert not name.endswith("-")
    assert images[name]["context"] == directory
    assert run("validate", "-C", str(tmp_path)).code == 0


def test_init_leaves_out_a_dockerfile_the_spec_cannot_use_and_says_why(tmp_path: Path, run: Runner) -> None:
    write_tree(tmp_path, {"api/Dockerfile": DOCKERFILE, "broken/Dockerfile": "FROM alpine\nRUN <<EOF\n",
                          "${{ github.token }}/Dockerfile": DOCKERFILE})
    result = run("init", "-C", str(tmp_path))
    assert result.code == 0, result.err
    assert list(YAML(typ="safe").load((tmp_path / SPEC).read_text())["images"]) == ["api"]
    assert "left out broken/Dockerfile: the spec could not use it\n  broken/Dockerfile:2:1: cannot parse" in result.err
    assert "left out ${{ github.token }}/Dockerfile: the spec could not use it\n  the draft spec: " in result.err
    assert run("validate", "-C", str(tmp_path)).code == 0


def test_init_writes_nothing_when_no_dockerfile_is_usable(tmp_path: Path, run: Runner) -> None:
    write_tree(tmp_path, {"Dockerfile": "FROM alpine\nRUN <<EOF\n"})
    before = snapshot(tmp_path)
    result = run("init", "-C", str(tmp_path))
    assert result.code == 2
    assert result.err.startswith("Dockerfile:2:1: cannot parse the Dockerfile"), result.err
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------------------------ caches


def _cache_refs(out: Generated, filename: str) -> list[str]:
    """The caches of a build workflow's calls: the engine's build step reads and writes each leg's own."""
    (build,) = [s for s in out.steps("legs") if s.get("uses", "").startswith("docker/build-push-action@")]
    assert build["with"]["cache-from"] == "${{ matrix.cache }}"
    assert "matrix.cache" in build["with"]["cache-to"]
    return [leg["cache"] for call in out.calls_in(filename) for leg in out.legs(call) if leg.get("cache")]


def test_registry_caches_are_one_per_build_and_platform(tmp_path: Path, run: Runner) -> None:
    spec = """\
version: 1
registries: [{type: ghcr, namespace: acme}]
defaults: {cache: registry}
images:
  app:
    strategy: qemu
    variants:
      full: {}
      slim: {build-args: {SLIM: "1"}}
      alpine: {prefix: alpine-}
  tool:
    strategy: native
    variants:
      cli: {}
      server: {}
"""
    repo = _repo(tmp_path / "repo", spec)
    assert run("-C", str(repo)).code == 0
    out = generated(repo)
    app = _cache_refs(out, "multiarch-app.yml")
    tool = _cache_refs(out, "multiarch-tool.yml")
    assert sorted(app) == ["type=registry,ref=ghcr.io/acme/app:alpine-buildcache",
                           "type=registry,ref=ghcr.io/acme/app:buildcache",
                           "type=registry,ref=ghcr.io/acme/app:buildcache-slim"]
    assert sorted(tool) == [f"type=registry,ref=ghcr.io/acme/tool:buildcache{suffix}-{pair}"
                            for suffix in ("", "-server") for pair in ("linux-amd64", "linux-arm64")]


# ------------------------------------------------------------------------------------------ filters


def test_derived_path_filters_are_escaped_for_githubs_glob(tmp_path: Path, run: Runner) -> None:
    spec = "version: 1\ncheck-workflow: true\nimages:\n  app: {context: '!app', strategy: qemu}\n" \
           "  cpp: {context: c++, dockerfile: 'docker/[x]?.Dockerfile', strategy: qemu}\n"
    repo = _repo(tmp_path / "repo", spec, {"!app/Dockerfile": DOCKERFILE, "c++/Dockerfile": DOCKERFILE,
                                           "docker/[x]?.Dockerfile": DOCKERFILE})
    result = run("-C", str(repo))
    assert result.code == 0, result.err
    assert _workflow(repo, "multiarch-app.yml")["on"]["push"]["paths"] == [
        "\\!app/**", ".github/multiarch.yaml", ".github/workflows/multiarch.yml", ".github/workflows/multiarch-app.yml"]
    assert _workflow(repo, "multiarch-cpp.yml")["on"]["pull_request"]["paths"][:2] == [
        "c\\+\\+/**", "docker/\\[x]\\?.Dockerfile"]
    assert "docker/\\[x]\\?.Dockerfile" in _workflow(repo, "multiarch-check.yml")["on"]["pull_request"]["paths"]
    _lint(repo)


@pytest.mark.parametrize("text", ["!app", "c++", "a[b]*?\\", "**/x", "v1.2+build"])
def test_an_escaped_path_is_a_well_formed_pattern(text: str) -> None:
    assert glob_problem(escape_glob(text), ref=False) == ""
    assert not escape_glob(text).startswith("!")


@pytest.mark.parametrize(("cron", "problem"), [
    ("0 3 * * 1", ""), ("*/5 * * * *", ""), ("0 3 * JAN-MAR mon-fri", ""), ("5/10 1-3 1,15 * *", ""),
    ("58 23,0 * * *", ""), ("*/4 * * * *", "every 4 minute(s)"), ("0 3 * * 7", "Sunday is 0"),
    ("0 3 ? * 1", "not a number"), ("0 3 * * 1 2", "five fields"), ("10-5 * * * *", "runs backwards"),
])
def test_cron_schedules_github_would_refuse(cron: str, problem: str) -> None:
    found = cron_problem(cron)
    assert (problem in found) if problem else found == "", found


def test_user_path_filters_are_checked(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", "version: 1\nimages:\n  app:\n    strategy: qemu\n"
                                    "    paths: ['src/**', '!src/docs/**', 'c\\+\\+/**', '**/*.go', 'Dockerfile']\n")
    result = run("-C", str(repo))
    assert result.code == 0, result.err
    assert _workflow(repo, "multiarch-app.yml")["on"]["push"]["paths"][:3] == ["src/**", "!src/docs/**", "c\\+\\+/**"]
    _lint(repo)


# ------------------------------------------------------------------------------------------ expressions

# A small evaluator for the GitHub expression syntax the generator writes: literals, context paths,
# ! == != && || (with GitHub's precedence, case-insensitive string comparison and value-returning && ||),
# and startsWith / contains.
_TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(==|!=|&&|\|\||[!(),])|([A-Za-z_][\w.-]*)|(\d+))")


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    text = expression.strip().removeprefix("${{").removesuffix("}}")
    tokens: list[str] = []
    position = 0
    while text[position:].strip():
        match = _TOKEN.match(text, position)
        assert match, f"cannot read {text[position:]!r}"
        tokens.append(match.group(match.lastindex or 0))
        position = match.end()
    value, rest = _or(tokens, context)
    assert not rest, rest
    return value


def _or(tokens: list[str], ctx: dict[str, Any]) -> tuple[Any, list[str]]:
    value, tokens = _and(tokens, ctx)
    while tokens[:1] == ["||"]:
        right, tokens = _and(tokens[1:], ctx)
        value = value or right
    return value, tokens


def _and(tokens: list[str], ctx: dict[str, Any]) -> tuple[Any, list[str]]:
    value, tokens = _compare(tokens, ctx)
    while tokens[:1] == ["&&"]:
        right, tokens = _compare(tokens[1:], ctx)
        value = value and right
    return value, tokens


def _compare(tokens: list[str], ctx: dict[str, Any]) -> tuple[Any, list[str]]:
    left, tokens = _unary(tokens, ctx)
    if tokens[:1] in (["=="], ["!="]):
        right, rest = _unary(tokens[1:], ctx)
        same = str(left).lower() == str(right).lower() if isinstance(left, str) and isinstance(right, str) \
            else left == right
        return same == (tokens[0] == "=="), rest
    return left, tokens


def _unary(tokens: list[str], ctx: dict[str, Any]) -> tuple[Any, list[str]]:
    head, rest = tokens[0], tokens[1:]
    if head == "!":
        value, rest = _unary(rest, ctx)
        return not value, rest
    if head == "(":
        value, rest = _or(rest, ctx)
        assert rest[0] == ")"
        return value, rest[1:]
    if head.startswith("'"):
        return head[1:-1].replace("''", "'"), rest
    if rest[:1] == ["("]:
        args, rest = [], rest[1:]
        while rest[0] != ")":
            arg, rest = _or(rest, ctx)
            args.append(arg)
            rest = rest[1:] if rest[0] == "," else rest
        haystack, needle = (str(a or "").lower() for a in args)
        return {"startsWith": haystack.startswith, "contains": haystack.__contains__}[head](needle), rest[1:]
    if head.isdigit():
        return int(head), rest
    if head in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[head], rest
    value: Any = ctx
    for part in head.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value, rest


def _github(event_name: str, ref: str, **more: Any) -> dict[str, Any]:
    name = ref.split("/", 2)[2]
    kind = "tag" if ref.startswith("refs/tags/") else "branch"
    return {"event_name": event_name, "ref": ref, "ref_name": name, "ref_type": kind, "repository": "acme/app", **more}


NOT_ON_PR = "github.event_name != 'pull_request'"


def _dispatch(build: dict[str, Any], event: str, push_input: bool) -> dict[str, Any]:
    """The event's inputs, as GitHub hands them to the engine (text): only the inputs the build declares."""
    declared = (build["on"].get("workflow_dispatch") or {}).get("inputs", {})
    return {"inputs": {"push": str(push_input).lower()}} if event == "workflow_dispatch" and "push" in declared else {}


def _publishes(out: Generated, event: str, ref: str, push_input: bool = True) -> bool:
    """Whether the engine publishes when a build workflow runs on this event (every call hands it the same
    github context, the caller's)."""
    builds = list(out.builds.values())
    assert builds
    push = None
    for build in builds:
        context = {"github": _github(event, ref, event=_dispatch(build, event, push_input))}
        value = bool(evaluate(out.engine["env"]["PUSH"], context))
        assert push in (None, value), "every build workflow publishes from the same refs"
        push = value
        # The merge job that tags runs on the same condition, written out (a job's `if:` cannot read env).
        gated = [job for job in out.jobs.values() if job.get("if", "").startswith(NOT_ON_PR)]
        assert gated, "the merge is skipped when not publishing"
        for job in gated:
            assert bool(evaluate(job["if"], context)) == value, job["name"]
    return bool(push)


MANUAL_SPEC = """\
version: 1
triggers:
  branches: [main, "release/*", "**", "!wip/**"]
  tags: ["v*", "v*.*.*"]
images:
  app: {strategy: native}
"""


def test_a_manual_run_publishes_only_from_a_configured_ref(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", MANUAL_SPEC.replace('"**", "!wip/**"', ""))
    assert run("-C", str(repo)).code == 0
    out = generated(repo)
    dispatch = "workflow_dispatch"
    assert _publishes(out, dispatch, "refs/heads/main")
    assert _publishes(out, dispatch, "refs/tags/v1.2.3")
    assert _publishes(out, dispatch, "refs/tags/v")  # `*` matches nothing too
    assert not _publishes(out, dispatch, "refs/heads/main", push_input=False)
    for ref in ("refs/heads/feature", "refs/heads/main-old", "refs/heads/mainx/y", "refs/tags/stable",
                "refs/tags/v1/evil", "refs/heads/v1"):
        assert not _publishes(out, dispatch, ref), ref
    # release/* cannot be decided by an expression (`*` stops at '/'): such a branch publishes when pushed.
    assert not _publishes(out, dispatch, "refs/heads/release/1.0")
    assert _publishes(out, "push", "refs/heads/release/1.0")
    assert not _publishes(out, "pull_request", "refs/pull/1/merge")
    assert out.engine["env"]["PUSH"].count("release") == 0
    assert "from a ref other than main, v* (release/*, v*.*.*: only when pushed)" in \
        (repo / ".github/workflows/multiarch.yml").read_text()


def test_a_manual_run_from_another_ref_says_so_in_the_log(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", MANUAL_SPEC)
    assert run("-C", str(repo)).code == 0
    out = generated(repo)
    note = out.steps("legs")[0]
    assert (note["id"], out.ids("legs").count("manual-note")) == ("manual-note", 1), "before anything else, once"
    assert note["if"] == ("github.event_name == 'workflow_dispatch' && github.event.inputs.push == 'true' && "
                          "(env.PUSH == 'true' || strategy.job-index == 0)")
    # The patterns it honours, in order, as exact regular expressions (tests/unit/test_manual_note.py runs them).
    assert note["env"] == {"PUBLISHING_REFS": "^refs/heads/main$ ^refs/heads/ !^refs/heads/wip/ ^refs/tags/v[^/]*$"}
    assert _publishes(out, "workflow_dispatch", "refs/heads/feature/x")
    assert not _publishes(out, "workflow_dispatch", "refs/heads/wip/x")
    (build,) = out.builds.values()

    def runs(ref: str, push_input: bool = True, leg: int = 0) -> bool:
        github = _github("workflow_dispatch", ref, event=_dispatch(build, "workflow_dispatch", push_input))
        env = {"PUSH": str(_publishes(out, "workflow_dispatch", ref, push_input)).lower()}
        return bool(evaluate(note["if"], {"github": github, "env": env, "strategy": {"job-index": leg}}))

    assert runs("refs/heads/wip/x"), "ticked push, yet nothing published: the log says why"
    assert not runs("refs/heads/wip/x", leg=1), "once per run, by its first leg"
    assert not runs("refs/heads/wip/x", push_input=False), "unticked: the run does what was asked"
    # env.PUSH ignores case (refs/heads/WIP/x as well as refs/heads/Main): every leg checks the ref before it logs in.
    assert runs("refs/heads/feature/x", leg=1), "it publishes: each leg checks the ref's case first"
    _lint(repo)


def test_manual_runs_that_could_never_publish_have_no_push_input(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", "version: 1\ntriggers: {branches: ['release/*'], tags: ['v*.*.*']}\n"
                                    "images:\n  app: {strategy: qemu}\n")
    assert run("-C", str(repo)).code == 0
    out = generated(repo)
    assert out.workflows["multiarch-app.yml"]["on"]["workflow_dispatch"] is None
    assert not _publishes(out, "workflow_dispatch", "refs/tags/v1.2.3")
    assert _publishes(out, "push", "refs/tags/v1.2.3")
    assert all("manual-note" not in [step.get("id") for step in job["steps"]] for job in out.jobs.values())
    _lint(repo)


def test_ref_condition_refuses_what_it_cannot_decide() -> None:
    assert ref_condition(("feature/*",), ()) == ("", (), ())
    assert ref_condition(("main", "!{x}"), ()) == ("", (), ())  # an undecidable negation excludes what came before
    assert ref_condition(("it's",), ()) == ("github.ref == 'refs/heads/it''s'", ("it's",), ("^refs/heads/it's$",))


# ------------------------------------------------------------------------------------------ runners

SELF_HOSTED = """\
version: 1
{triggers}
images:
  app:
    strategy: native
    platforms: [amd64, arm64, armv7]
    runners:
      linux/arm64: [self-hosted, linux, arm64]
      linux/arm/v7: big-box
    test: {{command: [--version]}}
"""


def _legs(repo: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The engine's legs job and the rows the call of `app` hands it."""
    out = generated(repo)
    assert out.jobs["legs"]["strategy"]["matrix"]["include"] == "${{ fromJSON(inputs.legs) }}"
    return out.jobs["legs"], out.legs("app")


def _runner(build: dict[str, Any], leg: dict[str, Any], github: dict[str, Any]) -> Any:
    return evaluate(build["runs-on"], {"github": github, "matrix": leg})


def test_pull_requests_never_run_on_self_hosted_runners(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", SELF_HOSTED.format(triggers=""))
    assert run("-C", str(repo)).code == 0
    build, legs = _legs(repo)
    pull = _github("pull_request", "refs/pull/1/merge",
                   event={"pull_request": {"head": {"repo": {"full_name": "acme/app"}}}})
    push = _github("push", "refs/heads/main")
    assert [_runner(build, leg, pull) for leg in legs] == ["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-24.04"]
    assert [_runner(build, leg, push) for leg in legs] == [
        "ubuntu-24.04", ["self-hosted", "linux", "arm64"], "big-box"]
    assert [leg.get("qemu", "") for leg in legs] == ["", "", "arm"], "armv7 emulates on either runner"
    # The call says each leg's runner and, in its row, the stand-in pull requests get; the engine says why.
    call = (repo / ".github/workflows/multiarch-app.yml").read_text()
    assert ("linux/arm64 on self-hosted+linux+arm64 (pull requests: ubuntu-24.04-arm), "
            "linux/arm/v7 on big-box (QEMU; pull requests: ubuntu-24.04)") in call, "the comment names the stand-ins"
    assert [leg.get("pr-runner") for leg in legs] == [None, "ubuntu-24.04-arm", "ubuntu-24.04"]
    assert '"runner": ["self-hosted", "linux", "arm64"], "pair": "linux-arm64", "pr-runner": "ubuntu-24.04-arm"' in call
    assert "On pull requests a GitHub-hosted pr-runner stands in for a self-hosted one" in \
        (repo / ".github/workflows/multiarch.yml").read_text()
    _lint(repo)


def test_the_opt_in_still_keeps_forks_off_self_hosted_runners(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", SELF_HOSTED.format(triggers="triggers: {self-hosted-pull-requests: true}"))
    assert run("-C", str(repo)).code == 0
    build, legs = _legs(repo)
    own, fork, gone = (_github("pull_request", "refs/pull/1/merge", event={"pull_request": {"head": {"repo": repo}}})
                       for repo in ({"full_name": "acme/app"}, {"full_name": "eve/app"}, None))
    arm = legs[1]
    assert _runner(build, arm, own) == ["self-hosted", "linux", "arm64"]
    assert _runner(build, arm, fork) == "ubuntu-24.04-arm"
    assert _runner(build, arm, gone) == "ubuntu-24.04-arm", "a deleted fork is a fork"
    assert _runner(build, arm, _github("push", "refs/heads/main")) == ["self-hosted", "linux", "arm64"]
    _lint(repo)


def test_hosted_runners_need_no_stand_in(tmp_path: Path, run: Runner) -> None:
    spec = SELF_HOSTED.format(triggers="").replace("[self-hosted, linux, arm64]", "ubuntu-22.04-arm") \
        .replace("big-box", "ubuntu-24.04-arm")
    repo = _repo(tmp_path / "repo", spec)
    assert run("-C", str(repo)).code == 0
    build, legs = _legs(repo)
    assert build["runs-on"] == "${{ matrix.runner }}"
    assert all("pr-runner" not in leg for leg in legs)


def test_self_hosted_runners_without_pull_requests_need_no_stand_in(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", SELF_HOSTED.format(triggers="triggers: {pull-requests: false}"))
    assert run("-C", str(repo)).code == 0
    build, legs = _legs(repo)
    assert build["runs-on"] == "${{ matrix.runner }}"
    assert all("pr-runner" not in leg for leg in legs)


# ------------------------------------------------------------------------------------------ smoke tests


def test_a_whole_number_written_as_a_float_stays_a_whole_number(tmp_path: Path, run: Runner) -> None:
    repo = _repo(tmp_path / "repo", "version: 1\nimages:\n  app:\n    strategy: qemu\n    timeout-minutes: 30.0\n"
                                    "    test: {command: --version, expect-exit: 1.0, timeout-seconds: 60.0}\n")
    assert run("-C", str(repo)).code == 0, "the schema's integers admit 1.0"
    out = generated(repo)
    given = {name: out.with_("app")[name] for name in ("expect-exit", "test-timeout", "timeout")}
    assert given == {"expect-exit": 1, "test-timeout": 60, "timeout": 30}
    assert all(type(value) is int for value in given.values()), given
    assert "expect-exit: 1\n" in (repo / ".github/workflows/multiarch-app.yml").read_text(), "never 1.0"
    assert all(out.inputs[name]["type"] == "number" for name in given)
    smoke = out.step("legs", "smoke-test")
    assert (smoke["env"]["EXPECT_EXIT"], smoke["env"]["TIMEOUT"]) == ("${{ inputs.expect-exit }}",
                                                                      "${{ inputs.test-timeout }}")
    assert out.jobs["legs"]["timeout-minutes"] == "${{ inputs.timeout }}"


# ------------------------------------------------------------------------------------------ drift guard


def _fake_wheel(directory: Path, version: str, message: str) -> Path:
    """A wheel named like gen-workflows whose console script echoes its arguments: enough to prove what the
    guard's install step accepts and refuses, without the network."""
    import base64
    import hashlib
    import zipfile

    info = f"gen_workflows-{version}.dist-info"
    files = {
        "fake_guard.py": f"import sys\n\ndef main():\n    print({message!r}, *sys.argv[1:])\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: gen-workflows\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/entry_points.txt": "[console_scripts]\ngen-workflows = fake_guard:main\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = directory / f"gen_workflows-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), text)
    return wheel


def _guard_steps(repo: Path) -> dict[str, dict[str, Any]]:
    """The drift guard's steps by id."""
    return {step["id"]: step for step in _workflow(repo, "multiarch-check.yml")["jobs"]["check"]["steps"]}


def _run_step(step: dict[str, Any], repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` step as the runner runs it: bash -e, and the directories earlier steps added to GITHUB_PATH
    in front of PATH."""
    added = Path(env["GITHUB_PATH"]).read_text().split() if Path(env["GITHUB_PATH"]).exists() else []
    env = {**env, "PATH": ":".join([*reversed(added), env["PATH"]])}
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True)


def test_the_drift_guard_installs_only_what_the_requirements_pin_by_hash(tmp_path: Path, run: Runner) -> None:
    import hashlib
    import os

    repo = _repo(tmp_path / "repo", "version: 1\ncheck-workflow: true\nimages:\n  app: {strategy: qemu}\n")
    assert run("-C", str(repo)).code == 0
    steps = _guard_steps(repo)
    install, check = steps["install"], steps["check"]
    assert "pipx" not in install["run"] + check["run"]
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel = _fake_wheel(wheels, "0.1.0", "checked")
    requirements = repo / ".github/gen-workflows-requirements.txt"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "RUNNER_TEMP": str(tmp_path / "runner"),
           "GITHUB_PATH": str(tmp_path / "github_path"),
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    requirements.write_text("gen-workflows==0.1.0\n", encoding="utf-8")  # pinned, but no hash
    refused = _run_step(install, repo, env)
    assert refused.returncode != 0
    assert "hash" in refused.stdout + refused.stderr

    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements.write_text(f"gen-workflows==0.1.0 \\\n    --hash=sha256:{sha}\n", encoding="utf-8")
    _fake_wheel(wheels, "0.1.0", "tampered")  # same name, other bytes: a swapped artifact
    refused = _run_step(install, repo, env)
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stdout + refused.stderr

    _fake_wheel(wheels, "0.1.0", "checked")
    installed = _run_step(install, repo, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    ran = _run_step(check, repo, env)
    assert (ran.returncode, ran.stdout) == (0, "checked --check\n"), "the venv's gen-workflows, not another"
