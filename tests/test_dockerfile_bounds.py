"""A Dockerfile from a pull request (issue 12): bounded work whatever it holds, parse errors located in
O(log n) parses, the scan that finds BuildKit's instructions agreeing with BuildKit, and any text giving
an analysis or a located UserError, never a crash. Work is counted (calls of the parser, text parsed),
never timed: benchmarks/dockerfile_bounds.py measures the time."""

from __future__ import annotations

import json
import math
import shlex
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

buildkit = pytest.importorskip("dockerfile", reason="BuildKit's parser (the `dockerfile` package) is not installed")

from generator.dockerfile import (  # noqa: E402  (after the skip: the module needs the parser to be useful)
    LONG_WORDS,
    MAX_BYTES,
    MAX_CONTINUED_LINES,
    MAX_LINE_BYTES,
    MAX_LINES,
    MAX_WORD,
    analyse_dockerfile,
    read_dockerfile,
)
from generator.dockerfile.scan import scan_layout  # noqa: E402
from generator.dockerfile.shell import shell_words  # noqa: E402
from generator.errors import Problem, UserError  # noqa: E402

from .test_robustness import check_refusal_or_success, invoke, make_repo  # noqa: E402

MEGABYTE = 1 << 20


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text handed to BuildKit's parser, in order."""
    calls: list[int] = []
    real = buildkit.parse_string

    def counting(text: str) -> object:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(buildkit, "parse_string", counting)
    return calls


def refusal(text: str) -> Problem:
    with pytest.raises(UserError) as caught:
        analyse_dockerfile(text, "Dockerfile")
    (problem,) = caught.value.problems
    assert problem.file == "Dockerfile"
    return problem


def most_parses(instructions: int) -> int:
    """The whole file, one parse per halving of its instructions, and the check of the one found."""
    return 2 + math.ceil(math.log2(instructions))


# ------------------------------------------------------------------------------------- the size cap

