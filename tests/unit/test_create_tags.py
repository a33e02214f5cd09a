"""templates/scripts/create-tags.sh, the merge job's last step: it tags the verified digests and hands the index
on by digest (its `ref` output is what dependents build on and what is signed). Run for real under bash, with
jq and a stand-in `docker` whose registry another run writes to between our push and anything we read back."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from ..conftest import REPO

SCRIPT = REPO / "templates/scripts/create-tags.sh"
IMAGE = "ghcr.io/acme/app"
LEGS = ["a" * 64, "b" * 64]  # the digests the legs pushed (file names in the digests directory)
OTHER = "sha256:" + "f" * 64  # the index a concurrent run of the same branch pushes

# `docker buildx imagetools` as buildx behaves (commands/imagetools/create.go): `create --dry-run` prints the
# index's bytes and a line break; `create` pushes those bytes, whose digest is their sha256. Then, as a second
# push to the branch would, another run moves every tag to its own index (OTHER). `inspect --raw REF@DIGEST`
# answers only for what the registry holds; `inspect TAG --format` reads the tag as it is now.
FAKE_DOCKER = """\
import hashlib, json, os, sys
args = sys.argv[1:]
state = os.environ["FAKE_STATE"]
reg = json.load(open(state)) if os.path.exists(state) else {"manifests": [], "tags": {}}
sources = [a for a in args[3:] if "@sha256:" in a]
if args[:3] == ["buildx", "imagetools", "create"]:
    annotations = sorted(args[i + 1] for i, a in enumerate(args) if a == "--annotation")
    index = json.dumps({"manifests": sources, "annotations": annotations}, indent=3)
    if os.environ.get("FAKE_CHANGES_BYTES") and "--dry-run" not in args:
        index += " "  # a buildx whose push differs from its dry run: the script must notice, not guess
    digest = "sha256:" + hashlib.sha256(index.encode()).hexdigest()
    if "--dry-run" in args:
        print(index)
        sys.exit(0)
    reg["manifests"].append(digest)
    for i, a in enumerate(args):
        if a == "--tag":
            reg["tags"][args[i + 1]] = os.environ["FAKE_OTHER"]  # the concurrent run's push lands now
    reg["manifests"].append(os.environ["FAKE_OTHER"])
elif args[:3] == ["buildx", "imagetools", "inspect"]:
    ref = next(a for a in args[3:] if not a.startswith("-") and "{{" not in a)
    if "@" in ref:
        if ref.split("@")[1] not in reg["manifests"]:
            sys.exit(f"ERROR: {ref}: not found")
        print("{}")
    else:
        print(json.dumps({"digest": reg["tags"][ref]}))
else:
    sys.exit(f"fake docker: `docker {' '.join(args)}` is not modelled")
