"""The inputs of a build as its legs receive them (templates/scripts/resolve-base.sh, join-layouts.sh): by
digest on runs that publish, else the layout of the input's leg that built the platform, or every leg's
layouts joined into one index (BuildKit picks a platform among one index's entries only)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import REPO

SCRIPTS = REPO / "templates/scripts"
DIGEST = "sha256:" + "a" * 64


def resolve(tmp_path: Path, push: bool, platforms: str, args: str = "", contexts: str = "") -> dict[str, str]:
    """The step's outputs for one leg (its matrix.platform: one platform, or several for a one-leg build)."""
    output = tmp_path / "output"
    output.write_text("")
    env = {**os.environ, "PUSH": str(push).lower(), "PLATFORMS": platforms, "ARGS": args, "CONTEXTS": contexts,
           "RUNNER_TEMP": "/runner/temp", "GITHUB_OUTPUT": str(output)}
    proc = subprocess.run(["bash", "-e", str(SCRIPTS / "resolve-base.sh")], env=env, capture_output=True, text=True,
                          cwd=tmp_path)  # the step's working directory: the checkout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found, lines = {}, iter(output.read_text().splitlines())
    for line in lines:
        if "<<" in line:
            name, end = line.split("<<")
            found[name] = "\n".join(iter(lambda: next(lines), end)).strip()
        else:
            name, _, value = line.partition("=")
            found[name] = value
    return found


def test_runs_that_publish_get_each_input_by_digest(tmp_path: Path) -> None:
    out = resolve(tmp_path, True, "linux/amd64", args=f"CORE_IMAGE=ghcr.io/Acme/core@{DIGEST}",
                  contexts=f"ui=ghcr.io/acme/ui@{DIGEST}")
    assert out["args"] == f"CORE_IMAGE=ghcr.io/acme/core@{DIGEST}", "lower-cased: registries refuse capitals"
    assert out["contexts"] == f"ui=docker-image://ghcr.io/acme/ui@{DIGEST}"
    assert (out["pattern"], out["join"]) == ("", ""), "nothing to download"


@pytest.mark.parametrize(("platforms", "handed", "directory", "pattern"), [
    ("linux/arm64", "layout-core--all", "core--all", "layout-core--all"),  # one leg built every platform
    ("linux/arm64", "layout-core--*", "core--linux-arm64", "layout-core--linux-arm64"),  # this leg's platform
    ("linux/amd64,linux/arm64", "layout-core--all", "core--all", "layout-core--all"),
    ("linux/amd64,linux/arm64", "layout-core--*", "joined-core", "layout-core--*"),  # every leg's, joined
])
def test_runs_that_publish_nothing_get_the_layout_holding_their_platforms(
        tmp_path: Path, platforms: str, handed: str, directory: str, pattern: str) -> None:
    out = resolve(tmp_path, False, platforms, args=f"CORE_IMAGE={handed}")
    assert out["args"] == "CORE_IMAGE=this-run-core-image-layout", "FROM ${CORE_IMAGE} names the context"
    assert out["contexts"] == f"this-run-core-image-layout=oci-layout:///runner/temp/base/{directory}"
    assert out["pattern"] == pattern
    assert out["join"] == ("core" if directory.startswith("joined-") else "")


def test_files_in_the_checkout_never_stand_for_an_input(tmp_path: Path) -> None:
    """`layout-core--*` is an artifact pattern, not a file glob: a pull request that adds files named like the
    input's word to the checkout must not choose (or multiply) the layouts its legs build from."""
    for planted in ("CORE_IMAGE=layout-core--all", "CORE_IMAGE=layout-core--x"):
        (tmp_path / planted).write_text("")
    out = resolve(tmp_path, False, "linux/arm64", args="CORE_IMAGE=layout-core--*")
    assert out["contexts"] == "this-run-core-image-layout=oci-layout:///runner/temp/base/core--linux-arm64"
    assert out["pattern"] == "layout-core--linux-arm64"


def test_several_inputs_download_at_once(tmp_path: Path) -> None:
    out = resolve(tmp_path, False, "linux/amd64", args="CORE_IMAGE=layout-core--*", contexts="ui=layout-ui--all")
    assert out["pattern"] == "{layout-core--linux-amd64,layout-ui--all}", "one download (a brace pattern)"
    assert out["contexts"].splitlines()[1] == "ui=oci-layout:///runner/temp/base/ui--all"


def test_an_input_not_handed_over_fails_the_leg(tmp_path: Path) -> None:
    env = {**os.environ, "PUSH": "false", "PLATFORMS": "linux/amd64", "ARGS": "BASE=ghcr.io/acme/base:main",
           "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(tmp_path / "out")}
    proc = subprocess.run(["bash", "-e", str(SCRIPTS / "resolve-base.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 1, "never a tag on runs that publish nothing"
    assert "::error title=Input not handed over::BASE" in proc.stdout


def _blob(layout: Path, content: dict[str, object]) -> dict[str, object]:
    data = json.dumps(content).encode()
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    (layout / "blobs/sha256" / digest).write_bytes(data)
    return {"mediaType": content.get("mediaType", "application/vnd.oci.image.config.v1+json"),
            "digest": f"sha256:{digest}", "size": len(data)}


def _layouts(tmp_path: Path) -> None:
    manifest = "application/vnd.oci.image.manifest.v1+json"
    for arch in ("amd64", "arm64"):
        layout = tmp_path / f"core--linux-{arch}"
        config = _blob(layout, {"os": "linux", "architecture": arch})
        image = _blob(layout, {"schemaVersion": 2, "mediaType": manifest, "config": config, "layers": []})
        top = image if arch == "amd64" else _blob(layout, {  # a plain manifest, or an index (with provenance)
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{**image, "platform": {"os": "linux", "architecture": arch}}]})
        (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))


@pytest.mark.skipif(not shutil.which("jq") or not shutil.which("sha256sum"), reason="the runners' jq and sha256sum")
def test_joined_layouts_list_every_platform_in_one_index(tmp_path: Path) -> None:
    _layouts(tmp_path)
    proc = subprocess.run(["bash", "-e", str(SCRIPTS / "join-layouts.sh")], cwd=tmp_path,
                          env={**os.environ, "JOIN": "core"}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    joined = tmp_path / "joined-core"
    (entry,) = json.loads((joined / "index.json").read_text())["manifests"]
    index = json.loads((joined / "blobs/sha256" / entry["digest"].removeprefix("sha256:")).read_bytes())
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["amd64", "arm64"]
    for m in index["manifests"]:
        assert (joined / "blobs/sha256" / m["digest"].removeprefix("sha256:")).is_file(), "every blob copied"


@pytest.mark.skipif(not shutil.which("jq") or not shutil.which("sha256sum"), reason="the runners' jq and sha256sum")
def test_a_leg_layout_that_cannot_be_read_fails_the_join(tmp_path: Path) -> None:
    """Under bash -e (no pipefail), a failure inside a loop piped into jq left a joined index without that leg."""
    _layouts(tmp_path)
    (tmp_path / "core--linux-arm64/index.json").write_text("not json")
    proc = subprocess.run(["bash", "-e", str(SCRIPTS / "join-layouts.sh")], cwd=tmp_path,
                          env={**os.environ, "JOIN": "core"}, capture_output=True, text=True)
    assert proc.returncode != 0, "a base missing a platform is never handed over"
    assert not (tmp_path / "joined-core/index.json").exists()
