"""The binding to BuildKit's parser: its untyped commands as typed records, and the line of a parse
error, which the parser does not report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import UserError
from ..record import record
from .scan import PARSE_HINTS, Layout, indent

SHOWN_PARSER_MESSAGE = 160  # BuildKit quotes whole instructions in some messages; keep ours readable


@record
class Heredoc:
    name: str
    fd: int
    content: str


@record
class Instruction:
    """One instruction as BuildKit's parser returns it, typed."""

    keyword: str  # upper-cased: FROM, RUN ...; for ONBUILD, the keyword it carries is in `onbuild`
    onbuild: str
    line: int
    original: str  # the instruction's text (continuations joined), and heredoc bodies
    flags: tuple[str, ...]  # "--name=value" or "--name", as written
    args: tuple[str, ...]
    exec_form: bool  # JSON array form
    heredocs: tuple[Heredoc, ...]

    def flag(self, name: str) -> str | None:
        """The value of --name=value, "" for a bare --name, None when absent (the last one wins)."""
        found: str | None = None
        for flag in self.flags:
            key, eq, value = flag.removeprefix("--").partition("=")
            if key.lower() == name:
                found = value if eq else ""
        return found


def parse_instructions(text: str, display: str, layout: Layout) -> list[Instruction]:
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
                               column=indent(layout.lines[line - 1]) + 1 if line else 0,
                               hint=PARSE_HINTS.get(message.split(" ")[0], "")) from err
    return [_instruction(c) for c in commands]


def _failing_line(layout: Layout, message: str, parse: Callable[[str], object], error: type[Exception]) -> int:
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


def _undo_latin1(flag: str) -> str:
    """The binding hands flags over (and only flags) as UTF-8 bytes decoded as Latin-1: `--from=\u00e9`
    arrives as `--from=\u00c3\u00a9`, and some characters turn into C1 control characters. Undo that."""
    try:
        return flag.encode("latin-1").decode("utf-8")
    except UnicodeError:  # not such a string after all
        return flag


def _instruction(command: Any) -> Instruction:
    """The binding's untyped Command, as our typed record."""
    return Instruction(
        keyword=str(command.cmd).upper(),
        onbuild=str(command.sub_cmd or "").upper(),
        line=int(command.start_line),
        original=str(command.original),
        flags=tuple(_undo_latin1(str(f)) for f in command.flags),
        args=tuple(str(v) for v in command.value),
        exec_form=bool(command.json),
        heredocs=tuple(Heredoc(str(h.name), int(h.file_descriptor), str(h.content)) for h in command.heredocs),
    )
