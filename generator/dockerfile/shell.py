"""Shell words: a line split as a POSIX shell splits it, quotes removed. Shared by the heredoc scan (a
heredoc's quoted name) and the recognition of heavy commands."""

from __future__ import annotations

import re
import shlex

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


def shell_words(line: str) -> list[str] | None:
    """The line's shell words, quotes removed; None for an unbalanced quote or a final backslash."""
    words = []
    for token in _SHELL_TOKEN.finditer(line):
        kind = token.lastgroup
        if kind == "unbalanced":
            return None
        if kind == "word":
            words.append(unquote_word(token.group()))
        elif kind in ("punctuation", "other"):
            words.append(token.group())
    return words


def unquote_word(word: str) -> str:
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
