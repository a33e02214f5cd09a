"""What issue 15 measures: how much a reviewer reads. Lines are counted over every file the tool writes
under `.github/` (helpers and the shared engine included), on the samples and on specs that grow by one
variant or one image."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import SAMPLE_NAMES, SAMPLES, Runner, write_tree
from .regen_samples import generated_files

# Ceilings: today's counts, so the output never grows back unnoticed. Issue 15's targets are lower (all
# samples at most 3,000 lines, minimal at most 180): the xfail tests below hold them until they are met.
# What raised them, each in its commit (git log -p this file): issue 16 (auto picks the fastest strategy;
# CalVer latest only forward: +10 in every engine; compile-heavy's per-branch cache keys +24; go-cross's
# merge queue +2; multi-cloud's ACR through OIDC +22; builds handing their image over as OCI layouts on runs
# that publish nothing: +35 remote-desktop, +41 robotics, the old fallback tag -2 in every engine) and its
# three new samples, exactly their generated lines: appliance 328, multi-registry 376, ros-stack 531;
# then +18: a variant's bare name waits for the floating decision on releases (ros-stack's six calls, 3 each);
# +39: the merge takes the index's digest from the bytes it pushes, not back through a moving tag (+3 an engine);
# -130: the tagging and verification scripts say the same in fewer lines (-10 an engine); +16: a re-run's
# uploads replace the first attempt's artifacts (one line an upload step).
# +26: a manual run checks its ref with case before it logs in, as env.PUSH's expression cannot (+2 an engine).
# -1: per-arch tags read the index just pushed (remote-desktop); +13: the legs leave out a registry an environment
# holds by its prefix, not by any line that contains it (+1 an engine).
# +13: the manual run's ref check says why in a comment, so its lines fit a review (+1 an engine).
# +2: no branch but the default one writes the default branch's cache key (compile-heavy).
# +1: joining a leg's layouts stops on a failure inside its loop (ros-stack).
TOTAL_CEILING = 5295
MINIMAL_CEILING = 307
ISSUE_TOTAL, ISSUE_MINIMAL = 3000, 180
# Issue 16's samples: issue 15's targets measure the ten before them.
NEW_SAMPLES = {"appliance", "multi-registry", "ros-stack"}
PER_VARIANT, PER_IMAGE = 20, 60  # issue 15: lines added by one more variant of a shape / one more image
RUN = 8  # issue 15: no run of 8 or more identical lines twice in one sample's generated files


def generated(root: Path) -> dict[Path, list[str]]:
    return {p: p.read_text(encoding="utf-8").splitlines() for p in generated_files(root)
            if ".github" in p.relative_to(root).parts}


def count(root: Path) -> int:
    return sum(len(lines) for lines in generated(root).values())


SAMPLE_LINES = {name: count(SAMPLES / name) for name in SAMPLE_NAMES}


def test_the_samples_total_at_most_the_ceiling(capsys: pytest.CaptureFixture[str]) -> None:
    total = sum(SAMPLE_LINES.values())
    with capsys.disabled():
        print(f"\ngenerated lines: {total} in all ({', '.join(f'{k} {v}' for k, v in SAMPLE_LINES.items())})")
    assert len(SAMPLE_LINES.keys() - NEW_SAMPLES) == 10, "the issue measures its ten samples"
    assert all(SAMPLE_LINES.values()), "every sample generates something"
    assert total <= TOTAL_CEILING, f"{total} lines: more than the {TOTAL_CEILING} of the last count"
    assert SAMPLE_LINES["minimal"] <= MINIMAL_CEILING, SAMPLE_LINES["minimal"]


@pytest.mark.xfail(strict=True, reason="issue 15: the samples' target is 3,000 lines, minimal's 180; not met yet")
def test_the_samples_meet_the_issue_targets() -> None:
    assert sum(v for k, v in SAMPLE_LINES.items() if k not in NEW_SAMPLES) <= ISSUE_TOTAL
    assert SAMPLE_LINES["minimal"] <= ISSUE_MINIMAL


def repeated_runs(files: dict[Path, list[str]], n: int = RUN) -> list[str]:
    """Each place where n lines in a row repeat n lines seen before (in the same file, not overlapping
    them, or in another file)."""
    seen: dict[tuple[str, ...], tuple[Path, int]] = {}
    found = []
    for path, lines in files.items():
        for i in range(len(lines) - n + 1):
            run = tuple(lines[i:i + n])
            first = seen.setdefault(run, (path, i))
            if first != (path, i) and not (first[0] == path and i - first[1] < n):
                found.append(f"{path.name}:{i + 1} repeats {first[0].name}:{first[1] + 1} ({run[0].strip()!r}...)")
    return found


def test_the_run_finder_finds_a_repeated_block(tmp_path: Path) -> None:
    block = [f"line {i}" for i in range(RUN)]
    one, two = tmp_path / "one.yml", tmp_path / "two.yml"
    assert repeated_runs({one: [*block, "x", *block]}) == [f"one.yml:{RUN + 2} repeats one.yml:1 ('line 0'...)"]
    assert len(repeated_runs({one: block, two: ["y", *block]})) == 1, "across files too"
    assert repeated_runs({one: [*block[:-1], "z", *block[:-1]]}) == [], "seven lines are not a run"
    assert repeated_runs({one: ["a"] * (RUN + 3)}) == [], "a run overlapping itself is one run"


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_no_run_of_identical_lines_twice_in_a_sample(sample: str) -> None:
    assert repeated_runs(generated(SAMPLES / sample)) == []


def _lines_of(tmp_path: Path, run: Runner, name: str, spec: str, files: dict[str, str]) -> int:
    root = write_tree(tmp_path / name, {".github/multiarch.yaml": spec, "Dockerfile": "FROM alpine:3.22\n", **files})
    result = run("-C", str(root))
    assert result.code == 0, result.out + result.err
    return count(root)


def _variants(n: int) -> tuple[str, dict[str, str]]:
    rows = "".join(f"      v{i}: {{build-args: {{FLAVOUR: v{i}}}}}\n" for i in range(n))
    return f"version: 1\nimages:\n  app:\n    strategy: qemu\n    variants:\n{rows}", {}


def _images(n: int) -> tuple[str, dict[str, str]]:
    spec = "version: 1\nimages:\n" + "".join(f"  img{i}: {{strategy: qemu, context: img{i}}}\n" for i in range(n))
    return spec, {f"img{i}/Dockerfile": "FROM alpine:3.22\n" for i in range(n)}


@pytest.mark.parametrize("n", [2, 3])
def test_one_more_variant_of_a_shape_adds_at_most_20_lines(tmp_path: Path, run: Runner, n: int) -> None:
    before = _lines_of(tmp_path, run, "before", *_variants(n))
    after = _lines_of(tmp_path, run, "after", *_variants(n + 1))
    assert 0 < after - before <= PER_VARIANT, (before, after)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_one_more_image_with_its_own_workflow_adds_at_most_60_lines(tmp_path: Path, run: Runner, n: int) -> None:
    spec, files = _images(n + 1)
    after = _lines_of(tmp_path, run, "after", spec, files)
    assert len(list((tmp_path / "after/.github/workflows").glob("multiarch-img*.yml"))) == n + 1, "a workflow each"
    before = _lines_of(tmp_path, run, "before", *_images(n))
    assert 0 < after - before <= PER_IMAGE, (before, after)


@pytest.mark.parametrize("shape", ["variants", "images"])
def test_adding_a_build_leaves_every_other_file_as_it_was(tmp_path: Path, run: Runner, shape: str) -> None:
    """Issue 15, small local diffs: a new build adds its call (and its workflow); nothing else moves,
    the engine included when the new build uses no part it lacks."""
    make = _variants if shape == "variants" else _images
    _lines_of(tmp_path, run, "before", *make(3))
    _lines_of(tmp_path, run, "after", *make(4))
    before = {p.name: p.read_text() for p in (tmp_path / "before/.github/workflows").iterdir()}
    after = {p.name: p.read_text() for p in (tmp_path / "after/.github/workflows").iterdir()}
    assert set(before) <= set(after)
    for name, text in before.items():
        if name == "multiarch-app.yml":  # the variants' workflow: the old calls unchanged, one call added
            old, new = text.splitlines(), after[name].splitlines()
            assert new[:len(old)] == old, "the new variant's call comes after the others"
        else:
            assert after[name] == text, f"{name} changed when a build was added"


def test_changing_one_variants_build_argument_changes_one_line(tmp_path: Path, run: Runner) -> None:
    spec, files = _variants(3)
    _lines_of(tmp_path, run, "before", spec, files)
    _lines_of(tmp_path, run, "after", spec.replace("{FLAVOUR: v1}", "{FLAVOUR: v1-slim}"), files)
    changed = []
    for path in sorted((tmp_path / "before/.github/workflows").iterdir()):
        old = path.read_text().splitlines()
        new = (tmp_path / "after/.github/workflows" / path.name).read_text().splitlines()
        assert len(old) == len(new)
        changed += [(path.name, a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert changed == [("multiarch-app.yml", "        FLAVOUR=v1", "        FLAVOUR=v1-slim")]
