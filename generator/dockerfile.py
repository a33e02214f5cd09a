"""What a Dockerfile builds: its stages, which of them run on the build platform, and which RUN steps
execute for the target platform (those need emulation or a native runner).

The parser is `dockerfile` (PyPI), a CPython binding of BuildKit's own parser (moby/buildkit v0.12.5,
`frontend/dockerfile/parser`), chosen over the pure-Python `dockerfile-parse` because `auto` must read a
Dockerfile the way `docker buildx build` will:

- heredocs: `dockerfile-parse` 2.0.1 has none (containerbuildsystem/dockerfile-parse#145, open); it turns
  every line of a `RUN <<EOF` body into an instruction of its own, so a body line `FROM busybox` becomes
  a phantom stage and `make` inside the script is missed. BuildKit's parser returns the body with the RUN.
- line continuations: `dockerfile-parse` ends an instruction at an empty line inside a continuation
  (`apk add \\`, blank line, `curl` becomes an instruction `CURL`); BuildKit skips such lines, and
  comment lines, as `docker build` does. Both handle `# escape=` and `# syntax=`, CRLF and a BOM.
- same answer as the builder: instruction splitting, flags (`--platform=`, `--from=`, `--mount=`) and
  exec-form JSON come from the code Docker runs, not from our reading of the reference.

What it costs, and why it is still the better trade:

- wheels (3.4.0, abi3 so one wheel serves every CPython >= 3.9, 3.14 included): Linux x86-64
  (manylinux1), macOS x86-64 (13+) and arm64 (14+), Windows x64. None for Linux aarch64 (arm64 dev
  containers, Graviton), musllinux, or Windows arm64: there pip builds the sdist, which needs a Go
  toolchain. So the dependency is declared only where a wheel exists (an environment marker), the
  import is lazy, and a missing parser is a UserError that says what to do: only reading a Dockerfile
  (strategy `auto`) needs it, and the rest of the tool installs everywhere.
- the project was archived in 2025-01 after 3.4.0. The parser's syntax has been stable since heredocs
  (2022), and everything we read of it is wrapped in two functions (`_parse`, `_instruction`), so a
  fork or another binding is a contained change.
- a second parser as fallback is ruled out: the same spec must give the same workflow on every machine
  (pre-commit and `--check` compare bytes), and two parsers would disagree exactly on heredocs.

What the parser does not check, and BuildKit would refuse (unknown instructions, instructions before
the first FROM, malformed FROM lines, bad or duplicate stage names), is checked here, so a broken
Dockerfile is reported with its line instead of deciding a strategy from garbage.

Bounds. A Dockerfile may come from a pull request, and this parser (v0.12.5) is superlinear in places:
it grows strings one piece at a time, so a word (a run of text without blanks, or a quoted string) costs
the square of its length, and so do the lines an instruction continues over and the lines of a heredoc
body. Measured here: one 64 KiB word takes 1-2.5 s, a 640 KB heredoc 16 s, a 1 MiB continued word over
two minutes. So before the parser sees a Dockerfile, `_scan` reads its line structure the way BuildKit
does (linear, no parsing) and refuses what would cost too much (the MAX_* constants below, each with its
cost), with the line. The scan also serves to find the line of a parse error, which BuildKit's parser
does not report: the instructions are parsed in halves (O(log n) parses, O(n) work in all), never each
prefix of the file.
"""

from __future__ import annotations

import bisect
import difflib
import json
import re
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import UserError
from .source import read_regular

# What a Dockerfile may be, and why each bound is where it is. The parser's cost on adversarial input was
# measured per shape (CPU time; CPython 3.11, the binding 3.4.0, x86-64): each bound keeps its shape
# under ~0.4 s for a whole file of MAX_BYTES, so a hostile Dockerfile is refused or read in well under a
# second. Hand-written Dockerfiles stay far below every one of them.
MAX_BYTES = 256 * 1024  # Dockerfiles are a few KiB; at 1 MiB even plain instructions take the parser 1.2 s
MAX_LINE_BYTES = 65535  # BuildKit's own limit (bufio.MaxScanTokenSize - 1): it refuses longer lines too
# Lines of any kind. BuildKit copies a heredoc body again per line, and an instruction per continued
# line: at most 0.4 s with MAX_BYTES in 5000 lines, whatever it takes the lines for. An instruction costs
# ~20 us to parse and ~40 us to analyse. Hand-written Dockerfiles rarely reach a few hundred lines.
MAX_LINES = 5000
MAX_CONTINUED_LINES = 1000  # per instruction: 0.15 s at the worst
MAX_WORD = 2048  # a word costs its length squared (up to 0.8 ns x length^2): 0.4 s for MAX_BYTES of them
LONG_WORDS = (8 * MAX_WORD) ** 2  # heredoc data is not parsed, but see _check_bodies: 0.2 s at the worst
SHOWN_PARSER_MESSAGE = 160  # BuildKit quotes whole instructions in some messages; keep ours readable

# Allowed: the control characters BuildKit reads as blanks (tab, vertical tab, form feed, carriage return),
# and line breaks. Any other control character on an instruction line is refused: a build would pass it on as is,
# and here it could reach a terminal (an escape sequence) or a workflow file. Comments and heredoc bodies
# are data and may hold anything but NUL.
_CONTROL = re.compile("[\x01-\x08\x0e-\x1f\x7f-\x9f\u2028\u2029]")

