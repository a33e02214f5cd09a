"""GitHub's trigger filters: glob patterns for paths, branches and tags, and cron schedules.

A workflow GitHub cannot parse is rejected whole, on every event, so a pattern or schedule it would refuse
is refused here, where the spec says it. The glob rules follow GitHub's filter pattern cheat sheet: `*`
(no '/'), `**`, `?` and `+` (zero-or-one and one-or-more of the preceding character), `[...]` (characters
and ranges), a leading `!` (negation), and `\\` to make one of `[ ? * + \\ !` literal.
"""

from __future__ import annotations

import re
from itertools import pairwise

GLOB_SPECIAL = "[?*+\\"  # escaped wherever they stand; '!' only at the start, ']' means nothing outside [...]


def escape_glob(text: str) -> str:
    """A filter pattern that matches exactly `text` (a path we derived, such as a build context)."""
    escaped = "".join(f"\\{c}" if c in GLOB_SPECIAL else c for c in text)
    return f"\\{escaped}" if escaped.startswith("!") else escaped


def glob_problem(pattern: str, *, ref: bool) -> str:
    """Why GitHub would refuse the pattern, or "" when it is well formed. `ref`: a branch or tag pattern,
    where a backslash may only escape."""
    body = pattern[1:] if pattern.startswith("!") else pattern
    if not body:
        return "'!' alone negates nothing" if pattern else "a pattern cannot be empty"
    repeatable = False  # whether a '?' or '+' here has a plain character to repeat
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 < len(body) and body[i + 1] in GLOB_SPECIAL + "!":
                i += 1
            elif ref:
                return "'\\' may only escape one of [ ? * + \\ !"
            repeatable = True
        elif char in "?+":
            if not repeatable:
                return f"'{char}' must follow a plain character, which it repeats (write \\{char} for a literal {char})"
            repeatable = False
        elif char == "*":
            repeatable = False
        elif char == "[":
            end = body.find("]", i + 1)
            if end < 0:
                return "'[' opens a set of characters that is never closed with ']'"
            problem = _set_problem(body[i + 1:end])
            if problem:
                return problem
            i, repeatable = end, True
        else:
            repeatable = True
        i += 1
    return ""


def _set_problem(content: str) -> str:
    if not content:
        return "'[]' matches no character"
    singles = 0
    for match in re.finditer(r"(.)-(.)|(.)", content):
        if match.group(3) is not None:
            singles += 1
            continue
        start, end = match.group(1), match.group(2)
        if not any(lo <= start <= end <= hi for lo, hi in (("a", "z"), ("A", "Z"), ("0", "9"))):
            return f"the range [{start}-{end}] must run forward within a-z, A-Z or 0-9"
        singles += 2
    if singles == 1:
        return f"'[{content}]' is one character: write {content} instead"
    return ""


def path_problem(pattern: str) -> str:
    """Why a `paths:` filter would never do what it says, or "" (on top of the glob syntax)."""
    body = pattern.removeprefix("!")
    if body != body.strip():
        return "spaces at either end are part of the pattern"
    if body.startswith("/"):
        return "paths are matched relative to the repository root, without a leading '/'"
    if body.startswith("./") or "/../" in f"/{body}/" or "/./" in f"/{body}/":
        return "'.' and '..' segments never match: GitHub compares plain paths from the repository root"
    if body.endswith("/"):
        return f"a pattern ending in '/' matches no file: write {body}** for everything under it"
    return glob_problem(pattern, ref=False)


# ------------------------------------------------------------------------------------------ cron

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# name, lowest, highest, names for the values from `lowest` on
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of the month", 1, 31, ()), ("month", 1, 12, _MONTHS),
    ("day of the week", 0, 6, _DAYS),
)
MIN_INTERVAL = 5  # minutes: GitHub runs no schedule more often


