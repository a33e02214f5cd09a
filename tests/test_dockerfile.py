"""Dockerfile analysis: stages, build-platform stages, RUN steps that execute for the target, and errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# BuildKit's parser has no wheel for every platform (see generator/dockerfile/__init__.py); where it is missing,
# test_missing_parser_is_a_user_error below is what users get.
pytest.importorskip("dockerfile", reason="BuildKit's parser (the `dockerfile` package) is not installed")

from generator.dockerfile import DockerfileInfo, RunStep, Stage, analyse_dockerfile, read_dockerfile
from generator.errors import UserError

DOCKERFILES = Path(__file__).parent / "data" / "dockerfiles"


def load(name: str) -> DockerfileInfo:
    return read_dockerfile(DOCKERFILES / f"{name}.Dockerfile", f"{name}.Dockerfile")


def error(text: str) -> tuple[int, int, str, str]:
    with pytest.raises(UserError) as caught:
        analyse_dockerfile(text, "Dockerfile")
    (problem,) = caught.value.problems
    assert problem.file == "Dockerfile"
    return problem.line, problem.column, problem.message, problem.hint


def runs_of(info: DockerfileInfo, target: str | None = None) -> list[tuple[str, int, str]]:
    return [(stage.name, run.line, run.heavy) for stage, run in info.target_platform_runs(target)]


# ---------------------------------------------------------------------------------------------- stages


def test_go_cross_compile_runs_everything_on_the_build_platform() -> None:
    info = load("go-cross")
    build, final = info.stages
    assert (build.index, build.name, build.line, build.base) == (0, "build", 3, "golang:1.22-bookworm")  # ARG default
    assert build.platform == "$BUILDPLATFORM"
    assert build.build_platform
    assert build.uses_target_args
    assert [(r.line, r.heavy) for r in build.runs] == [(6, ""), (9, "go build")]
    assert (final.name, final.base, final.build_platform, final.runs, final.needs) == (
        "", "gcr.io/distroless/static-debian12:nonroot", False, (), (0,))
    assert not final.uses_target_args
    assert runs_of(info) == []


def test_braced_buildplatform_and_copy_only_final_stage() -> None:
    info = load("copy-only")
    assets, final = info.stages
    assert assets.platform == "${BUILDPLATFORM}"
    assert assets.build_platform
    assert [r.heavy for r in assets.runs] == ["npm ci", "npm run build"]
    assert final.needs == (0,)
    assert runs_of(info) == []


def test_compile_in_a_target_stage_is_a_target_platform_run() -> None:
    info = load("heavy-cmake")
    assert [s.name for s in info.stages] == ["build", "runtime"]
    assert not any(s.build_platform for s in info.stages)
    # apt-get installing packages named cmake and make is light; running cmake is not.
    assert runs_of(info) == [("build", 2, ""), ("build", 8, "cmake"), ("runtime", 13, "")]


def test_target_selects_an_earlier_stage_and_only_what_it_needs() -> None:
    info = load("targets")
    assert [s.name for s in info.stages_for(None)] == ["base", "tools", "generated", "build", "final"]
    assert [s.name for s in info.stages_for("base")] == ["base"]
    assert [s.name for s in info.stages_for("BUILD")] == ["base", "tools", "generated", "build"]  # case-insensitive
    assert runs_of(info, "base") == [("base", 3, "")]
    assert runs_of(info, "build") == [("base", 3, ""), ("build", 12, ""), ("build", 13, "make")]


def test_platform_from_a_global_arg_and_inherited_through_from_stage() -> None:
    tools, generated = load("targets").stages[1:3]
    assert tools.platform == "${BUILDER_PLATFORM}"
    assert tools.build_platform  # ARG BUILDER_PLATFORM=$BUILDPLATFORM
    assert (generated.base, generated.platform, generated.build_platform, generated.needs) == ("tools", "", True, (1,))


def test_run_mount_from_is_a_dependency() -> None:
    build = load("targets").stages[3]
    assert build.name == "build"
    assert build.needs == (0, 2)  # FROM base, RUN --mount=...,from=generated


def test_unused_heavy_stage_does_not_count() -> None:
    info = load("unused-stage")
    docs = info.stages[0]
    assert docs.runs[1].heavy == "make"
    assert [s.name for s in info.stages_for(None)] == ["build", ""]
    assert runs_of(info) == []
    assert runs_of(info, "docs") == [("docs", 2, ""), ("docs", 4, "make")]


def test_copy_from_index_is_a_stage_and_copy_from_image_is_not() -> None:
    info = load("copy-from-index")
    final = info.stages[-1]
    assert final.needs == (0,)  # --from=0; --from=alpine:3 is an image, though a stage is named "unrelated"
    assert [s.index for s in info.stages_for(None)] == [0, 2]
    assert runs_of(info) == [("", 4, "cargo build")]


def test_stage_names_are_lower_cased_and_copy_from_matches_any_case() -> None:
    info = analyse_dockerfile("FROM alpine AS Builder\nRUN make\nFROM scratch\nCOPY --from=BUILDER /a /a\n", "D")
    assert info.stages[0].name == "builder"
    assert info.stages[1].needs == (0,)
    assert info.find_stage("BuilDer") is info.stages[0]
    assert info.find_stage("nope") is None


def test_target_platform_and_fixed_platforms_are_not_the_build_platform() -> None:
    info = analyse_dockerfile(
        "FROM --platform=$TARGETPLATFORM alpine AS a\nRUN true\n"
        "FROM --platform=linux/amd64 alpine AS b\nRUN true\n"
        "FROM --platform=\"$BUILDPLATFORM\" alpine AS c\nRUN true\n"
        "FROM --platform=${BUILDOS}/${BUILDARCH} alpine AS d\nRUN true\n",
        "D")
    assert [(s.name, s.build_platform) for s in info.stages] == [("a", False), ("b", False), ("c", True), ("d", True)]
    assert info.stages[0].uses_target_args


def test_an_arg_without_default_is_not_a_platform() -> None:
    info = analyse_dockerfile("ARG PLATFORM\nFROM --platform=$PLATFORM alpine\nRUN true\n", "D")
    assert not info.stages[0].build_platform


def test_stages_come_back_in_file_order() -> None:
    info = analyse_dockerfile(
        "FROM alpine AS late\nRUN true\nFROM alpine AS early\nRUN true\n"
        "FROM scratch\nCOPY --from=early /a /a\nCOPY --from=late /b /b\n", "D")
    assert [s.name for s in info.stages_for(None)] == ["late", "early", ""]


# ------------------------------------------------------------------------------------- syntax, parsed right


def test_heredoc_script_is_read_and_its_body_makes_no_stage() -> None:
    info = load("heredoc")
    assert len(info.stages) == 1  # "FROM busybox AS phantom" is a line of a heredoc, not an instruction
    script, conf = info.stages[0].runs
    assert script == RunStep(
        3, 'set -eux; apt-get update; apt-get install -y build-essential; ./configure --prefix=/usr; make -j"$(nproc)"',
        "configure")
    assert conf.line == 10
    assert conf.heavy == ""  # the body of `cat <<EOF > file` is data


def test_heredoc_written_to_a_file_is_data_and_a_heredoc_fed_to_a_shell_is_a_script() -> None:
    motd, script = load("data-heredoc").stages[0].runs
    assert (motd.line, motd.heavy) == (3, "")  # its body says "make" and "cargo build": it is a file's content
    assert (script.line, script.command) == (7, "sh -e; apk add --no-cache curl")
    heavy = analyse_dockerfile("FROM alpine\nRUN <<EOF bash -ex\ncargo build\nEOF\n", "D").stages[0].runs[0]
    assert heavy.heavy == "cargo build"


def test_line_continuations_skip_comments_and_blank_lines() -> None:
    first, second = load("continuations").stages[0].runs
    # BuildKit drops the comment line and the blank line inside the continuation: "curl" is not an instruction.
    assert first == RunStep(2, "apk add --no-cache build-base curl", "")
    assert second == RunStep(7, "echo one && echo two && make -j4", "make")


def test_escape_directive_and_crlf() -> None:
    info = load("escape")
    (stage,) = info.stages
    assert stage.line == 2
    (run,) = stage.runs
    assert run == RunStep(3, "powershell -Command Write-Host hello ; msbuild app.sln", "msbuild")


def test_exec_form_and_shell_c() -> None:
    info = analyse_dockerfile('FROM alpine\nRUN ["/bin/sh", "-c", "cd /src && make all"]\nRUN ["echo", "make"]\n', "D")
    first, second = info.stages[0].runs
    assert (first.command, first.heavy) == ("/bin/sh -c cd /src && make all", "make")
    assert second.heavy == ""


def test_onbuild_run_does_not_run_in_this_build() -> None:
    info = analyse_dockerfile("FROM alpine\nONBUILD RUN make\n", "D")
    assert info.stages[0].runs == ()


@pytest.mark.parametrize(("command", "heavy"), [
    ("make", "make"),
    ("apt-get update && apt-get install -y cmake make gcc", ""),
    ("apk add --no-cache build-base", ""),
    ("CGO_ENABLED=0 GOOS=linux go build -o /x ./...", "go build"),
    ("go mod download", ""),
    ("./configure --prefix=/usr && make -j$(nproc)", "configure"),
    ("python3 -m pip install -r requirements.txt", "pip install"),
    ("pip3.12 install --no-cache-dir .", "pip install"),
    ("npm ci --omit=dev", "npm ci"),
    ("npm run lint", ""),
    ("cargo +nightly build --release", "cargo build"),
    ("sudo -E make install", "make"),
    ("for d in a b; do make -C $d; done", "make"),
    ("if [ -f Makefile ]; then make; fi", "make"),
    ("/usr/bin/gcc-12 -O2 -o x x.c", "gcc"),
    ("aarch64-linux-gnu-gcc -o x x.c", "gcc"),
    ("bash -exc 'ninja -C build'", "ninja"),
    ("./gradlew --no-daemon build", "gradlew"),
    ("mvn -B package", "mvn"),
    ("echo 'make' > /notes && chmod 600 /notes && useradd app", ""),
    ("echo \"unbalanced && make", "make"),
    # ROS and friends (issue 16): the heaviest command names the step, not the first heavy-looking one.
    ("vcs import src < ros.repos && colcon build --merge-install", "colcon build"),
    ("pip install -U vcstool && . /opt/ros/humble/setup.sh && colcon build", "colcon build"),
    ("rosdep install -y --from-paths src && catkin_make -j4", "catkin_make"),
    ("catkin build --no-status", "catkin build"),
    ("catkin config --extend /opt/ros/noetic", ""),
    ("npx node-gyp rebuild", "node-gyp rebuild"),
    ("npm ci && npm run build", "npm run build"),
    ("python3 -m build --wheel", "python -m build"),
    ("python setup.py bdist_wheel", "python setup.py bdist_wheel"),
    ("pip wheel --no-binary :all: -w /wheels numpy", "pip wheel"),
    ("meson setup build && meson compile -C build", "meson setup"),
    ("ccache g++ -O2 -c x.cc", "g++"),
    ("bitbake core-image-minimal", "bitbake"),
    ("vcs import src < ros.repos", ""),
])
def test_heavy_commands_in_command_position(command: str, heavy: str) -> None:
    info = analyse_dockerfile(f"FROM alpine\nRUN {command}\n", "D")
    assert info.stages[0].runs[0].heavy == heavy


# ------------------------------------------------------------------------------------------------ errors


def test_unterminated_heredoc_is_located_at_its_run() -> None:
    with pytest.raises(UserError) as caught:
        load("syntax-error")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.column) == ("syntax-error.Dockerfile", 3, 1)
    assert "unterminated heredoc" in problem.message
    assert "<<NAME" in problem.hint


def test_unterminated_heredoc_after_a_good_one() -> None:
    line, _, message, _ = error("FROM alpine\nRUN <<EOF\necho ok\nEOF\nRUN true\nRUN <<END\necho never\n")
    assert line == 6
    assert "unterminated heredoc" in message


def test_unknown_instruction_with_did_you_mean() -> None:
    with pytest.raises(UserError) as caught:
        load("unknown-instruction")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (3, 3)
    assert problem.message == "unknown instruction RUNN"
    assert problem.hint == 'did you mean "RUN"?'
    assert str(caught.value).startswith("unknown-instruction.Dockerfile:3:3: unknown instruction RUNN")


def test_no_from_at_all() -> None:
    with pytest.raises(UserError) as caught:
        load("no-from")
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (3, 1)
    assert "no FROM" in problem.message
    line, _, message, _ = error("ARG A=1\nARG B=2\n")
    assert line == 2
    assert "no FROM" in message


def test_instruction_before_the_first_from() -> None:
    assert error("ARG A=1\nENV B=2\nFROM alpine\n")[:3] == (2, 1, "ENV before the first FROM")


def test_empty_file() -> None:
    line, _, message, hint = error("# only a comment\n\n")
    assert (line, message) == (1, "the Dockerfile has no instructions")
    assert "FROM" in hint


def test_invalid_escape_directive() -> None:
    line, _, message, hint = error("# syntax=docker/dockerfile:1\n# escape=x\nFROM alpine\n")
    assert line == 2
    assert "invalid escape token" in message
    assert "`" in hint


@pytest.mark.parametrize(("text", "line", "column", "message"), [
    ("FROM alpine AS\n", 1, 1, "FROM takes an image and optionally AS <name>"),
    ("FROM alpine build\n", 1, 1, "FROM takes an image and optionally AS <name>"),
    ("FROM alpine\nFROM  debian AS 1st\n", 2, 17, 'invalid stage name "1st"'),
    ("FROM alpine AS a\nFROM alpine AS A\n", 2, 16, 'duplicate stage name "a"'),
    ("FROM alpine\nRUN ok\nFROM alpine\0\n", 3, 12, "the Dockerfile contains a NUL character"),
])
def test_malformed_from_lines(text: str, line: int, column: int, message: str) -> None:
    assert error(text)[:3] == (line, column, message)


def test_platform_flag_without_equals_sign_has_a_hint() -> None:
    assert "equals sign" in error("FROM --platform $BUILDPLATFORM alpine\n")[3]


def test_unknown_target_names_the_stages() -> None:
    info = load("targets")
    with pytest.raises(UserError) as caught:
        info.stages_for("buidl")
    (problem,) = caught.value.problems
    assert problem.file == "targets.Dockerfile"
    assert problem.message == 'no build stage named "buidl" (the target)'
    assert problem.hint.startswith('did you mean "build"? named stages: "base", "tools"')
    with pytest.raises(UserError):
        info.target_platform_runs("buidl")


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        read_dockerfile(tmp_path / "missing", "app/Dockerfile")
    assert caught.value.problems[0].file == "app/Dockerfile"
    assert caught.value.problems[0].message == "Dockerfile not found"
    latin = tmp_path / "latin.Dockerfile"
    latin.write_bytes(b"FROM alpine\nLABEL author=\"Jos\xe9\"\n")
    with pytest.raises(UserError) as caught:
        read_dockerfile(latin, "latin.Dockerfile")
    assert (caught.value.problems[0].line, caught.value.problems[0].message) == (2, "the Dockerfile is not UTF-8 text")


def test_a_bom_is_not_part_of_the_first_instruction(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"\xef\xbb\xbfFROM alpine AS base\r\nRUN make\r\n")
    info = read_dockerfile(path, "Dockerfile")
    assert info.stages == (Stage(0, "base", "alpine", 1, "", False, (RunStep(2, "make", "make"),), False, ()),)


def test_missing_parser_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dockerfile", None)  # what `import dockerfile` meets where no wheel installed
    line, _, message, hint = error("FROM alpine\n")
    assert line == 0
    assert "needs the `dockerfile` package" in message
    assert "Go toolchain" in hint
    assert "`strategy:`" in hint


# ---------------------------------------------------------------------------------- control characters


@pytest.mark.parametrize("char", [chr(c) for c in (1, 7, 8, 0x0E, 0x1B, 0x1F, 0x7F, 0x85, 0x9B, 0x2028, 0x2029)])
def test_a_control_character_on_an_instruction_line_is_refused_where_it_is(char: str) -> None:
    line, column, message, hint = error(f"FROM alpine\nRUN echo a{char}b\n")
    assert (line, column) == (2, 11)
    assert message == f"a control character (U+{ord(char):04X}) in an instruction"
    assert "printf '\\033'" in hint
    assert error(f"FROM alpine\nRUN echo \\\n    a \\\n  b{char}\n")[:2] == (4, 4)  # on a continued line
    assert error(f"FROM alpine AS b{char}\n")[:2] == (1, 17)


@pytest.mark.parametrize("blank", ["\t", "\v", "\f", "\r"])
def test_the_blanks_buildkit_reads_as_blanks_are_accepted(blank: str) -> None:
    info = analyse_dockerfile(f"FROM alpine{blank}AS{blank}base\nRUN{blank}make{blank}-j4\n", "D")
    assert info.stages[0].name == "base"
    assert info.stages[0].runs[0].heavy == "make"


def test_comments_and_heredoc_bodies_are_data_and_may_hold_control_characters() -> None:
    info = analyse_dockerfile("FROM alpine\n# \x1b[31mred\x1b[0m\nCOPY <<EOF /etc/motd\n\x1b[1mhello\x9b\nEOF\n"
                              "RUN <<EOF\nprintf '\x1b[1m'\nmake\nEOF\n", "D")
    (run,) = info.stages[0].runs
    assert run.command == "printf '\x1b[1m'; make"  # kept as it is; whatever shows a reason escapes it
    assert run.heavy == "make"


def test_flags_are_read_as_utf8() -> None:
    # The binding hands flags over decoded as Latin-1; ł (UTF-8 C5 82) would arrive as "\u00c5\x82".
    info = analyse_dockerfile("FROM --platform=linux/\u0142 alpine AS a\nFROM scratch\nCOPY --from=a /x /x\n", "D")
    assert info.stages[0].platform == "linux/\u0142"
    assert info.stages[1].needs == (0,)