# Instructions BuildKit knows (its `command.Commands`, which the binding's all_cmds() lists). Its parser
# accepts any word as an instruction; the build would then fail with "unknown instruction".
INSTRUCTIONS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})

# BuildKit's rule for `AS name` (names are lower-cased first).
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9-_.]*$")
_BUILD_VARS = re.compile(r"\$\{?BUILD(?:PLATFORM|OS|ARCH|VARIANT)\b")
_TARGET_VARS = re.compile(r"\bTARGET(?:PLATFORM|OS|ARCH|VARIANT)\b")
# The platform ARGs BuildKit defines by itself: an ARG default never replaces them.
_AUTOMATIC_ARGS = frozenset(
    f"{side}{part}" for side in ("BUILD", "TARGET") for part in ("PLATFORM", "OS", "ARCH", "VARIANT")
)
_VARIABLE = re.compile(r"\$(?:(\w+)|\{(\w+)(?:(:?[-+])([^}]*))?\})")


# ------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RunStep:
    """One RUN instruction."""

    line: int  # 1-based line of the RUN keyword
    command: str  # the shell text, whitespace folded; a heredoc script follows it, its lines joined by "; "
    heavy: str  # "" (light), or the command that makes it heavy: "make", "cargo build", "pip install" ...


@dataclass(frozen=True)
class Stage:
    index: int  # 0-based, as `COPY --from=<index>` counts
    name: str  # lower-cased as BuildKit does; "" when unnamed
    base: str  # the FROM image, or the name of the stage it starts from (global ARG defaults applied)
    line: int
    platform: str  # the --platform value as written, "" when absent
    build_platform: bool  # runs on the builder's platform: FROM --platform=$BUILDPLATFORM, or FROM such a stage
    runs: tuple[RunStep, ...]
    uses_target_args: bool  # mentions TARGETOS/TARGETARCH/TARGETPLATFORM/TARGETVARIANT (cross-compiles, if on build)
    needs: tuple[int, ...]  # indices of the stages it reads: FROM, COPY --from, RUN --mount=from=

    @property
    def label(self) -> str:
        """How messages name the stage."""
        return f'stage "{self.name}"' if self.name else f"unnamed stage {self.index}"


@dataclass(frozen=True)
class DockerfileInfo:
    path: str  # as messages show it
    stages: tuple[Stage, ...]

    def find_stage(self, name: str) -> Stage | None:
        """The stage a `--target` names (case-insensitive, as BuildKit compares), or None."""
        wanted = name.lower()
        return next((s for s in self.stages if s.name and s.name == wanted), None)

    def stages_for(self, target: str | None) -> tuple[Stage, ...]:
        """The stages building `target` (default: the last stage) runs, in file order.

        Raises UserError when no stage has that name. The error has no line: the mistake is in whatever
        named the target (the spec), so a caller that knows that position should check with find_stage
        first and report it there.
        """
        if target:
            top = self.find_stage(target)
            if top is None:
                names = [s.name for s in self.stages if s.name]
                close = difflib.get_close_matches(target.lower(), names, n=1)
                listed = ", ".join(f'"{n}"' for n in names) if names else "none (name one with FROM ... AS name)"
                hint = (f'did you mean "{close[0]}"? ' if close else "") + f"named stages: {listed}"
                raise UserError.single(self.path, f'no build stage named "{target}" (the target)', hint=hint)
        else:
            top = self.stages[-1]
        seen: set[int] = set()
        pending = [top.index]
        while pending:
            index = pending.pop()
            if index not in seen:
                seen.add(index)
                pending.extend(self.stages[index].needs)
        return tuple(s for s in self.stages if s.index in seen)

    def target_platform_runs(self, target: str | None) -> tuple[tuple[Stage, RunStep], ...]:
        """RUN steps that execute once per target platform, on that platform's CPU: every RUN of a stage
        that is not on the build platform. On a runner of another architecture they need emulation."""
        return tuple((s, r) for s in self.stages_for(target) if not s.build_platform for r in s.runs)


# ------------------------------------------------------------------------------------------ entry points


def read_dockerfile(path: Path, display: str) -> DockerfileInfo:
    """Read and analyse the Dockerfile at path; `display` is how messages name it."""
    data = read_regular(path, display, MAX_BYTES, what="Dockerfile", size_hint=_TOO_BIG)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        column = len(data[data.rfind(b"\n", 0, err.start) + 1: err.start].decode("utf-8", "replace")) + 1
        raise UserError.single(display, "the Dockerfile is not UTF-8 text", line=line, column=column,
                               hint="BuildKit reads Dockerfiles as UTF-8; re-save it with that encoding") from err
    return analyse_dockerfile(text, display)


def analyse_dockerfile(text: str, display: str) -> DockerfileInfo:
    """Parse Dockerfile text; stages, their platforms and their RUN steps. Raises UserError, located."""
    size = len(text) if len(text) > MAX_BYTES else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise UserError.single(display, f"the Dockerfile is over {MAX_BYTES} bytes", line=1, column=1,
                               hint=_TOO_BIG)
    if "\0" in text:
        # The binding hands the text to Go as a C string: it would silently stop at the NUL.
        line, column = _position(text, text.index("\0"))
        raise UserError.single(display, "the Dockerfile contains a NUL character", line=line, column=column,
                               hint="is this a binary file?")
    layout = _scan(text, display)
    _check_controls(text, layout, display)
    return _Builder(display, text).build(_parse(text, display, layout))


_TOO_BIG = "is it a Dockerfile? Hand-written ones are a few KiB; the parser's time grows faster than the size"


