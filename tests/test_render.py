"""The one quoting path: whatever a user writes reads back unchanged from the generated YAML."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from generator.render import quote, yaml_value
from generator.workflow import Literal

_yaml = YAML(typ="safe", pure=True)


def _read_back(scalar: str) -> object:
    return _yaml.load(f"key: {scalar}\n")["key"]


@pytest.mark.parametrize("text", [
    "no", "No", "off", "ON", "y", "n", "yes", "null", "~", "true", "=", "<<",
    "1.20", "010", "0x1F", "1e3", "1:30", ".5", "-1", "+1", ".inf", "2024-01-01", "+_", "_", "1_000", "0b1",
    "- item", "? key", ": x", "a: b", "a #b", "#x", "&anchor", "*alias", "!tag", "|", ">", "'q'", '"q"',
    "%x", "@x", "`x", "{a}", "[a]", "a,b", " lead", "trail ", "", "tab\there", "line\nbreak",
    "${{ secrets.X }}", "\u2028", "\x85", "\ufeff", "caf\u00e9", "\U0001f600", "back\\slash",
])
def test_hostile_strings_read_back_exactly(text: str) -> None:
    assert _read_back(quote(text)) == text


@pytest.mark.parametrize("text", ["no", "a,b", "[x]", "{y}", "self-hosted"])
def test_flow_context_strings_read_back_exactly(text: str) -> None:
    assert _yaml.load(f"key: [{quote(text, flow=True)}]\n")["key"] == [text]


def test_readable_values_stay_plain() -> None:
    for text in ("linux/amd64,linux/arm64", "ghcr.io/acme/app", "type=gha,scope=app", "Build app (linux/arm64)",
                 "tonistiigi/binfmt:qemu-v10.2.3-68", "v*"):
        assert quote(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_reads_back_exactly(text: str) -> None:
    assert _read_back(quote(text)) == text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_as_block_value_reads_back_exactly(text: str) -> None:
    rendered = yaml_value(text, 2)
    assert _yaml.load(f"a:\n  key: {rendered}\n  after: 1\n") == {"a": {"key": text, "after": 1}}


def test_multiline_values_become_literal_blocks() -> None:
    rendered = yaml_value("type=sha\ntype=ref,event=branch\n", 8)
    assert rendered == "|\n          type=sha\n          type=ref,event=branch"


def test_literal_that_would_change_structure_is_refused() -> None:
    from generator.render import RenderError

    with pytest.raises(RenderError):
        yaml_value(Literal("a: b"), 0)
