"""The linear pre-scan of a Dockerfile, and the bounds it enforces before BuildKit's parser runs.

A Dockerfile may come from a pull request, and the parser (v0.12.5) is superlinear in places: it grows
strings one piece at a time, so a word (a run of text without blanks, or a quoted string) costs the
square of its length, and so do the lines an instruction continues over and the lines of a heredoc
body. Measured here: one 64 KiB word takes 1-2.5 s, a 640 KB heredoc 16 s, a 1 MiB continued word over
two minutes. So before the parser sees a Dockerfile, `scan_layout` reads its line structure the way
BuildKit does (linear, no parsing) and refuses what would cost too much (the MAX_* constants below, each
with its cost), with the line. The layout it returns also serves to find the line of a parse error
(parse.py), which BuildKit's parser does not report.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterator

from ..errors import UserError
from ..record import record
from .shell import unquote_word

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

# Allowed: the control characters BuildKit reads as blanks (tab, vertical tab, form feed, carriage return),
# and line breaks. Any other control character on an instruction line is refused: a build would pass it on as is,
# and here it could reach a terminal (an escape sequence) or a workflow file. Comments and heredoc bodies
# are data and may hold anything but NUL.
_CONTROL = re.compile("[\x01-\x08\x0e-\x1f\x7f-\x9f\u2028\u2029]")

TOO_BIG = "is it a Dockerfile? Hand-written ones are a few KiB; the parser's time grows faster than the size"


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


# Hints for BuildKit's parse errors, by the message's first word. The scan raises the parser-directive
# ones itself, in BuildKit's words; parse.py looks up the others.
PARSE_HINTS = {
    "unterminated": "a heredoc (<<NAME) runs until a line holding only NAME",
    "invalid": "the escape directive takes \\ or ` (backtick)",
    "only": "each parser directive may appear once, at the top of the file",
    "quoted": "quote a heredoc's name on both sides: <<'NAME' or <<\"NAME\"",
}


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


@record
class Extent:
    """Where one instruction lies (1-based lines): its text from `start` to `end` (continuations), then
    its heredoc bodies up to `last`."""

    start: int
    end: int
    last: int


@record
class Layout:
    escape: str  # the escape character: \ or `
    lines: list[str]  # the physical lines, without "\n"
    extents: list[Extent]


def scan_layout(text: str, display: str) -> Layout:
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
        raise refuse(MAX_LINES + 1, 1, f"the Dockerfile has more than {MAX_LINES} lines", TOO_BIG)
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_BYTES // 4 and len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
            raise refuse(number, 1, f"line longer than {MAX_LINE_BYTES} bytes (BuildKit's limit)",
                         "split it with line continuations, or move data into a file the build copies")

    escape, seen, directives = "\\", set(), True
    extents: list[Extent] = []
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
                             PARSE_HINTS["only" if name in seen else "invalid"])
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
        extents.append(Extent(start, end, i))
    _check_bodies(lines, bodies, escape, refuse)
    return Layout(escape, lines, extents)


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
            markers.append((unquote_word(found.group(3)), found.group(2) == "-"))
    return markers


def check_controls(text: str, layout: Layout, display: str) -> None:
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


def indent(line: str) -> int:
    return len(line) - len(line.lstrip(_GO_SPACE))