def _position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


# ------------------------------------------------------------------------------------------- the parser


@dataclass(frozen=True)
class _Heredoc:
    name: str
    fd: int
    content: str


@dataclass(frozen=True)
class _Instruction:
    """One instruction as BuildKit's parser returns it, typed."""

    keyword: str  # upper-cased: FROM, RUN ...; for ONBUILD, the keyword it carries is in `onbuild`
    onbuild: str
    line: int
    original: str  # the instruction's text (continuations joined), and heredoc bodies
    flags: tuple[str, ...]  # "--name=value" or "--name", as written
    args: tuple[str, ...]
    exec_form: bool  # JSON array form
    heredocs: tuple[_Heredoc, ...]

    def flag(self, name: str) -> str | None:
        """The value of --name=value, "" for a bare --name, None when absent (the last one wins)."""
        found: str | None = None
        for flag in self.flags:
            key, eq, value = flag.removeprefix("--").partition("=")
            if key.lower() == name:
                found = value if eq else ""
        return found


def _parse(text: str, display: str, layout: _Layout) -> list[_Instruction]:
    try:
        import dockerfile as buildkit  # type: ignore[import-not-found]  # a Go extension, no stubs
    except ImportError as err:
        raise UserError.single(
            display, "reading Dockerfiles (strategy `auto`) needs the `dockerfile` package, BuildKit's parser",
            hint="it has wheels for Linux x86-64, macOS and Windows x64; elsewhere `pip install dockerfile` "
                 "builds it with a Go toolchain. Or set `strategy:` to qemu, native or buildx") from err
    try:
        commands = buildkit.parse_string(text)
    except buildkit.GoParseError as err:
        message = str(err)
        if message == "file with no instructions":
            raise UserError.single(display, "the Dockerfile has no instructions", line=1, column=1,
                                   hint="a Dockerfile starts with FROM <image>") from err
        line = _failing_line(layout, message, buildkit.parse_string, buildkit.GoParseError)
        if len(message) > SHOWN_PARSER_MESSAGE:
            message = message[: SHOWN_PARSER_MESSAGE - 20] + " ... " + message[-15:]
        raise UserError.single(display, f"cannot parse the Dockerfile: {message}", line=line,
                               column=_indent(layout.lines[line - 1]) + 1 if line else 0,
                               hint=_PARSE_HINTS.get(message.split(" ")[0], "")) from err
    return [_instruction(c) for c in commands]


_PARSE_HINTS = {
    "unterminated": "a heredoc (<<NAME) runs until a line holding only NAME",
    "invalid": "the escape directive takes \\ or ` (backtick)",
    "only": "each parser directive may appear once, at the top of the file",
    "quoted": "quote a heredoc's name on both sides: <<'NAME' or <<\"NAME\"",
}


def _failing_line(layout: _Layout, message: str, parse: Callable[[str], object], error: type[Exception]) -> int:
    """The line a parse error belongs to; BuildKit's parser does not say. (A broken parser directive never
    gets here: the scan refuses it.) An error is the first instruction's that fails on its own: once the
    escape character is known, instructions parse independently, so halving the instructions finds it in
    O(log n) parses of O(n) text in all. The last parse must fail with the same message; if it does not,
    the scan and BuildKit disagree about the file, and 0 (no line) is better than a wrong one."""
    extents = layout.extents
    if not extents:
        return 0
    header = "# escape=`\n" if layout.escape == "`" else ""

    def failure(first: int, stop: int) -> str:
        lines = layout.lines[extents[first].start - 1: extents[stop - 1].last]
        try:
            parse(header + "\n".join(lines) + "\n")
        except error as err:
            return str(err)
        return ""

    low, high = 0, len(extents)
    while high - low > 1:
        middle = (low + high) // 2
        if failure(low, middle):
            high = middle
        else:
            low = middle
    return extents[low].start if failure(low, low + 1) == message else 0


# ------------------------------------------------------------------------------------------ the layout

# Blanks as Go's unicode.IsSpace sees them (str.isspace also takes \x1c-\x1f), and BuildKit's word breaks.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"
_SPLIT_COMMAND = re.compile("[\t\v\f\r ]+")
# BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, without the lazy group: Python's backtracking
# would make that quadratic on a long run of blanks (Go's regexp is linear). The value is stripped after.
_DIRECTIVE = re.compile(r"#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=(.+)\Z", re.DOTALL)
_DIRECTIVE_BLANKS = "\t\n\f\r "
_HEREDOC_WORD = re.compile(r"(\d*)<<(-?)([^<]+)\Z")
# Words as heredocsFromLine's lexer splits an instruction: quotes, escapes and ${...} are kept as written
# (RawQuotes, RawEscapes, SkipUnsetEnv); a quote or ${ never closed fails the lexer, and then BuildKit
# finds no heredoc at all (it drops the error).
_BUILDKIT_WORD = re.compile(r"""
    (?:[^\s"'\\$] | \\. | \$\{[^}]*\} | \$(?!\{) | "(?:[^"\\]|\\.)*" | '[^']*' )+
  | (?P<unclosed>["'\\$])
""", re.VERBOSE | re.DOTALL)
# A word as the parser's most expensive lexer sees it: quoted strings and escaped characters join text
# into one word. A superset of what each of BuildKit's lexers builds one character at a time.
_WORDS = {
    escape: re.compile(rf"""(?:[^\s"'{e}]|{e}.?|"(?:[^"{e}]|{e}.?)*"?|'[^']*'?)+""", re.S)
    for escape, e in (("\\", r"\\"), ("`", "`"))
}


