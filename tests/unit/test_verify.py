"""templates/scripts/verify.sh, the check that runs before any tag: run for real under bash, with jq and a
stand-in `docker` that answers `buildx imagetools inspect` from a registry written as JSON."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..conftest import REPO

SCRIPT = REPO / "templates/scripts/verify.sh"
DATA = REPO / "tests/data/verify"  # a QEMU build's index (three platforms, attestations) and its images
REPO_NAME = "ghcr.io/acme-corp/app"
NATIVE = "linux/amd64: ubuntu-24.04\nlinux/arm64: ubuntu-24.04-arm\n"
QEMU = "linux/amd64: ubuntu-24.04\nlinux/arm64: ubuntu-24.04\nlinux/arm/v7: ubuntu-24.04\n"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"

# `docker` as the script meets it: `buildx imagetools inspect --raw REF` prints the manifest as stored,
# `... REF --format '{{json .Image}}'` an image's configuration. Every call is logged; a name with
# capitals is refused as Docker's reference parser refuses it; anything else fails loudly.
FAKE_DOCKER = """\
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:3] != ["buildx", "imagetools", "inspect"]:
    sys.exit(f"fake docker: `docker {' '.join(args)}` is not modelled")
rest = args[3:]
fmt = rest[rest.index("--format") + 1] if "--format" in rest else ""
refs = [a for a in rest if a not in ("--raw", "--format", fmt)]
if len(refs) != 1 or "@sha256:" not in refs[0] or ("--raw" in rest) == bool(fmt):
    sys.exit(f"fake docker: only inspect --raw REPO@DIGEST or REPO@DIGEST --format is modelled, not {rest}")
repo, digest = refs[0].split("@")
if repo != repo.lower():
    sys.exit(f"ERROR: invalid reference format: repository name ({repo}) must be lowercase")
registry = json.load(open(os.environ["FAKE_REGISTRY"]))
if repo != registry["repository"]:
    sys.exit(f"ERROR: {refs[0]}: not found")
if "--raw" in rest:
    if digest not in registry["manifests"]:
        sys.exit(f"ERROR: {refs[0]}: not found")
    print(json.dumps(registry["manifests"][digest], indent=2), end="")
elif fmt != "{{json .Image}}":
    sys.exit(f"fake docker: --format {fmt} is not modelled")
elif digest not in registry["configs"]:
    sys.exit(f"ERROR: {refs[0]}: not found (or an index: the script inspects the images an index holds)")
else:
    print(json.dumps(registry["configs"][digest], indent=2))
"""


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _platform(text: str) -> dict[str, str]:
    os_name, arch, *variant = text.split("/")
    return {"os": os_name, "architecture": arch, **({"variant": variant[0]} if variant else {})}


class Registry:
    """ghcr.io/acme-corp/app: its manifests (by digest) and image configurations (by manifest digest)."""

    def __init__(self) -> None:
        self.manifests: dict[str, Any] = {}
        self.configs: dict[str, Any] = {}

    def image(self, built_for: str) -> str:
        created = f"2025-06-01T12:00:{len(self.configs):02d}Z"  # each build its own digest
        config = {**_platform(built_for), "created": created, "config": {"Entrypoint": ["/server"]}}
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [],
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config)}}
        digest = _digest(manifest)
        self.manifests[digest], self.configs[digest] = manifest, config
        return digest

    def index(self, *images: tuple[str, str]) -> str:
        """An index of (claimed platform, image built for) entries and their attestations, as buildx pushes a
        build with provenance by digest."""
        entries = [{"mediaType": OCI_MANIFEST, "digest": self.image(built), "platform": _platform(claimed)}
                   for claimed, built in images]
        for entry in list(entries):
            attestation = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": [], "for": entry["digest"]}
            self.manifests[_digest(attestation)] = attestation
            entries.append({"mediaType": OCI_MANIFEST, "digest": _digest(attestation),
                            "platform": {"os": "unknown", "architecture": "unknown"},
                            "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                            "vnd.docker.reference.digest": entry["digest"]}})
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        self.manifests[_digest(index)] = index
        return _digest(index)

    def recorded(self, index: str, configs: str) -> str:
        """The QEMU build recorded in tests/data/verify."""
        data = json.loads((DATA / index).read_text())
        self.manifests[_digest(data)] = data
        self.configs.update(json.loads((DATA / configs).read_text()))
        return _digest(data)


@pytest.fixture
def registry() -> Registry:
    return Registry()


class Run:
    """What a run of the script left: exit code, log, job summary, and the `docker` calls it made."""

    def __init__(self, proc: subprocess.CompletedProcess[str], tmp: Path) -> None:
        self.code, self.out, self.err = proc.returncode, proc.stdout, proc.stderr
        self.summary = (tmp / "summary.md").read_text() if (tmp / "summary.md").exists() else ""
        log = tmp / "docker.log"
        self.calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    @property
    def errors(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.startswith("::error")]

    @property
    def inspected(self) -> list[str]:
        """The reference each `docker` call named."""
        return [next(arg for arg in call if "@" in arg) for call in self.calls]


def fake_docker(tmp_path: Path, registry: Registry) -> dict[str, str]:
    """The environment of a step that finds the fake `docker` first on PATH, answering from `registry`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(f"#!{sys.executable}\n{FAKE_DOCKER}")
    docker.chmod(0o755)
    (tmp_path / "registry.json").write_text(json.dumps(
        {"repository": REPO_NAME, "manifests": registry.manifests, "configs": registry.configs}))
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_REGISTRY": str(tmp_path / "registry.json"), "FAKE_DOCKER_LOG": str(tmp_path / "docker.log")}