def cron_problem(text: str) -> str:
    """Why GitHub would refuse the POSIX cron schedule (five fields, UTC), or ""."""
    fields = text.split(" ")
    if len(fields) != len(_FIELDS):
        return f"a schedule has five fields (minute hour day-of-month month day-of-week), not {len(fields)}"
    allowed: list[set[int]] = []
    for field, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        values: set[int] = set()
        for part in field.split(","):
            found = _cron_part(part, low, high, names)
            if isinstance(found, str):
                return f"the {name} field {field!r}: {found}"
            values |= found
        allowed.append(values)
    minutes = sorted(h * 60 + m for h in allowed[1] for m in allowed[0])
    gaps = [b - a for a, b in pairwise(minutes)] + [minutes[0] + 24 * 60 - minutes[-1]]
    if min(gaps) < MIN_INTERVAL:
        return f"it would run every {min(gaps)} minute(s); GitHub runs a schedule at most every {MIN_INTERVAL} minutes"
    return ""


def _cron_part(part: str, low: int, high: int, names: tuple[str, ...]) -> set[int] | str:
    base, slash, step_text = part.partition("/")
    step = 1
    if slash:
        if not step_text.isdigit() or int(step_text) == 0:
            return f"the step in {part!r} must be a whole number above 0"
        step = int(step_text)
    if base == "*":
        start, end = low, high
    else:
        first, dash, last = base.partition("-")
        start_or = _cron_value(first, low, high, names)
        if isinstance(start_or, str):
            return start_or
        start = start_or
        end_or = _cron_value(last, low, high, names) if dash else (high if slash else start)
        if isinstance(end_or, str):
            return end_or
        end = end_or
        if start > end:
            return f"the range {base!r} runs backwards"
    return set(range(start, end + 1, step))


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | str:
    if text.upper() in names:
        return low + names.index(text.upper())
    if not text.isdigit():
        hint = f" or one of {', '.join(names)}" if names else ""
        return f"{text!r} is not a number from {low} to {high}{hint}"
    if not low <= int(text) <= high:
        return f"{text} is outside {low}-{high}" + (" (Sunday is 0)" if names == _DAYS and text == "7" else "")
    return int(text)


# ------------------------------------------------------------------------------------------ refs in expressions