@dataclass(frozen=True)
class _Extent:
    """Where one instruction lies (1-based lines): its text from `start` to `end` (continuations), then
    its heredoc bodies up to `last`."""

    start: int
    end: int
    last: int


@dataclass(frozen=True)
class _Layout:
    escape: str  # the escape character: \ or `
    lines: list[str]  # the physical lines, without "\n"
    extents: list[_Extent]


def _scan(text: str, display: str) -> _Layout:
    """Where the instructions are, found as BuildKit's parser (parser.Parse, v0.12.5) finds them: parser
    directives, comment and blank lines, line continuations, heredoc bodies. Linear, and no parsing.
    Raises UserError for a broken parser directive, and for anything over a bound (the MAX_* constants).

    The bounds must hold even where this reading and BuildKit's differ (its lexer has corners this one
    does not copy): MAX_LINES and MAX_LINE_BYTES count every line whatever it is, and the lines read here
    as heredoc bodies are also measured as the instructions BuildKit could take them for (LONG_WORDS)."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the text's final line break ends a line; it does not start one
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]

    def refuse(line: int, column: int, message: str, hint: str) -> UserError:
        return UserError.single(display, message, line=line, column=column, hint=hint)

    if len(lines) > MAX_LINES:
        raise refuse(MAX_LINES + 1, 1, f"the Dockerfile has more than {MAX_LINES} lines", _TOO_BIG)
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_BYTES // 4 and len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
            raise refuse(number, 1, f"line longer than {MAX_LINE_BYTES} bytes (BuildKit's limit)",
                         "split it with line continuations, or move data into a file the build copies")

    escape, seen, directives = "\\", set(), True
    extents: list[_Extent] = []
    bodies: list[tuple[int, int]] = []  # heredoc bodies: the 0-based range of their lines
    count, i = len(lines), 0
    while i < count:
        token = lines[i].rstrip("\r")
        i += 1
        stripped = token.lstrip(_GO_SPACE)
        if directives:
            match = _DIRECTIVE.match(stripped)
            name = match.group(1).lower() if match else ""
            value = _directive_value(match) if match else ""
            if name not in ("escape", "syntax"):
                directives = False
            elif name in seen or (name == "escape" and value not in ("\\", "`")):
                problem = (f"only one {name} parser directive can be used" if name in seen else
                           f"invalid escape token '{value}' does not match ` or \\")  # BuildKit's words
                raise refuse(i, len(token) - len(stripped) + 1, f"cannot parse the Dockerfile: {problem}",
                             _PARSE_HINTS["only" if name in seen else "invalid"])
            else:
                seen.add(name)
                if name == "escape":
                    escape = value
        if stripped.startswith("#"):
            continue
        start = i
        parts, i = _instruction_text(lines, i, token, escape)
        if not parts:
            continue  # a blank line
        if i - start + 1 > MAX_CONTINUED_LINES:
            raise refuse(start, parts[0][2] + 1, f"an instruction continued over {i - start + 1} lines; "
                         f"the limit is {MAX_CONTINUED_LINES}", "split it into several instructions")
        instruction = "".join(part for part, _, _ in parts)
        for row, column, length in _long_words(instruction, parts, escape):
            raise refuse(row, column, f"a word of {length} characters (text without blanks, or a quoted "
                         f"string); the limit is {MAX_WORD}",
                         "BuildKit's parser takes time that grows with the square of a word's length; split it, "
                         "or move long scripts and data into a heredoc or a file")
        end = i
        for name, chomp in _heredoc_markers(instruction):
            body = i
            while i < count:
                token = lines[i].rstrip("\r")
                i += 1
                if (token.lstrip("\t") if chomp else token) == name:
                    bodies.append((body, i - 1))
                    break
            else:
                bodies.append((body, i))  # unterminated: the body runs to the end of the file
        extents.append(_Extent(start, end, i))
    _check_bodies(lines, bodies, escape, refuse)
    return _Layout(escape, lines, extents)


def _instruction_text(lines: list[str], i: int, token: str, escape: str,
                      stop: int | None = None) -> tuple[list[tuple[str, int, int]], int]:
    """The text of the instruction whose first line, `token`, ends before lines[i], continued lines joined
    as BuildKit joins them (up to lines[stop] at most): (piece, 1-based line, indent) per line that adds
    text, and where it ends. No pieces for a blank line."""
    stripped = token.lstrip(_GO_SPACE)
    piece, more = _continued(stripped, escape)
    if not more and not piece:
        return [], i
    parts = [(piece, i, len(token) - len(stripped))]
    stop = len(lines) if stop is None else stop
    while more and i < stop:
        token = lines[i].rstrip("\r")
        i += 1
        stripped = token.lstrip(_GO_SPACE)
        if stripped and not stripped.startswith("#"):  # BuildKit skips comment and blank lines here
            piece, more = _continued(token, escape)
            parts.append((piece, i, 0))
    return parts, i


def _check_bodies(lines: list[str], bodies: list[tuple[int, int]], escape: str,
                  refuse: Callable[[int, int, str, str], UserError]) -> None:
    """Heredoc bodies read as instructions, the way BuildKit would read them were this scan wrong about
    a heredoc: their words over MAX_WORD, squared, must add up to at most LONG_WORDS."""
    total = 0
    for first, stop in bodies:
        if sum(len(line) for line in lines[first:stop]) <= MAX_WORD:
            continue  # no word can be long
        i = first
        while i < stop:
            token = lines[i].rstrip("\r")
            i += 1
            if token.lstrip(_GO_SPACE).startswith("#"):
                continue
            parts, i = _instruction_text(lines, i, token, escape, stop)
            for line, column, length in _long_words("".join(part for part, _, _ in parts), parts, escape):
                total += length * length
                if total > LONG_WORDS:
                    raise refuse(line, column, f"long words in heredoc bodies add up to too much (this one: "
                                 f"{length} characters)",
                                 "BuildKit's parser takes time that grows with the square of a word's length, "
                                 "and gen-workflows cannot rule out that it reads these lines as instructions; "
                                 "copy long data from a file in the build context instead")


def _directive_value(match: re.Match[str]) -> str:
    raw = match.group(2)
    return raw.strip(_DIRECTIVE_BLANKS) or raw[-1:]  # all blanks: BuildKit's lazy group takes the last one


def _continued(line: str, escape: str) -> tuple[str, bool]:
    """BuildKit's trimContinuationCharacter: the line without a final escape character (blanks after it
    allowed, an escaped one not), and whether the instruction goes on."""
    body = line.rstrip(" \t")
    if body.endswith(escape) and not body.endswith(escape * 2):
        return body[:-1], True
    return line, False


def _long_words(instruction: str, parts: list[tuple[str, int, int]], escape: str) -> Iterator[tuple[int, int, int]]:
    """The words over MAX_WORD characters: (line, column, length) where each starts."""
    if len(instruction) <= MAX_WORD:
        return
    offsets: list[int] = []
    for match in _WORDS[escape].finditer(instruction):
        if match.end() - match.start() > MAX_WORD:
            offsets = offsets or list(_accumulate(len(part) for part, _, _ in parts))
            index = bisect.bisect_right(offsets, match.start()) - 1
            _, line, indent = parts[index]
            yield line, indent + match.start() - offsets[index] + 1, match.end() - match.start()


def _accumulate(lengths: Iterator[int]) -> Iterator[int]:
    """0, then the running sums of `lengths` but the last: where each part starts."""
    total = 0
    for length in lengths:
        yield total
        total += length


def _heredoc_markers(instruction: str) -> list[tuple[str, bool]]:
    """The heredocs an instruction opens, in order, as (name, chomp): only RUN, COPY and ADD in shell
    form open them, with words like <<EOF, <<-EOF, 2<<'EOF' (BuildKit's heredocsFromLine)."""
    if "<<" not in instruction:
        return []
    keyword, rest = (*_SPLIT_COMMAND.split(instruction.strip(_GO_SPACE), maxsplit=1), "")[:2]
    if keyword.lower() not in ("run", "copy", "add"):
        return []
    rest = rest.strip(_GO_SPACE)
    while rest.startswith("--"):  # flags such as --mount=...
        rest = (*_SPLIT_COMMAND.split(rest, maxsplit=1), "")[1].strip(_GO_SPACE)
    if rest.startswith("["):
        try:  # BuildKit decodes one JSON value and ignores what follows it
            form, _ = json.JSONDecoder().raw_decode(rest)
        except ValueError:
            form = None
        if isinstance(form, list):
            return []  # exec form (an error, unless every item is a string): never heredocs
    markers = []
    for word in _BUILDKIT_WORD.finditer(instruction):
        if word.lastgroup == "unclosed":
            return []
        found = _HEREDOC_WORD.match(word.group())
        if found:  # the name is the rest of the word, unquoted: <<'EOF' and <<"EOF" end at EOF
            markers.append((_unquote_word(found.group(3)), found.group(2) == "-"))
    return markers


def _check_controls(text: str, layout: _Layout, display: str) -> None:
    """Refuse a control character on an instruction line (see _CONTROL), at its line and column."""
    if not _CONTROL.search(text):
        return
    starts = [extent.start for extent in layout.extents]
    for number, line in enumerate(layout.lines, 1):
        found = _CONTROL.search(line)
        if found and not line.lstrip(_GO_SPACE).startswith("#"):
            index = bisect.bisect_right(starts, number) - 1
            if index >= 0 and number <= layout.extents[index].end:
                char = found.group()
                raise UserError.single(
                    display, f"a control character (U+{ord(char):04X}) in an instruction", line=number,
                    column=found.start() + 1,
                    hint="BuildKit would pass it on as it is, to the build and to any terminal showing the "
                         "command; remove it, or write it as the command's own escape (printf '\\033')")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(_GO_SPACE))


