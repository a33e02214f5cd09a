"""templates/scripts/lowercase-names.sh, the legs' image list: every registry the run publishes to, lower-cased,
but those whose secrets an environment holds (the merge copies the verified image there). Run as GitHub runs
a step with no `shell:` (`bash -e`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ..conftest import REPO

SCRIPT = REPO / "templates/scripts/lowercase-names.sh"


def names(tmp_path: Path, images: str, held: str) -> str:
    output = tmp_path / "output"
    env = {**os.environ, "IMAGES": images, "HELD": held, "GITHUB_OUTPUT": str(output)}
    subprocess.run(["bash", "-e", str(SCRIPT)], env=env, check=True)
    return output.read_text()


@pytest.mark.parametrize(("images", "held", "expected"), [
    ("ghcr.io/Acme/App\n\ndocker.io/acme/app\n", "", "ghcr.io/acme/app,docker.io/acme/app"),
    ("ghcr.io/acme/app\ndocker.io/acme/app\n", "docker.io/acme/", "ghcr.io/acme/app"),
    # A registry whose reference merely contains a held prefix is not held (a substring match dropped it).
    ("mydocker.io/acme/app\ndocker.io/acme/app\n", "docker.io/acme/", "mydocker.io/acme/app"),
    ("ghcr.io/acme/app\ndocker.io/acme/app\nquay.io/acme/app\n", "docker.io/acme/\nquay.io/acme/", "ghcr.io/acme/app"),
    ("docker.io/acme/app\n", "docker.io/acme/", ""),
])
def test_the_legs_push_to_every_registry_an_environment_does_not_hold(tmp_path: Path, images: str, held: str,
                                                                      expected: str) -> None:
    assert names(tmp_path, images, held) == f"images={expected}\n"
