"""cli.echo, which prints for the plain invocation without click, writes the bytes click.echo writes."""

from __future__ import annotations

import io
import sys

import click
import pytest

from generator import cli

MESSAGES = ["plain", "ünï ✓ \udcff", "\x1b[31mred\x1b[0m and \x1b]0;title\x07", ""]


def _stream(encoding: str | None, errors: str | None) -> io.TextIOWrapper:
    stream = io.TextIOWrapper(io.BytesIO(), encoding=encoding or "utf-8", errors=errors, write_through=True)
    if encoding is None:  # a stream that does not say its encoding
        stream = type("Unsaid", (io.TextIOWrapper,), {"encoding": None})(io.BytesIO(), encoding="utf-8")
    return stream


def _written(stream: io.TextIOWrapper) -> bytes:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1", None])
@pytest.mark.parametrize("errors", ["strict", "backslashreplace"])
@pytest.mark.parametrize("nl", [True, False])
@pytest.mark.parametrize("err", [False, True])
def test_echo_writes_what_click_writes(encoding: str | None, errors: str, nl: bool, err: bool,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    name = "stderr" if err else "stdout"
    for message in MESSAGES:
        ours, theirs = _stream(encoding, errors), _stream(encoding, errors)
        outcome = []
        for stream, echo in ((ours, cli.echo), (theirs, click.echo)):
            monkeypatch.setattr(sys, name, stream)
            try:
                echo(message, err=err, nl=nl)
                outcome.append(("ok", _written(stream)))
            except UnicodeEncodeError as exc:
                outcome.append(("error", exc.reason.encode()))
        assert outcome[0] == outcome[1], (message, encoding, errors)