def _undo_latin1(flag: str) -> str:
    """The binding hands flags over (and only flags) as UTF-8 bytes decoded as Latin-1: `--from=\u00e9`
    arrives as `--from=\u00c3\u00a9`, and some characters turn into C1 control characters. Undo that."""
    try:
        return flag.encode("latin-1").decode("utf-8")
    except UnicodeError:  # not such a string after all
        return flag


def _instruction(command: Any) -> _Instruction:
    """The binding's untyped Command, as our typed record."""
    return _Instruction(
        keyword=str(command.cmd).upper(),
        onbuild=str(command.sub_cmd or "").upper(),
        line=int(command.start_line),
        original=str(command.original),
        flags=tuple(_undo_latin1(str(f)) for f in command.flags),
        args=tuple(str(v) for v in command.value),
        exec_form=bool(command.json),
        heredocs=tuple(_Heredoc(str(h.name), int(h.file_descriptor), str(h.content)) for h in command.heredocs),
    )


# --------------------------------------------------------------------------------------- the analysis


@dataclass
class _StageDraft:
    """A stage while its instructions are read; `refs` are --from values, resolved once all names are known."""

    index: int
    name: str
    base: str
    line: int
    platform: str
    build_platform: bool
    parent: int | None
    runs: list[RunStep]
    refs: list[str]
    target_args: bool