json.dump(reg, open(state, "w"))
"""


def create_tags(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(f"#!{sys.executable}\n{FAKE_DOCKER}")
    (bin_dir / "docker").chmod(0o755)
    work = tmp_path / "digests"
    work.mkdir()
    for leg in LEGS:
        (work / leg).touch()
    output = tmp_path / "output"
    meta = {"tags": [f"{IMAGE}:main", f"{IMAGE}:sha-1234567"], "annotations": ["index:org.example=1"]}
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-e", str(SCRIPT)], cwd=work, capture_output=True,
                          text=True, timeout=60, env={
                              **os.environ, **env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                              "FAKE_STATE": str(tmp_path / "registry.json"), "FAKE_OTHER": OTHER,
                              "IMAGES": f"{IMAGE}\ndocker.io/acme/app\n", "GITHUB_OUTPUT": str(output),
                              "DOCKER_METADATA_OUTPUT_JSON": json.dumps(meta)})
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines()) if output.exists() else {}
    return proc, outputs


def test_the_index_is_handed_on_by_the_digest_it_was_pushed_as_not_by_a_tag_another_run_moved(
        tmp_path: Path) -> None:
    proc, outputs = create_tags(tmp_path)
    assert proc.returncode == 0, proc.stderr
    pushed = json.loads((tmp_path / "registry.json").read_text())["manifests"][0]
    assert outputs["digest"] == pushed != OTHER
    assert outputs["ref"] == f"{IMAGE}@{pushed}"
    expected = json.dumps({"manifests": [f"{IMAGE}@sha256:{leg}" for leg in LEGS],
                           "annotations": ["index:org.example=1"]}, indent=3)
    assert pushed == "sha256:" + hashlib.sha256(expected.encode()).hexdigest()


def test_a_digest_the_registry_does_not_hold_fails_the_step_rather_than_handing_on_a_guess(tmp_path: Path) -> None:
    proc, outputs = create_tags(tmp_path, FAKE_CHANGES_BYTES="yes")
    assert proc.returncode != 0
    assert "not found" in proc.stderr
    assert "digest" not in outputs
    assert "ref" not in outputs


PER_ARCH = REPO / "templates/scripts/per-arch-tags.sh"
# A stand-in `docker` for per-arch-tags.sh: the index this run pushed (by digest) holds our amd64 image; the
# version tag, which a concurrent run moved meanwhile, names that run's index and image.
FAKE_PER_ARCH = """\
import json, os, sys
args = sys.argv[1:]
ours, theirs = os.environ["FAKE_OURS"], os.environ["FAKE_THEIRS"]
if args[:4] == ["buildx", "imagetools", "inspect", "--raw"] and os.environ.get("FAKE_GONE"):
    sys.exit(f"ERROR: {args[4]}: not found")
elif args[:4] == ["buildx", "imagetools", "inspect", "--raw"]:
    image = ours if args[4] == os.environ["FAKE_INDEX"] else theirs
    print(json.dumps({"manifests": [{"digest": image, "platform": {"os": "linux", "architecture": "amd64"}}]}))
elif args[:3] == ["buildx", "imagetools", "create"]:
    with open(os.environ["FAKE_LOG"], "a") as log:
        print(*args[3:], file=log)
else:
    sys.exit(f"fake docker: `docker {' '.join(args)}` is not modelled")
"""


OURS, INDEX = "sha256:" + "a" * 64, f"{IMAGE}@sha256:" + "1" * 64


def per_arch(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """per-arch-tags.sh as GitHub runs a step with no `shell:` (`bash -e`, no pipefail)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(f"#!{sys.executable}\n{FAKE_PER_ARCH}")
    (bin_dir / "docker").chmod(0o755)
    meta = {"tags": [f"{IMAGE}:main", f"{IMAGE}:sha-1234567"]}
    return subprocess.run(["bash", "-e", str(PER_ARCH)], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                               "FAKE_OURS": OURS, "FAKE_THEIRS": "sha256:" + "f" * 64, "FAKE_INDEX": INDEX,
                               "FAKE_LOG": str(tmp_path / "created"), "INDEX": INDEX,
                               "IMAGES": f"{IMAGE}\ndocker.io/acme/app\n", "DOCKER_METADATA_OUTPUT_VERSION": "main",
                               "DOCKER_METADATA_OUTPUT_JSON": json.dumps(meta), **env})


def test_per_arch_tags_point_at_the_images_this_run_pushed_not_at_what_the_version_tag_names_now(
        tmp_path: Path) -> None:
    """Two pushes to a branch run at once (their concurrency groups differ): the version tag (`main`) may
    already name the other run's index when this run writes `main-amd64` and `sha-<this commit>-amd64`."""
    proc = per_arch(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "created").read_text().splitlines() == [
        f"--tag {IMAGE}:main-amd64 {IMAGE}@{OURS}", f"--tag {IMAGE}:sha-1234567-amd64 {IMAGE}@{OURS}"]


def test_per_arch_tags_fail_the_step_when_the_index_cannot_be_read(tmp_path: Path) -> None:
    """Piped into jq and a loop, a failed inspect left the step green with no per-architecture tag written."""
    proc = per_arch(tmp_path, FAKE_GONE="1")
    assert proc.returncode != 0, proc.stdout
    assert "not found" in proc.stderr
    assert not (tmp_path / "created").exists()
