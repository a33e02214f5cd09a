"""The post-push check the generated workflows run, on recorded `imagetools inspect` output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.scripts import verify_index

DATA = Path(__file__).parent / "data" / "verify"
EXPECTED = ["linux/amd64", "linux/arm64", "linux/arm/v7"]


def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


def _check(index: str, configs: str, expected: list[str] = EXPECTED) -> tuple[list[str], list[Any]]:
    table = _load(configs)
    return verify_index.check_index(_load(index), table.__getitem__, expected)


def test_a_correct_index_passes_and_attestations_are_ignored() -> None:
    problems, rows = _check("index-good.json", "configs-good.json")
    assert problems == []
    assert [claimed for claimed, _, _ in rows] == EXPECTED


def test_a_missing_platform_fails() -> None:
    problems, _ = _check("index-missing-armv7.json", "configs-good.json")
    assert problems == ["linux/arm/v7 is missing"]


def test_an_arm64_entry_holding_an_amd64_image_fails() -> None:
    problems, rows = _check("index-good.json", "configs-arm64-holds-amd64.json")
    assert problems == [f"the linux/arm64 entry holds an image built for linux/amd64 (sha256:{'b' * 64})"]
    assert ("linux/arm64", f"sha256:{'b' * 64}", "linux/amd64") in rows


def test_a_platform_nobody_asked_for_fails() -> None:
    problems, _ = _check("index-good.json", "configs-good.json", ["linux/amd64", "linux/arm64"])
    assert problems == ["linux/arm/v7 was not asked for"]


def test_a_single_platform_manifest_is_not_a_multi_platform_image() -> None:
    problems, _ = verify_index.check_index(_load("manifest-single.json"), lambda d: {}, EXPECTED)
    assert problems == ["the tag holds a single-platform image, not a multi-platform index"]


@pytest.mark.parametrize(("platform", "name"), [
    ({"os": "linux", "architecture": "arm64", "variant": "v8"}, "linux/arm64"),
    ({"os": "linux", "architecture": "arm", "variant": "v7"}, "linux/arm/v7"),
    ({"os": "linux", "architecture": "amd64"}, "linux/amd64"),
])
def test_platform_names(platform: dict[str, str], name: str) -> None:
    assert verify_index.described(platform) == name


def test_main_writes_the_summary_and_fails_on_a_wrong_platform(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    index, configs = _load("index-good.json"), _load("configs-arm64-holds-amd64.json")

    def fake_inspect(*args: str) -> Any:
        if args[0] == "--raw":
            assert args[1] == "ghcr.io/acme/app:1.2.3", "the version tag of the lower-cased image is checked"
            return index
        return configs[args[0].split("@", 1)[1]]

    summary = tmp_path / "summary.md"
    monkeypatch.setattr(verify_index, "inspect", fake_inspect)
    monkeypatch.setenv("IMAGES", "ghcr.io/Acme/app\n")
    monkeypatch.setenv("PLATFORMS", "linux/amd64: ubuntu-24.04\nlinux/arm64: ubuntu-24.04-arm\n"
                                    "linux/arm/v7: ubuntu-24.04\n")
    monkeypatch.setenv("DOCKER_METADATA_OUTPUT_VERSION", "1.2.3")
    monkeypatch.setenv("DOCKER_METADATA_OUTPUT_JSON", json.dumps({"tags": ["ghcr.io/acme/app:1.2.3"]}))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    assert verify_index.main() == 1
    out = capsys.readouterr().out
    assert "::error title=ghcr.io/acme/app:1.2.3::the linux/arm64 entry holds an image built for linux/amd64" in out
    table = summary.read_text()
    assert "| `ghcr.io/acme/app` | linux/arm64 | ubuntu-24.04-arm |" in table
    assert "- `ghcr.io/acme/app:1.2.3`" in table
