"""The one quoting path: any value as the YAML scalar that reads back as exactly that value.

User text (a build argument, a path, a test's expected output) may hold anything: it is written plain
when no YAML reader (1.1 or 1.2) could take it for something else, else double-quoted with escapes, and
a multi-line value as a `|` block when it can be one. Literals (expressions the generator made) are
written as they are, after a check that they cannot change the structure.
"""

from __future__ import annotations

import re
import unicodedata

from .workflow import Literal, Value

# Words YAML 1.1 readers take as booleans, null or merge/value keys; never emitted plain.
_YAML11_SPECIAL = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "=", "<<"])
# Anything a YAML reader might take for a number: digit-leading text, and "_", ".5", "+_"-like runs of
# number characters (YAML 1.1 ints may hold "_"; ruamel reads "+_" as an int and then fails on it).
_NUMBERISH = re.compile(r"[-+]?[0-9].*|[-+]?[._][0-9a-fA-F_.:eExXoObB+-]*|[-+]?\.(inf|nan)", re.IGNORECASE | re.DOTALL)
_PLAIN_CHARS = re.compile(r"[A-Za-z0-9 _./,=+@:$(){}'|&!<>*%-]*")
_FLOW_UNSAFE = set(",[]{}")
# Starts each line of a block scalar until the render is done and the indentation of its key is known:
# a value does not know its column. Never in a rendered workflow otherwise: quoting escapes control
# characters, a block holds none, comments are shown escaped.
BLOCK_MARK = "\x00"
_KEY_INDENT = re.compile(r" *(?:- )*")


class RenderError(Exception):
    """A bug in the generator or its templates: the text cannot be made, or does not say what the plan says."""


# ----------------------------------------------------------------------------------- the quoting path


def _escape(char: str) -> str:
    code = ord(char)
    simple = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
    if char in simple:
        return simple[char]
    category = unicodedata.category(char)
    if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") or char in "\ufeff\ufffe\uffff\x85":
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


def _plain_ok(text: str, *, flow: bool) -> bool:
    return bool(
        text
        and _PLAIN_CHARS.fullmatch(text)
        and text[0] not in "-?:,[]{}#&*!|>'\"%@` "
        and text[-1] not in " :"
        and ": " not in text
        and " #" not in text
        and text.lower() not in _YAML11_SPECIAL
        and (text in (".", "..") or not _NUMBERISH.fullmatch(text))
        and not (flow and _FLOW_UNSAFE & set(text))
    )


def quote(text: str, *, flow: bool = False) -> str:
    """The YAML scalar that reads back as exactly `text`: plain when unambiguous, else double-quoted."""
    if _plain_ok(text, flow=flow):
        return text
    return '"' + "".join(_escape(c) for c in text) + '"'


# Text a block scalar holds as it is: printable ASCII, tabs and line breaks (the common case, checked at C
# speed: scripts are long); anything else is checked character by character.
_BLOCK_ASCII = re.compile(r"[\t\n\x20-\x7e]*")
_TRAILING_BLANK = re.compile(r"[ \t]\n|[ \t]$")


def _block_safe(text: str) -> bool:
    if text.endswith("\n\n") or not text or text[0] in " \t\n" or _TRAILING_BLANK.search(text):
        return False
    return bool(_BLOCK_ASCII.fullmatch(text)) or \
        all(_escape(c) == c or c == "\t" for c in text if c not in '\n\\"')


def _literal(text: str) -> str:
    if "\n" in text or " #" in text or ": " in text or any(unicodedata.category(c) == "Cc" for c in text):
        raise RenderError(f"literal cannot be emitted plain: {text!r}")
    return text


def _block(text: str) -> str:
    indicator = "|" if text.endswith("\n") else "|-"
    body = text[:-1] if text.endswith("\n") else text
    return indicator + "".join(f"\n{BLOCK_MARK}{line}" for line in body.split("\n"))


def scalar(value: Value | tuple[str, ...]) -> str:
    """A value for `key: <here>`; a block scalar's lines start with BLOCK_MARK until their indentation is known."""
    if isinstance(value, Literal):
        if "\n" in value.text and _block_safe(value.text):  # lines of expressions (a build's inputs): a block
            for line in value.text.removesuffix("\n").split("\n"):
                _literal(line)
            return _block(value.text)
        return _literal(value.text)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(quote(v, flow=True) for v in value) + "]"
    if "\n" in value and _block_safe(value):
        return _block(value)
    return quote(value)


def indent_blocks(text: str, key_indent: int | None = None) -> str:
    """Block scalar lines indented two columns past their key (the last line before them that is not one)."""
    if BLOCK_MARK not in text:
        return text
    out = []
    pad = "" if key_indent is None else " " * (key_indent + 2)
    for line in text.split("\n"):
        if line.startswith(BLOCK_MARK):
            body = line[1:]
            out.append(pad + body if body else "")
        else:
            if key_indent is None:
                pad = " " * (len(_KEY_INDENT.match(line).group()) + 2)  # type: ignore[union-attr]
            out.append(line)
    return "\n".join(out)


def yaml_value(value: Value | tuple[str, ...], indent: int) -> str:
    """A value for `key: <here>` where the key stands at column `indent`: what a template writes for it."""
    return indent_blocks(scalar(value), indent)
