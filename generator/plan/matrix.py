"""Folding a job's builds (or legs) into values and matrix rows: a value every row shares is written out
once, a value that differs becomes `${{ matrix.<key> }}` and each row carries its own."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import UserError
from ..model import Image
from ..strategy import Leg
from ..workflow import Literal, Value
from .values import ABSENT

MAX_MATRIX = 256  # GitHub's limit of jobs per matrix


class Fields:
    """Per-row values of a job (a row per build, or per leg of a native group). `per_row`: keys that are
    matrix values whenever set, even when every row agrees (a cache scope per platform)."""

    def __init__(self, rows: Sequence[dict[str, Value]], per_row: Iterable[str] = ()) -> None:
        self.rows = list(rows)
        self.varying = [k for k in rows[0] if len({_hashable(r[k]) for r in rows}) > 1]
        self.varying += [k for k in per_row if k not in self.varying and rows[0][k] != ABSENT.get(k)]

    def __call__(self, key: str) -> Value:
        """The value every row has, or the matrix expression that reads each row's."""
        if key in self.varying:
            return Literal(f"${{{{ matrix.{key} }}}}")
        return self.rows[0][key]

    def values(self, keys: Iterable[str]) -> dict[str, Value | None]:
        """A job's values; an optional input no row sets is None (the template leaves it out)."""
        out: dict[str, Value | None] = {}
        for key in keys:
            value = self(key)
            out[key] = None if key in ABSENT and not isinstance(value, Literal) and value == ABSENT[key] else value
        return out

    def matrix(self, keys: Sequence[str]) -> tuple[dict[str, Value], ...]:
        """One row per build, holding its label and the values that differ; none for a single build."""
        if len(self.rows) == 1:
            return ()
        wanted = set(keys)
        return tuple({"variant": row["variant"], **{k: row[k] for k in self.varying if k in wanted}}
                     for row in self.rows)


def _hashable(value: Value) -> object:
    return value.text if isinstance(value, Literal) else value


def leg_matrix(legs: Sequence[tuple[str, Leg]], fields: Fields, *, labelled: bool, stand_ins: bool,
               emulated: bool) -> tuple[dict[str, Any], ...]:
    """A native group's rows: (build label, leg) each, with where it runs and the values that differ.
    `labelled`: the group holds several builds; `stand_ins`: some rows name a pull-request runner."""
    entries: list[dict[str, Any]] = []
    for (label, leg), row in zip(legs, fields.rows, strict=True):
        entry: dict[str, Any] = {}
        if labelled:
            entry["variant"] = label
        entry |= {"platform": leg.platform.name, "runner": leg.runner_value}
        if stand_ins and leg.pr_runner:
            entry["pr-runner"] = leg.pr_runner[0]
        if emulated:
            entry["qemu"] = leg.qemu
        entry["pair"] = leg.platform.pair
        entry |= {k: row[k] for k in sorted(fields.varying, key=lambda k: k != "cache")}
        entries.append(entry)
    return tuple(entries)


def check_size(spec_path: str, image: Image, rows: int) -> None:
    """GitHub refuses a matrix of more than MAX_MATRIX jobs: say so where the spec names the image."""
    if rows > MAX_MATRIX:
        line, column = image.position
        raise UserError.single(
            spec_path, f'image "{image.name}" needs {rows} legs in one matrix; GitHub runs at most '
                       f"{MAX_MATRIX} jobs per matrix", line=line, column=column,
            hint="split its variants over two images, or drop platforms")