class _Builder:
    def __init__(self, display: str, text: str) -> None:
        self.display = display
        self.lines = text.split("\n")
        self.global_args: dict[str, str] = {name: f"${{{name}}}" for name in _AUTOMATIC_ARGS}
        self.stages: list[_StageDraft] = []
        self.named: dict[str, _StageDraft] = {}  # by name: a search of the list per FROM would be quadratic

    def fail(self, line: int, message: str, *, hint: str = "", word: str = "") -> UserError:
        return UserError.single(self.display, message, line=line, column=self._column(line, word), hint=hint)

    def _column(self, line: int, word: str) -> int:
        """1-based column of `word` (a whole word) on the line, else of the line's first non-blank character."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        found = re.search(rf"(?<!\S){re.escape(word)}(?!\S)", text) if word else None
        return (found.start() if found else len(text) - len(text.lstrip())) + 1

    def build(self, instructions: list[_Instruction]) -> DockerfileInfo:
        has_from = any(ins.keyword == "FROM" for ins in instructions)
        for ins in instructions:
            self._check_keyword(ins)
            if ins.keyword == "FROM":
                self._from(ins)
            elif not self.stages:
                self._before_from(ins, has_from)
            else:
                self._in_stage(self.stages[-1], ins)
        if not self.stages:  # only ARG lines
            raise self.fail(instructions[-1].line, "the Dockerfile has no FROM instruction: it builds nothing",
                            hint="add FROM <image> after the global ARG lines")
        return DockerfileInfo(self.display, tuple(self._finish(d) for d in self.stages))

    def _check_keyword(self, ins: _Instruction) -> None:
        for keyword in (ins.keyword, ins.onbuild):
            if keyword and keyword not in INSTRUCTIONS:
                close = difflib.get_close_matches(keyword, sorted(INSTRUCTIONS), n=1)
                raise self.fail(ins.line, f"unknown instruction {keyword}",
                                hint=f'did you mean "{close[0]}"?' if close else "", word=_first_word(ins.original))

    def _before_from(self, ins: _Instruction, has_from: bool) -> None:
        if ins.keyword != "ARG":
            if not has_from:
                raise self.fail(ins.line, "the Dockerfile has no FROM instruction: it builds nothing",
                                hint="start the build with FROM <image> (only ARG may come before it)")
            raise self.fail(ins.line, f"{ins.keyword} before the first FROM",
                            hint="only ARG may come before the first FROM")
        for item in ins.args:
            name, eq, default = item.partition("=")
            if eq and name not in _AUTOMATIC_ARGS:
                self.global_args[name] = self._expand(_unquote(default))

    def _expand(self, text: str) -> str:
        """Substitute global ARG defaults, the way FROM and --from see them. The platform ARGs stay as
        variables; an ARG without default stays as written (BuildKit would read it from --build-arg)."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1) or match.group(2)
            known = self.global_args.get(name)
            operator, word = match.group(3), match.group(4)
            if operator and operator.endswith("-"):
                return known if known else word
            if operator and operator.endswith("+"):
                return word if known else ""
            return known if known is not None else match.group(0)

        return _VARIABLE.sub(value, text)

    def _from(self, ins: _Instruction) -> None:
        args = ins.args
        if len(args) not in (1, 3) or (len(args) == 3 and args[1].lower() != "as"):
            hint = "FROM [--platform=<platform>] <image> [AS <name>]"
            if ins.flag("platform") == "":
                hint = "write --platform=<value> with an equals sign"
            raise self.fail(ins.line, "FROM takes an image and optionally AS <name>", hint=hint)
        name = args[2].lower() if len(args) == 3 else ""
        if name and not _STAGE_NAME.match(name):
            raise self.fail(ins.line, f'invalid stage name "{args[2]}"', word=args[2],
                            hint="a stage name starts with a letter, then letters, digits, '-', '_' or '.'")
        if name in self.named:
            raise self.fail(ins.line, f'duplicate stage name "{name}"', word=args[2],
                            hint=f"line {self.named[name].line} already defines it")
        base = self._expand(args[0])
        parent = self.named.get(base.lower())
        platform = ins.flag("platform") or ""
        if parent is not None:
            # A stage built FROM another stage continues it, on that stage's platform.
            build_platform = parent.build_platform
        else:
            build_platform = bool(_BUILD_VARS.search(self._expand(_unquote(platform))))
        self.stages.append(_StageDraft(
            index=len(self.stages), name=name, base=parent.name if parent else base, line=ins.line,
            platform=platform, build_platform=build_platform, parent=parent.index if parent else None,
            runs=[], refs=[], target_args=bool(_TARGET_VARS.search(ins.original)),
        ))
        if name:
            self.named[name] = self.stages[-1]

    def _in_stage(self, stage: _StageDraft, ins: _Instruction) -> None:
        if _TARGET_VARS.search(ins.original):
            stage.target_args = True
        if ins.keyword == "COPY":
            source = ins.flag("from")
            if source:
                stage.refs.append(self._expand(source))
        elif ins.keyword == "RUN":
            for mount in _all_flags(ins, "mount"):
                source = _mount_source(mount)
                if source:
                    stage.refs.append(self._expand(source))
            stage.runs.append(_run_step(ins))

    def _finish(self, draft: _StageDraft) -> Stage:
        needs = {draft.parent} if draft.parent is not None else set()
        for ref in draft.refs:
            found = self._stage_ref(ref)
            if found is not None and found != draft.index:
                needs.add(found)
        return Stage(
            index=draft.index, name=draft.name, base=draft.base, line=draft.line, platform=draft.platform,
            build_platform=draft.build_platform, runs=tuple(draft.runs), uses_target_args=draft.target_args,
            needs=tuple(sorted(needs)),
        )

    def _stage_ref(self, ref: str) -> int | None:
        """The stage a --from names (by name or index), or None for an image such as alpine:3."""
        wanted = ref.lower()
        if wanted in self.named:
            return self.named[wanted].index
        if wanted.isascii() and wanted.isdigit() and int(wanted) < len(self.stages):
            return int(wanted)
        return None


