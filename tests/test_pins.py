"""Bots that bump pins: regenerating keeps a newer release a bot wrote, and the spec can pin explicitly."""

from __future__ import annotations

from pathlib import Path

from generator.actions import effective_pins, load_pins, pins_in, release_key

from .conftest import Runner

# docker/login-action v4.6.0 as docker/github-builder v1.17.0 pins it (a Dependabot bump there).
NEWER = "dbcb813823bdd20940b903addbd779551569679f"
OURS = load_pins().pin("docker/login-action")


def _bump(path: Path, commit: str, release: str) -> None:
    text = path.read_text()
    assert f"docker/login-action@{OURS.commit} # {OURS.release}" in text
    path.write_text(text.replace(f"docker/login-action@{OURS.commit} # {OURS.release}",
                                 f"docker/login-action@{commit} # {release}"))


def test_a_bot_bump_survives_regeneration_and_check(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    repo = sample_copy("minimal")
    workflow = repo / ".github/workflows/multiarch-hello.yml"
    _bump(workflow, NEWER, "v4.6.0")
    bumped = workflow.read_text()

    assert run("-C", str(repo), "--check").code == 0, "the bumped file is current"
    assert run("-C", str(repo)).code == 0
    assert workflow.read_text() == bumped
    assert f"docker/login-action@{NEWER} # v4.6.0" in bumped


def test_an_older_pin_is_put_back(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    repo = sample_copy("minimal")
    workflow = repo / ".github/workflows/multiarch-hello.yml"
    original = workflow.read_text()
    _bump(workflow, "0" * 40, "v3.0.0")
    check = run("-C", str(repo), "--check")
    assert check.code == 1
    assert f"+        uses: docker/login-action@{OURS.commit} # {OURS.release}" in check.out
    assert run("-C", str(repo)).code == 0
    assert workflow.read_text() == original


def test_the_spec_can_pin_an_action(sample_copy, run: Runner) -> None:  # type: ignore[no-untyped-def]
    repo = sample_copy("minimal")
    spec = repo / ".github/multiarch.yaml"
    pin = f"actions:\n  docker/login-action:\n    release: v4.0.0\n    commit: {'a' * 40}\n"
    spec.write_text(spec.read_text() + pin)
    assert run("-C", str(repo)).code == 0
    text = (repo / ".github/workflows/multiarch-hello.yml").read_text()
    assert f"docker/login-action@{'a' * 40} # v4.0.0" in text
    assert OURS.commit not in text


def test_pins_in_reads_the_bot_form_and_keeps_the_highest() -> None:
    text = (f"      - uses: docker/login-action@{OURS.commit} # {OURS.release}\n"
            f"        uses: docker/login-action@{NEWER} # v4.6.0\n"
            "        uses: actions/checkout@v4\n")
    found = pins_in(text)
    assert list(found) == ["docker/login-action"]
    assert (found["docker/login-action"].commit, found["docker/login-action"].release) == (NEWER, "v4.6.0")
    assert release_key("v4.10.0") > release_key("v4.9.1") > release_key("v4")


def test_a_bumped_action_we_do_not_use_is_ignored() -> None:
    text = f"uses: someone/else@{NEWER} # v9.9.9\n"
    assert effective_pins(load_pins(), [text], {}).actions == load_pins().actions