# The shapes that were superlinear (issue 12: 53 s for a 39 KB unterminated heredoc), at a megabyte.
MEGABYTE_CASES = {
    "unterminated heredoc": "FROM alpine\nRUN <<EOF\n" + "echo hi\n" * (MEGABYTE // 8),
    "100k-line continuation": "FROM alpine\nRUN echo \\\n" + "  a \\\n" * 100_000 + "  b\n",
    "many instructions": "FROM alpine\n" + "RUN echo hi\n" * (MEGABYTE // 12),
    "one word continued": "FROM alpine\nRUN " + ("x" * 1023 + "\\\n") * 1024 + "\n",
}


@pytest.mark.parametrize("case", list(MEGABYTE_CASES))
def test_a_megabyte_dockerfile_is_refused_before_any_parse(case: str, tmp_path: Path, parses: list[int]) -> None:
    text = MEGABYTE_CASES[case]
    assert len(text.encode()) > MAX_BYTES
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as caught:
        read_dockerfile(path, "app/Dockerfile")
    (problem,) = caught.value.problems
    assert (problem.file, problem.line) == ("app/Dockerfile", 1)
    assert problem.message == f"the Dockerfile is {len(text.encode())} bytes; the limit is {MAX_BYTES}"
    # The bound holds for text handed over directly, too.
    assert refusal(text).message == f"the Dockerfile is over {MAX_BYTES} bytes"
    assert parses == []


def test_a_dockerfile_of_exactly_the_cap_is_read(parses: list[int]) -> None:
    head = "FROM alpine\nRUN make\n"
    lines, rest = divmod(MAX_BYTES - len(head), 100)
    text = head + ("#" * 99 + "\n") * lines + "#" * (rest - 1) + "\n"
    assert len(text.encode()) == MAX_BYTES
    assert analyse_dockerfile(text, "Dockerfile").stages[0].runs[0].heavy == "make"
    assert refusal(text + "\n").message == f"the Dockerfile is over {MAX_BYTES} bytes"
    assert len(parses) == 1


# --------------------------------------------------------------------------- bounds on what costs most


def continued(lines: int) -> str:
    """An instruction over `lines` lines."""
    return "RUN apk add \\\n" + "    pkg \\\n" * (lines - 2) + "    last\n"


def heredoc(body_lines: int, line: str = "echo make\n") -> str:
    return "RUN <<EOF\n" + line * body_lines + "EOF\n"


def label(length: int) -> str:
    """A LABEL whose one word, a="x x ...", is `length` characters long."""
    return 'LABEL a="' + ("x " * length)[: length - 4] + '"\n'


LONG = 4 * MAX_WORD  # a word in a heredoc body: allowed, but counted (see _check_bodies)

# (the Dockerfile under the bound, the same over it, where the problem is, and what it says)
BOUNDS = {
    "continued lines": (continued(MAX_CONTINUED_LINES), continued(MAX_CONTINUED_LINES + 1), (2, 1),
                        f"an instruction continued over {MAX_CONTINUED_LINES + 1} lines; the limit is "
                        f"{MAX_CONTINUED_LINES}"),
    "lines": ("RUN true\n" * (MAX_LINES - 1), "RUN true\n" * MAX_LINES, (MAX_LINES + 1, 1),
              f"the Dockerfile has more than {MAX_LINES} lines"),
    "long words in heredoc bodies": (heredoc(LONG_WORDS // LONG ** 2, "x" * LONG + "\n"),
                                     heredoc(LONG_WORDS // LONG ** 2 + 1, "x" * LONG + "\n"),
                                     (3 + LONG_WORDS // LONG ** 2, 1), "long words in heredoc bodies add up"),
    "a word": ("RUN echo " + "x" * MAX_WORD + "\n", "RUN echo " + "x" * (MAX_WORD + 1) + "\n", (2, 10),
               f"a word of {MAX_WORD + 1} characters"),
    "a quoted string": (label(MAX_WORD), label(MAX_WORD + 1), (2, 7), f"a word of {MAX_WORD + 1} characters"),
    "a word over lines": ("RUN --mount=" + ("x" * 8 + "\\\n") * ((MAX_WORD - 8) // 8) + "\n",
                          "RUN --mount=" + ("x" * 8 + "\\\n") * (MAX_WORD // 8) + "\n", (2, 5),
                          f"a word of {MAX_WORD + 8} characters"),
    "line length": ("RUN echo" + " ab" * ((MAX_LINE_BYTES - 8) // 3) + "\n",
                    "RUN echo" + " ab" * ((MAX_LINE_BYTES - 8) // 3 + 1) + "\n", (2, 1),
                    f"line longer than {MAX_LINE_BYTES} bytes (BuildKit's limit)"),
}


@pytest.mark.parametrize("bound", list(BOUNDS))
def test_what_would_cost_too_much_is_refused_at_its_line_before_any_parse(bound: str, parses: list[int]) -> None:
    under, over, (line, column), message = BOUNDS[bound]
    problem = refusal("FROM alpine\n" + over)
    assert (problem.line, problem.column) == (line, column)
    assert problem.message.startswith(message), problem.message
    assert problem.hint
    assert parses == []
    analyse_dockerfile("FROM alpine\n" + under, "Dockerfile")  # at the bound itself: read
    assert len(parses) == 1


# ------------------------------------------------------------------------------ locating parse errors


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_parse_error_is_located_in_logarithmic_parses(where: str, parses: list[int]) -> None:
    good = "RUN echo hello world and some more words\n"
    count = MAX_LINES - 2
    before = {"first": 0, "middle": count // 2, "last": count}[where]
    text = "FROM alpine\n" + good * before + "ENV novalue\n" + good * (count - before)
    problem = refusal(text)
    assert (problem.line, problem.column) == (before + 2, 1)
    assert problem.message == "cannot parse the Dockerfile: ENV must have two arguments"
    assert len(parses) <= most_parses(count + 2)
    assert sum(parses) <= 3 * len(text)  # the whole text, then halves of halves: O(n) text in all


def test_an_unterminated_heredoc_in_a_large_file_is_found_quickly(parses: list[int]) -> None:
    text = "FROM alpine\n" + "RUN true\n" * 2000 + heredoc(3) + "RUN <<END\n" + "echo never\n" * 2500
    problem = refusal(text)
    assert (problem.line, problem.message) == (2007, "cannot parse the Dockerfile: unterminated heredoc")
    assert "<<NAME" in problem.hint
    assert len(parses) <= most_parses(2003)


def test_a_long_parser_message_is_shortened() -> None:
    problem = refusal("FROM alpine\nENV a=b " + "x" * 1000 + "\n")
    assert (problem.line, problem.column) == (2, 1)
    assert problem.message.startswith("cannot parse the Dockerfile: Syntax error - can't find = in ")
    assert " ... " in problem.message
    assert len(problem.message) < 250


def test_errors_with_the_backtick_escape_are_located() -> None:
    text = "# escape=`\nFROM alpine\nRUN echo a `\n    b `\n    c\nENV `\n  novalue\nRUN ok\n"
    assert refusal(text).line == 6


def test_a_broken_parser_directive_is_located_before_any_parse(parses: list[int]) -> None:
    problem = refusal("# syntax=docker/dockerfile:1\n# escape=`\n  # escape=\\\nFROM alpine\n")
    assert (problem.line, problem.column) == (3, 3)
    assert problem.message == "cannot parse the Dockerfile: only one escape parser directive can be used"
    assert "once" in problem.hint
    problem = refusal("# escape=" + " " * 60_000 + "x\nFROM alpine\n")  # no backtracking on the blanks
    assert problem.message.startswith("cannot parse the Dockerfile: invalid escape token '")
    assert parses == []
    # What BuildKit says of them, word for word:
    for text in ("# escape=`\n# escape=\\\nFROM a\n", "# escape=x\nFROM a\n"):
        with pytest.raises(buildkit.GoParseError) as caught:
            buildkit.parse_string(text)
        assert refusal(text).message == f"cannot parse the Dockerfile: {caught.value}"


def test_the_bounds_hold_where_buildkit_reads_a_heredoc_body_as_instructions(parses: list[int]) -> None:
    """BuildKit's lexer fails on a quote inside ${...}, and then finds no heredoc; this scan finds one.
    Whichever is right, the lines are bounded as both: as heredoc data and as instructions."""
    opener = "FROM alpine\nRUN <<EOF ${x:-'}\n"
    words = LONG_WORDS // LONG ** 2
    under = opener + ("RUN " + "x" * LONG + "\n") * words  # here the body runs to the end of the file
    assert len(analyse_dockerfile(under, "Dockerfile").stages[0].runs) == 1 + words  # BuildKit: instructions
    problem = refusal(opener + ("RUN " + "x" * LONG + "\n") * (words + 1))
    assert (problem.line, problem.column) == (3 + words, 5)
    assert problem.message.startswith("long words in heredoc bodies add up to too much")
    assert len(parses) == 1  # the refused one was never parsed


# Blocks of a Dockerfile: each holds its instructions' lines whole, so the line each starts on is known.
GOOD_BLOCKS = [
    "RUN echo hi\n",
    "# a comment, with <<EOF in it\n",
    "\n",
    "RUN apk add \\\n    curl \\\n    git\n",
    "RUN a \\\n# a comment inside\n\n    b\n",
    "RUN <<EOF\necho a\nFROM phantom\nEOF\n",
    "COPY <<-EOT /etc/x\n\tdata\n\tEOT\n",
    "RUN cat <<EOF >/x && cat <<'END' >/y\none\nEOF\ntwo\nEND\n",
    'RUN ["sh", "-c", "echo <<EOF"]\n',
    "RUN echo '<<EOF'\n",
    "RUN echo <<EOF 'never closed\nRUN echo not a heredoc body\n",
    "ENV A=1 B=2\n",
    "LABEL a=b c=\"d e\"\n",
    "COPY --from=0 /a /b\n",
    "   RUN indented \\   \n  continued\n",
    "RUN trailing \\\\\n",
    "ONBUILD RUN make\n",
]
BROKEN_BLOCKS = ["ENV novalue\n", "LABEL novalue\n", "ENV \\\n  novalue\n", "ONBUILD ENV novalue\n",
                 "ENV a=b c\n"]


@settings(max_examples=150, deadline=timedelta(seconds=5), suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(GOOD_BLOCKS), max_size=12), st.sampled_from(BROKEN_BLOCKS),
       st.lists(st.sampled_from(GOOD_BLOCKS), max_size=12), st.booleans())
def test_the_broken_instruction_is_the_one_reported(before: list[str], broken: str, after: list[str],
                                                    unterminated: bool) -> None:
    head = "FROM alpine\n" + "".join(before)
    text = head + broken + "".join(after)
    if unterminated:  # an unterminated heredoc at the end changes nothing: the parser stops earlier
        text += "RUN <<EOF\necho never\n"
    problem = refusal(text)
    assert problem.line == head.count("\n") + 1, text
    assert problem.message.startswith("cannot parse the Dockerfile: ")


@settings(max_examples=150, deadline=timedelta(seconds=5))
@given(st.lists(st.sampled_from(GOOD_BLOCKS), max_size=15))
def test_the_scan_finds_the_instructions_buildkit_finds(blocks: list[str]) -> None:
    text = "FROM alpine\n" + "".join(blocks)
    commands = buildkit.parse_string(text)
    extents = scan_layout(text, "Dockerfile").extents
    assert [(e.start, e.last) for e in extents] == [(c.start_line, c.end_line) for c in commands]


# --------------------------------------------------------------------------------- any text at all

# Pieces of Dockerfiles, the characters that matter to BuildKit's and our lexers, and control characters.
PIECES = st.one_of(
    st.sampled_from([*GOOD_BLOCKS, *BROKEN_BLOCKS, "FROM alpine AS build\n", "FROM build\n", "RUN <<EOF\n",
                     "EOF\n", "# escape=`\n", "# syntax=x\n", "ARG A=1\n", "FROM --platform=$BUILDPLATFORM a\n",
                     "RUN make\n", "COPY --from=build /a /b\n", "\\\n", "`\n", "\r\n"]),
    st.text(st.sampled_from(list("\\`'\"$<{}[] \t#-=\n\r\x0b\x0c\x1b\x7f\x85\x9b\u2028\xa0\ufeffaFRUN09")), max_size=8),
    st.text(max_size=4),
)


def assert_refused_well(error: UserError) -> None:
    for problem in error.problems:
        assert problem.file == "Dockerfile"
        assert problem.line >= 1, problem  # located: a file-wide problem is reported at its first line
        assert problem.message
        assert "\n" not in problem.render().replace("\n  hint: ", "", 1)


@settings(max_examples=400, deadline=timedelta(seconds=5))
@given(st.lists(PIECES, max_size=14))
def test_any_text_is_analysed_or_refused_with_a_located_message(pieces: list[str]) -> None:
    text = "".join(pieces)
    try:
        info = analyse_dockerfile(text, "Dockerfile")
    except UserError as err:
        assert_refused_well(err)
    else:
        assert info.stages


@settings(max_examples=200, deadline=timedelta(seconds=5))
@given(st.binary(max_size=64))
def test_any_bytes_are_analysed_or_refused_with_a_located_message(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Dockerfile"
        path.write_bytes(b"FROM alpine\nRUN make\n" + data)
        try:
            read_dockerfile(path, "Dockerfile")
        except UserError as err:
            assert_refused_well(err)


AUTO_SPEC = "version: 1\nimages:\n  app:\n    strategy: auto\n    platforms: [linux/amd64, linux/arm64]\n"


@settings(max_examples=40, deadline=timedelta(seconds=10), suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(PIECES, max_size=10))
def test_the_tool_reads_any_dockerfile_or_refuses_it_never_an_internal_error(pieces: list[str]) -> None:
    """Through the command line, where a control character once ended as exit 3 (in a workflow header)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = make_repo(Path(tmp) / "repo", AUTO_SPEC, {"Dockerfile": "FROM alpine\nRUN make\n" + "".join(pieces)})
        code, _ = check_refusal_or_success(root)
        for fmt in ("text", "json", "mermaid"):
            plan_code, out, err = invoke("plan", "--format", fmt, "-C", str(root))
            assert plan_code == code, err
            assert all(c.isprintable() or c in "\n " for c in out + err), out + err
        if code == 0:
            workflow = (root / ".github/workflows/multiarch-app.yml").read_text("utf-8")
            assert all(c.isprintable() or c in "\n " for c in workflow)


# ------------------------------------------------------------------------------ the shell tokenizer

SHELL_TEXT = st.text(st.sampled_from(list("ab \t\\'\"#;&|()<>$`{}=-./~!,[]\x0b\u00e9\u0142\r\n")), max_size=16)


@settings(max_examples=2000)
@given(SHELL_TEXT)
def test_shell_words_split_as_shlex_does(line: str) -> None:
    """The regex tokenizer replaced shlex (1 us a character) for speed, and must split alike."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.wordchars += "$`{}=:/.-+@%,~^"
        expected: list[str] | None = list(lexer)
    except ValueError:
        expected = None
    assert shell_words(line) == expected


# ------------------------------------------------------------------------- Dockerfile text in `plan`


def test_control_characters_from_a_dockerfile_reach_no_output_raw(tmp_path: Path) -> None:
    """A heredoc script is data BuildKit passes on, so it may hold control characters; the reason quoting it
    reaches `plan` in every format and the workflow header, escaped."""
    escapes = "\x1b[31m\x9b1m\x7f\u2028"
    dockerfile = f"FROM alpine\nRUN <<EOF\nprintf '{escapes}'\nEOF\n"
    root = make_repo(tmp_path / "repo", AUTO_SPEC, {"Dockerfile": dockerfile})
    code, out, err = invoke("-C", str(root))
    assert code == 0, err
    workflow = (root / ".github/workflows/multiarch-app.yml").read_text("utf-8")
    shown = "printf '\\x1b[31m\\x9b1m\\x7f '"  # the separator is a blank to str.split: folded like one
    assert shown in workflow
    for fmt in ("text", "json", "mermaid"):
        code, out, err = invoke("plan", "--format", fmt, "-C", str(root))
        assert code == 0, err
        assert all(c.isprintable() or c in "\n " for c in out), out
        if fmt == "text":
            assert shown in out
    (row,) = json.loads(invoke("plan", "--format", "json", "-C", str(root))[1])
    assert shown in row["reason"]


def test_plan_json_escapes_what_json_dumps_leaves_and_keeps_the_values() -> None:
    from generator.report import as_json

    rows = [{"reason": "del\x7f csi\x9b sep\u2028 bidi\u202e astral\U000e0001 tab\t é", "n": 1}]
    text = as_json(rows)
    assert all(c.isprintable() or c in "\n " for c in text)
    assert json.loads(text) == rows
    assert "\\u009b" in text
    assert "\\udb40\\udc01" in text  # outside the BMP: a surrogate pair
    assert "é" in text  # printable text stays as it is


def test_arg_defaults_that_double_at_each_line_are_refused_where_they_outgrow_the_bound() -> None:
    """ARG A2=${A1}${A1} doubles per line: 40 such lines (828 bytes) once expanded to gigabytes."""
    from generator.dockerfile.analysis import MAX_EXPANDED

    lines = ["ARG A0=xx"] + [f"ARG A{i}=${{A{i - 1}}}${{A{i - 1}}}" for i in range(1, 40)]
    text = "\n".join([*lines, "FROM alpine:${A39}", "RUN make", ""])
    with pytest.raises(UserError) as caught:
        analyse_dockerfile(text, "Dockerfile")
    (problem,) = caught.value.problems
    first_too_long = next(i for i in range(40) if 2 ** (i + 1) > MAX_EXPANDED)
    assert (problem.line, problem.message) == (
        first_too_long + 1, f"a value expands to more than {MAX_EXPANDED} characters through ARG defaults")
    # Just under the bound, the same chain is read as BuildKit reads it.
    fits = "\n".join(["ARG A0=xx", "ARG A1=${A0}${A0}", "FROM alpine:${A1}", "RUN make", ""])
    assert analyse_dockerfile(fits, "Dockerfile").stages[0].base == "alpine:xxxx"