def _first_word(text: str) -> str:
    return (text.split(maxsplit=1) or [""])[0]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _all_flags(ins: _Instruction, name: str) -> Iterator[str]:
    for flag in ins.flags:
        key, eq, value = flag.removeprefix("--").partition("=")
        if eq and key.lower() == name:
            yield value


def _mount_source(mount: str) -> str:
    """The `from=` of a --mount value (a CSV list of key=value), "" when it has none."""
    for field in mount.split(","):
        key, _, value = field.strip().partition("=")
        if key.lower() == "from":
            return _unquote(value)
    return ""


# ----------------------------------------------------------------------------------------- RUN steps

_HEREDOC_MARK = re.compile(r"(?<!\d)\d*<<-?\s*(['\"]?)(\w+)\1")  # (?<!\d): not quadratic in a run of digits
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})


def _run_step(ins: _Instruction) -> RunStep:
    if ins.exec_form:
        return RunStep(ins.line, " ".join(" ".join(ins.args).split()), _heavy_in_words(list(ins.args)))
    shell = " ".join(ins.args)
    scripts = [shell]
    command = " ".join(shell.split())
    if ins.heredocs and _heredoc_is_script(shell):
        # `RUN <<EOF` (or `RUN <<EOF bash -e`) runs the body; `RUN cat <<EOF >file` only writes it.
        parts = [" ".join(_HEREDOC_MARK.sub(" ", shell).split())]
        for doc in ins.heredocs:
            scripts.append(doc.content)
            parts += (" ".join(line.split()) for line in doc.content.split("\n") if line.strip())
        command = "; ".join(part for part in parts if part)
    heavy = next((word for script in scripts if (word := _heavy_in_script(script))), "")
    return RunStep(ins.line, command, heavy)


def _heredoc_is_script(shell: str) -> bool:
    rest = _HEREDOC_MARK.sub(" ", shell).split()
    return not rest or PurePosixPath(rest[0]).name in _SHELLS


# What makes a RUN heavy: compilers and package builds, the work QEMU slows down 6-25x (reference §6).
# Keys are the command's name (version suffixes removed: gcc-12, python3.12); a value of () means the
# command alone is heavy, otherwise one of the listed subcommand sequences must follow it.
# Package-manager installs of prebuilt packages (apt-get, apk, dnf ...) are not here: they are light.
_HEAVY: dict[str, tuple[tuple[str, ...], ...]] = {
    **dict.fromkeys(
        ("make", "gmake", "cmake", "ninja", "scons", "bazel", "bazelisk", "configure", "gcc", "g++", "cc", "c++",
         "clang", "clang++", "rustc", "javac", "ghc", "nvcc", "mvn", "mvnw", "gradle", "gradlew", "ant", "sbt",
         "msbuild", "cpanm", "rpmbuild", "dpkg-buildpackage", "makepkg"),
        (),
    ),
    "cargo": (("build",), ("install",), ("test",)),
    "go": (("build",), ("install",), ("test",)),
    "npm": (("ci",), ("install",), ("i",), ("rebuild",), ("run", "build")),
    "yarn": (("install",), ("build",), ("run", "build")),
    "pnpm": (("install",), ("i",), ("build",), ("run", "build")),
    "pip": (("install",), ("wheel",)),
    "uv": (("sync",), ("build",), ("pip", "install")),
    "poetry": (("install",), ("build",)),
    "bundle": (("install",),),
    "gem": (("install",),),
    "dotnet": (("build",), ("publish",)),
    "cabal": (("build",), ("install",)),
    "stack": (("build",), ("install",)),
    "mix": (("compile",), ("release",)),
    "swift": (("build",),),
    "zig": (("build",),),
    "meson": (("compile",), ("setup",)),
}
_VERSIONED = re.compile(r"^(?P<name>python|pip)[0-9.]*$|^(?P<tool>.+?)-[0-9][0-9.]*$")
_CROSS_COMPILER = re.compile(r"-(gcc|g\+\+|clang|clang\+\+)$")
# Words after which the next word is a command, and words that run the command after them.
_COMMAND_START = frozenset({"&&", "||", ";", "|", "|&", "&", "(", ")", "{", "}", "!", ";;", "$(", "`",
                            "if", "then", "else", "elif", "do", "while", "until"})