def ref_condition(branches: tuple[str, ...], tags: tuple[str, ...]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """A GitHub expression that is true only when `github.ref` matches the branch or tag patterns, the
    patterns it honours, and the same patterns as exact regular expressions. Expressions have no glob
    matching, so only patterns they can decide exactly are honoured: a plain name, `PREFIX**`, and
    `PREFIX*` when PREFIX holds no '/'. Any other pattern never matches (a negation that cannot be decided
    excludes everything before it): the result may refuse a ref GitHub's filter would take, never the
    reverse. "" when no ref matches. Expression comparisons ignore case (GitHub's and act's alike), so
    the expression also holds for `refs/heads/MAIN`: a manual run checks its ref against the regular
    expressions too, in order (the last that matches decides; `!` before one that excludes)."""
    parts: list[str] = []
    honoured: list[str] = []
    exact: list[str] = []
    for patterns, prefix in ((branches, "refs/heads/"), (tags, "refs/tags/")):
        condition, used, regexes = "", [], []
        for pattern in patterns:
            negated = pattern.startswith("!")
            match, regex = _ref_match(pattern[1:] if negated else pattern, prefix)
            if not negated and match:
                condition = f"{condition} || {match}" if condition else match
                used.append(pattern)
                regexes.append(regex)
            elif negated and condition:
                condition = f"({condition}) && !({match})" if match else ""
                used = [*used, pattern] if match else []
                regexes = [*regexes, f"!{regex}"] if match else []
        if condition:
            parts.append(condition)
            honoured += used
            exact += regexes
    return " || ".join(parts), tuple(honoured), tuple(exact)  # `&&` binds tighter than `||`: no parentheses needed


def _ref_match(pattern: str, prefix: str) -> tuple[str, str]:
    """The expression that decides the pattern, and the POSIX extended regular expression that matches it
    exactly (bash's `=~`); ("", "") when an expression cannot decide it."""
    literal, wildcard = _literal_prefix(pattern)
    if literal is None or "{" in literal or "}" in literal:
        return "", ""
    quoted = "'" + (prefix + literal).replace("'", "''") + "'"
    regex = "^" + re.sub(r"([.[\\()*+?{|^$])", r"\\\1", prefix + literal)
    if wildcard == "":
        return f"github.ref == {quoted}", f"{regex}$"
    if wildcard == "**":
        return f"startsWith(github.ref, {quoted})", regex
    if "/" in literal:  # `*` stops at '/', and an expression cannot look past the prefix's own '/'
        return "", ""
    return f"startsWith(github.ref, {quoted}) && !contains(github.ref_name, '/')", f"{regex}[^/]*$"


def _literal_prefix(pattern: str) -> tuple[str | None, str]:
    """(the literal text, "" / "*" / "**") when the pattern is plain text with at most a trailing `*` or
    `**`; (None, "") for anything else."""
    text: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            text.append(pattern[i + 1])
            i += 2
            continue
        if char in "*?+[]":
            rest = pattern[i:]
            return ("".join(text), rest) if rest in ("*", "**") else (None, "")
        text.append(char)
        i += 1
    return "".join(text), ""


# ----------------------------------------------------------------- matching a ref against the filters


def glob_tokens(pattern: str) -> list[tuple[str, str]]:
    """A well-formed ref pattern (glob_problem passed) as ("char", c), ("any", "*" or "**"), ("set", its
    characters with ranges written out), ("?", "") and ("+", "")."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1
            tokens.append(("char", pattern[i]))
        elif char == "*":
            double = pattern.startswith("**", i)
            tokens.append(("any", "**" if double else "*"))
            i += double
        elif char in "?+":
            tokens.append((char, ""))
        elif char == "[":
            end = pattern.index("]", i + 1)
            content = re.sub(r"(.)-(.)", lambda m: "".join(map(chr, range(ord(m[1]), ord(m[2]) + 1))),
                             pattern[i + 1:end])
            tokens.append(("set", content))
            i = end
        else:
            tokens.append(("char", char))
        i += 1
    return tokens


def glob_matches(tokens: list[tuple[str, str]], text: str) -> bool:
    """Whether the pattern matches all of `text`, as GitHub's filters do, by walking every position of
    the pattern at once (time bounded by the pattern's length times the text's: no backtracking)."""
    items: list[tuple[str, str, bool, bool]] = []  # (kind, value, may be skipped, may repeat)
    for kind, value in tokens:
        if kind == "?":
            items[-1] = (items[-1][0], items[-1][1], True, items[-1][3])
        elif kind == "+":  # one, then any number more
            items.append((items[-1][0], items[-1][1], True, True))
        else:
            items.append((kind, value, kind == "any", kind == "any"))

    def accepts(i: int, char: str) -> bool:
        kind, value = items[i][:2]
        if kind == "any":
            return value == "**" or char != "/"
        return char in value if kind == "set" else char == value

    def closure(states: set[int]) -> set[int]:
        todo, seen = list(states), set(states)
        while todo:
            i = todo.pop()
            if i < len(items) and items[i][2] and i + 1 not in seen:
                seen.add(i + 1)
                todo.append(i + 1)
        return seen

    states = closure({0})
    for char in text:
        states = closure({i if items[i][3] else i + 1 for i in states if i < len(items) and accepts(i, char)})
    return len(items) in states


def has_wildcard(pattern: str) -> bool:
    return any(kind != "char" for kind, _ in glob_tokens(pattern))


def glob_match(pattern: str, name: str) -> bool:
    """Whether a well-formed filter pattern (glob_problem passed) matches all of `name`."""
    return glob_matches(glob_tokens(pattern), name)


def filter_match(patterns: tuple[str, ...], name: str) -> bool:
    """Whether a name passes a filter list, negations (`!`) applied in order as GitHub does."""
    matched = False
    for pattern in patterns:
        if pattern.startswith("!"):
            matched = matched and not glob_match(pattern[1:], name)
        elif glob_match(pattern, name):
            matched = True
    return matched
