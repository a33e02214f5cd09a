"""The jq stand-in (tests/tools/jq_cli.py) answers the way jq does for the options the scripts use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import REPO

SHIM = [sys.executable, str(REPO / "tests/tools/jq_cli.py")]


@pytest.mark.parametrize(("args", "stdin", "out", "code"), [
    (["-r", ".tags[]"], '{"tags": ["a:1", "b"]}', "a:1\nb\n", 0),
    (["-cr", '.tags | map("-t " + .) | join(" ")'], '{"tags": ["a", "b"]}', "-t a -t b\n", 0),
    (["-c", "."], '{"a": [1, 2]}', '{"a":[1,2]}\n', 0),
    (["-e", ".missing"], "{}", "null\n", 1),
    (["-n", "--arg", "v", "x y", "$v"], "", '"x y"\n', 0),
    (["-r", ".a +"], "{}", "", 5),
])
def test_the_jq_shim(args: list[str], stdin: str, out: str, code: int) -> None:
    proc = subprocess.run([*SHIM, *args], input=stdin, capture_output=True, text=True, check=False)
    assert (proc.stdout, proc.returncode) == (out, code), proc.stderr