_WRAPPERS = frozenset({"sudo", "env", "nice", "nohup", "exec", "command", "eatmydata", "xargs", "stdbuf", "time"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELL_C = re.compile(r"-[a-z]*\Z")  # with a "c" in it: -c, -ec, -exc (one regex would backtrack)


def _heavy_in_script(script: str) -> str:
    for line in _logical_lines(script):
        words = _shell_words(line)
        if words is None:  # an unbalanced quote: the shell would fail too; look at the plain words
            words = line.split()
        heavy = _heavy_in_words(words)
        if heavy:
            return heavy
    return ""


def _logical_lines(script: str) -> Iterator[str]:
    """The script's non-blank lines with backslash continuations joined (newlines separate commands; only
    "\n" is one to a shell, not the other line breaks str.splitlines knows)."""
    pending: list[str] = []
    for line in script.split("\n"):
        end = line.rstrip()
        if end.endswith("\\"):
            pending += (end[:-1], " ")
        elif pending or end:
            yield "".join((*pending, line))
            pending = []
    if pending:
        yield "".join(pending)


# Shell words as `shlex.shlex(line, posix=True, punctuation_chars=True)` splits them, with more word
# characters ($`{}=:/.-+@%,~^), in one regular expression: shlex reads a character at a time in Python,
# ~1 us each, and a Dockerfile may hold MAX_BYTES of commands. tests/test_dockerfile_bounds.py checks
# that both split random text alike.
_WORD_CHARS = shlex.shlex("", posix=True, punctuation_chars=True).wordchars + "$`{}=:/.-+@%,~^"
_SHELL_TOKEN = re.compile(rf"""
    [ \t\r\n]+                                  # blanks between words
  | (?P<comment>\#[^\n]*)                        # a comment runs to the end of the line
  | (?P<punctuation>[();<>|&]+)                   # operators: runs of these characters
  | (?P<word>(?:[{re.escape(_WORD_CHARS)}]        # word characters,
        | \\.                                    # an escaped character,
        | '[^']*'                                 # single quotes: literal
        | "(?:[^"\\]|\\.)*"                        # double quotes: \\ escapes only \\ and "
        )+)
  | (?P<unbalanced>['"\\])                        # a quote never closed, or a final backslash
  | (?P<other>.)                                  # anything else is a word of its own
""", re.VERBOSE | re.DOTALL)
_QUOTED = re.compile(r"""\\(.)|'([^']*)'|"((?:[^"\\]|\\.)*)"|([^\\'"]+)""", re.DOTALL)
_IN_DOUBLE_QUOTES = re.compile(r'\\([\\"])')


def _shell_words(line: str) -> list[str] | None:
    """The line's shell words, quotes removed; None for an unbalanced quote or a final backslash."""
    words = []
    for token in _SHELL_TOKEN.finditer(line):
        kind = token.lastgroup
        if kind == "unbalanced":
            return None
        if kind == "word":
            words.append(_unquote_word(token.group()))
        elif kind in ("punctuation", "other"):
            words.append(token.group())
    return words


def _unquote_word(word: str) -> str:
    if not any(c in word for c in "\\'\""):
        return word
    parts = []
    for piece in _QUOTED.finditer(word):
        escaped, single, double, plain = piece.groups()
        if double is not None:
            parts.append(_IN_DOUBLE_QUOTES.sub(r"\1", double))
        else:
            parts.append(escaped if escaped is not None else single if single is not None else plain)
    return "".join(parts)


def _heavy_in_words(words: list[str]) -> str:
    """The first heavy command among shell words, looking only at words in command position (so
    `apt-get install make` installs a package named make and is not heavy)."""
    at_command = True
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word in _COMMAND_START or word.endswith(("$(", "`")):
            at_command = True
            continue
        if not at_command:
            continue
        if _ASSIGNMENT.match(word) or word.startswith("-") or word in _WRAPPERS:
            continue  # `CGO_ENABLED=0 go build`, `sudo -E make`, `env X=1 make`: the command is further on
        at_command = False
        name = _command_name(word)
        rest = _own_words(words, i)
        if name in _SHELLS:
            script = next((rest[k + 1] for k, w in enumerate(rest[:-1]) if "c" in w and _SHELL_C.match(w)), "")
            heavy = _heavy_in_script(script)  # sh -c "make all"
            if heavy:
                return heavy
            continue
        if name == "python" and rest[:2] == ["-m", "pip"]:
            name, rest = "pip", rest[2:]
        heavy = _heavy_command(name, rest)
        if heavy:
            return heavy
    return ""


def _command_name(word: str) -> str:
    name = PurePosixPath(word).name  # /usr/bin/make, ./configure, ./gradlew
    versioned = _VERSIONED.match(name)
    if versioned:
        name = versioned.group("name") or versioned.group("tool")
    cross = _CROSS_COMPILER.search(name)  # aarch64-linux-gnu-gcc
    return cross.group(1) if cross else name


def _own_words(words: list[str], start: int) -> list[str]:
    """The words from `start` that belong to this command, up to the next separator. Only those are
    copied: a copy of all the following words would make a line of many commands quadratic."""
    end = next((k for k in range(start, len(words)) if words[k] in _COMMAND_START), len(words))
    return words[start:end]


def _heavy_command(name: str, args: list[str]) -> str:
    forms = _HEAVY.get(name)
    if forms is None:
        return ""
    if not forms:
        return name
    words = [a for a in args if not a.startswith(("-", "+"))]
    for form in forms:
        if tuple(words[: len(form)]) == form:
            return " ".join((name, *form))
    return ""

