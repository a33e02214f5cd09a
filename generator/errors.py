"""The one user-facing error type: a problem located in a file, with an optional hint."""

from __future__ import annotations

from collections.abc import Iterable

from .record import record


@record(order=True)
class Problem:
    """One thing wrong with the user's input, located as precisely as we can."""

    file: str
    line: int  # 1-based; 0 when the problem concerns the file as a whole
    column: int  # 1-based; 0 when unknown
    message: str
    hint: str = ""
    rule: str = ""

    def render(self) -> str:
        """`file:line:col: message [rule]`, then `  hint: ...`: each on one line, whatever the user wrote."""
        where = printable(self.file)
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        text = f"{where}: {printable(self.message)}"
        if self.rule:
            text += f" [{self.rule}]"
        if self.hint:
            text += f"\n  hint: {printable(self.hint)}"
        return text


def printable(text: str) -> str:
    """Control characters (line breaks above all, terminal escapes) shown escaped, so one problem stays
    one line and text from a file cannot drive the terminal."""
    return "".join(c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii") for c in text)


class UserError(Exception):
    """Raised with every problem found; the CLI prints them all and exits 2."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(p.render() for p in self.problems))

    @classmethod
    def single(cls, file: str, message: str, *, line: int = 0, column: int = 0, hint: str = "",
               rule: str = "") -> UserError:
        return cls([Problem(file, line, column, message, hint, rule)])


_one_line = printable  # the name other modules imported before it was public