def verify(tmp_path: Path, registry: Registry, digests: list[str], platforms: str, *,
           image: str = REPO_NAME, shell: tuple[str, ...] = ("-e",)) -> Run:
    """Run the script as a step with `working-directory: ${{ runner.temp }}/digests` and the bash flags
    GitHub gives a `run:` step (-e; `shell: bash`, as composite actions need, adds -o pipefail)."""
    work = tmp_path / "digests"
    work.mkdir()
    for digest in digests:  # what export-digest.sh leaves for each pushed digest
        (work / digest.removeprefix("sha256:")).touch()
    legs = [{"platform": p, "runner": r} for p, r in (line.split(": ", 1) for line in platforms.splitlines() if line)]
    env = fake_docker(tmp_path, registry) | {  # the step's environment: the engine's IMAGES, the call's legs
        "IMAGES": f"{image}\nother.example/{image}\n", "LEGS": json.dumps(legs),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    proc = subprocess.run(["bash", "--noprofile", "--norc", *shell, str(SCRIPT)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=60)
    return Run(proc, tmp_path)


def _child(registry: Registry, index: str, platform: str) -> str:
    entries = registry.manifests[index]["manifests"]
    return next(str(entry["digest"]) for entry in entries if entry["platform"] == _platform(platform))


A, B, C = (f"sha256:{x * 64}" for x in "abc")  # the images in tests/data/verify


# ------------------------------------------------------------------------------------------ passing


@pytest.mark.parametrize("shell", [("-e",), ("-e", "-o", "pipefail")], ids=["run", "shell-bash"])
def test_native_legs_each_pushed_one_platform_with_its_attestation(
        tmp_path: Path, registry: Registry, shell: tuple[str, ...]) -> None:
    amd64 = registry.index(("linux/amd64", "linux/amd64"))
    arm64 = registry.index(("linux/arm64", "linux/arm64/v8"))  # arm64 and arm64/v8 are one platform
    run = verify(tmp_path, registry, [amd64, arm64], NATIVE, shell=shell)
    assert run.code == 0, run.out + run.err
    assert run.errors == []
    images = {"linux/amd64": _child(registry, amd64, "linux/amd64"),
              "linux/arm64": _child(registry, arm64, "linux/arm64")}
    runners = {"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"}
    by_file = sorted([(amd64, "linux/amd64"), (arm64, "linux/arm64")])  # the rows follow the digests' files
    rows = [f"| {p} | {runners[p]} | `{images[p]}` | {p} |" for _, p in by_file]
    table = [f"### {REPO_NAME}", "", "| platform | runner | digest | built for |", "|-|-|-|-|", *rows]
    assert run.summary == "\n".join(table) + "\n"
    assert run.out == run.summary, "the log shows the same table"


def test_a_qemu_build_pushed_one_index_of_every_platform(tmp_path: Path, registry: Registry) -> None:
    index = registry.recorded("index-good.json", "configs-good.json")
    run = verify(tmp_path, registry, [index], QEMU)
    assert run.code == 0, run.out + run.err
    assert run.summary.splitlines()[4:] == [
        f"| linux/amd64 | ubuntu-24.04 | `{A}` | linux/amd64 |",
        f"| linux/arm64 | ubuntu-24.04 | `{B}` | linux/arm64 |",
        f"| linux/arm/v7 | ubuntu-24.04 | `{C}` | linux/arm/v7 |"]
    assert run.inspected == [f"{REPO_NAME}@{index}", *(f"{REPO_NAME}@{d}" for d in (A, B, C))], \
        "the index, then each image it holds; never an attestation, never a tag"


def test_plain_manifests_pushed_without_attestations_claim_what_they_are_built_for(
        tmp_path: Path, registry: Registry) -> None:
    run = verify(tmp_path, registry, [registry.image("linux/amd64"), registry.image("linux/arm64")], NATIVE)
    assert run.code == 0, run.out + run.err
    claimed = sorted(row.split(" | ")[0] for row in run.summary.splitlines()[4:])
    assert claimed == ["| linux/amd64", "| linux/arm64"]


def test_capitals_in_the_image_name_are_lowered_as_ghcr_requires(tmp_path: Path, registry: Registry) -> None:
    index = registry.recorded("index-good.json", "configs-good.json")
    run = verify(tmp_path, registry, [index], QEMU, image="ghcr.io/Acme-Corp/app")
    assert run.code == 0, run.out + run.err
    assert len(run.inspected) == 4
    assert all(ref.startswith(f"{REPO_NAME}@sha256:") for ref in run.inspected)
    assert run.summary.startswith(f"### {REPO_NAME}\n")


def test_the_fake_docker_refuses_capitals_as_docker_does(tmp_path: Path, registry: Registry) -> None:
    """What makes the test above mean something."""
    env = fake_docker(tmp_path, registry)
    proc = subprocess.run(["docker", "buildx", "imagetools", "inspect", "--raw", f"ghcr.io/Acme-Corp/app@{A}"],
                          env=env, capture_output=True, text=True)
    assert (proc.returncode, proc.stderr) == (1, "ERROR: invalid reference format: repository name "
                                                 "(ghcr.io/Acme-Corp/app) must be lowercase\n")


@pytest.mark.parametrize(("claimed", "built", "passes"), [
    ("linux/arm64", "linux/arm64/v8", True),
    ("linux/arm64/v8", "linux/arm64", True),  # arm64 and arm64/v8 are one platform
    ("linux/arm/v7", "linux/arm/v6", False),
    ("linux/arm/v7", "linux/arm", False),  # other variants count
])
def test_platform_names(tmp_path: Path, registry: Registry, claimed: str, built: str, passes: bool) -> None:
    run = verify(tmp_path, registry, [registry.index((claimed, built))], f"{claimed.removesuffix('/v8')}: runner\n")
    assert (run.code == 0) is passes, run.out + run.err
    assert [e.split("::")[1] for e in run.errors] == ([] if passes else ["error title=Wrong platform"])


# ------------------------------------------------------------------------------------------ failing


def test_komodo_an_arm64_entry_holding_an_amd64_image_fails(tmp_path: Path, registry: Registry) -> None:
    index = registry.recorded("index-good.json", "configs-arm64-holds-amd64.json")
    run = verify(tmp_path, registry, [index], QEMU)
    assert run.code == 1
    assert run.errors == [f"::error title=Wrong platform::the linux/arm64 entry {REPO_NAME}@{B} is built for "
                          "linux/amd64"]
    assert f"| linux/arm64 | ubuntu-24.04 | `{B}` | linux/amd64 |" in run.summary.splitlines()


def test_a_native_leg_whose_image_is_built_for_another_platform_fails(tmp_path: Path, registry: Registry) -> None:
    amd64 = registry.index(("linux/amd64", "linux/amd64"))
    arm64 = registry.index(("linux/arm64", "linux/amd64"))
    run = verify(tmp_path, registry, [amd64, arm64], NATIVE)
    assert run.code == 1
    assert run.errors == [f"::error title=Wrong platform::the linux/arm64 entry "
                          f"{REPO_NAME}@{_child(registry, arm64, 'linux/arm64')} is built for linux/amd64"]


def test_a_missing_platform_fails(tmp_path: Path, registry: Registry) -> None:
    index = registry.recorded("index-missing-armv7.json", "configs-good.json")
    run = verify(tmp_path, registry, [index], QEMU)
    assert run.code == 1
    assert run.errors == [f"::error title=Missing platform::no digest for {REPO_NAME} holds linux/arm/v7"]
    assert len(run.summary.splitlines()) == 4 + 2, "a row for each platform found"


def test_a_platform_pushed_twice_fails(tmp_path: Path, registry: Registry) -> None:
    amd64 = registry.index(("linux/amd64", "linux/amd64"))
    arm64 = [registry.index(("linux/arm64", "linux/arm64")) for _ in range(2)]
    assert arm64[0] != arm64[1], "two builds, two digests"
    run = verify(tmp_path, registry, [amd64, *arm64], NATIVE)
    assert run.code == 1
    first, second = sorted(arm64)
    images = [_child(registry, d, "linux/arm64") for d in (first, second)]
    assert run.errors == [f"::error title=Duplicate platform::linux/arm64 is both {images[0]} and {images[1]}"]


def test_a_platform_twice_across_an_index_and_a_leg_fails(tmp_path: Path, registry: Registry) -> None:
    index = registry.recorded("index-good.json", "configs-good.json")
    extra = registry.index(("linux/arm/v7", "linux/arm/v7"))
    run = verify(tmp_path, registry, [index, extra], QEMU)
    assert run.code == 1
    assert [e.split("::")[1] for e in run.errors] == ["error title=Duplicate platform"]


def test_a_platform_nobody_asked_for_fails(tmp_path: Path, registry: Registry) -> None:
    index = registry.recorded("index-good.json", "configs-good.json")
    run = verify(tmp_path, registry, [index], "linux/amd64: ubuntu-24.04\nlinux/arm64: ubuntu-24.04\n")
    assert run.code == 1
    assert run.errors == [f"::error title=Unexpected platform::{REPO_NAME}@{C} is built for linux/arm/v7, "
                          "not asked for"]
    assert f"| linux/arm/v7 | - | `{C}` | linux/arm/v7 |" in run.summary.splitlines()


def test_every_problem_is_reported_before_the_step_fails(tmp_path: Path, registry: Registry) -> None:
    wrong = registry.index(("linux/arm64", "linux/amd64"), ("linux/riscv64", "linux/riscv64"))
    run = verify(tmp_path, registry, [wrong], NATIVE)
    assert run.code == 1
    assert [e.split("::")[1] for e in run.errors] == [
        "error title=Wrong platform", "error title=Unexpected platform", "error title=Missing platform"]


@pytest.mark.parametrize("shell", [("-e",), ("-e", "-o", "pipefail")], ids=["run", "shell-bash"])
def test_a_digest_the_registry_cannot_answer_for_fails_the_check(
        tmp_path: Path, registry: Registry, shell: tuple[str, ...]) -> None:
    amd64 = registry.index(("linux/amd64", "linux/amd64"))
    arm64 = registry.index(("linux/arm64", "linux/arm64"))
    unknown = "sha256:" + "f" * 64
    run = verify(tmp_path, registry, [amd64, arm64, unknown], NATIVE, shell=shell)
    assert run.code == 1, "every platform is there, but a pushed digest nobody could read is not passed over"
    assert run.errors == [f"::error title=Unexpected platform::{REPO_NAME}@{unknown} is built for unknown "
                          "(inspect failed), not asked for"]
    assert f"ERROR: {REPO_NAME}@{unknown}: not found" in run.err
    assert len(run.summary.splitlines()) == 4 + 3


@pytest.mark.parametrize("shell", [("-e",), ("-e", "-o", "pipefail")], ids=["run", "shell-bash"])
def test_an_image_whose_configuration_cannot_be_read_fails_the_check(
        tmp_path: Path, registry: Registry, shell: tuple[str, ...]) -> None:
    amd64 = registry.index(("linux/amd64", "linux/amd64"))
    arm64 = registry.index(("linux/arm64", "linux/arm64"))
    image = _child(registry, arm64, "linux/arm64")
    del registry.configs[image]
    run = verify(tmp_path, registry, [amd64, arm64], NATIVE, shell=shell)
    assert run.code == 1
    assert run.errors == [f"::error title=Wrong platform::the linux/arm64 entry {REPO_NAME}@{image} is built for "
                          "unknown (inspect failed)"]
    assert "bad array subscript" not in run.err
