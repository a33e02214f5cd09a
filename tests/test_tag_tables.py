"""The tags each event writes, for every sample: the table a migrating user checks against what their
users pull. Read from the generated workflows (each call's inputs over the engine's defaults) through the
model the collision check uses (generator/plan/tags.py), cross-checked against the behaviour suite's
metadata-action model, and the refusals that model makes possible."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from generator import filters
from generator.model import TagRule
from generator.plan import tags
from generator.plan.values import image_ref, tag_line
from generator.spec import load_spec

from .conftest import SAMPLE_NAMES, SAMPLES, Runner, write_tree

WIDTH = 110


def calls(repo: Path) -> dict[str, dict[str, Any]]:
    """Each build's call (by its job's name): the inputs it passes over the engine's defaults."""
    yaml = YAML(typ="safe")
    docs = {f.name: yaml.load(f.read_text()) for f in sorted((repo / ".github/workflows").glob("*.yml"))}
    defaults = {name: {k: v.get("default", "") for k, v in doc["on"]["workflow_call"].get("inputs", {}).items()}
                for name, doc in docs.items() if "workflow_call" in (doc.get("on") or {})}
    found = {}
    for doc in docs.values():
        for job_id, job in doc.get("jobs", {}).items():
            engine = str(job.get("uses", "")).removeprefix("./.github/workflows/")
            if engine in defaults:
                found[job.get("name", job_id)] = defaults[engine] | job.get("with", {})
    return found


def table(repo: Path) -> str:
    """Per event, each build's repository and the tags it writes there (every registry gets the same);
    where registries name repositories their own way or publish on some runs only, each registry's."""
    spec = load_spec(repo)
    if any(r.repositories or r.on for r in spec.registries):  # (skip-without-secret: as when it is set)
        return registry_table(repo)
    builds = calls(repo)
    width = max(map(len, builds))
    lines: list[str] = []
    last = None
    for event, label, refs in tags.table(load_spec(repo), builds):
        if event != last and not event.publishes:
            lines.append(f"{event.label}: nothing")
        elif event != last:
            lines.append(event.label)
        last = event
        if event.publishes:
            repository = builds[label]["repository"]
            names = " ".join(ref.removeprefix(f"{repository}:") for ref in refs) or "nothing"
            lines += textwrap.wrap(f"{label:{width}}  {repository}: {names}", WIDTH, initial_indent="  ",
                                   subsequent_indent=" " * (width + 4), break_on_hyphens=False)
    return "\n".join(lines) + "\n"


def registry_table(repo: Path) -> str:
    """Per event, each build's tags in each registry the event publishes to, under that registry's name for
    its repository (`skip-without-secret` registries as when their secret is set)."""
    spec = load_spec(repo)
    builds = calls(repo)
    rows = list(tags.registry_table(spec, builds))
    lines: list[str] = []
    for event in tags.events(spec):
        lines.append(event.label if event.publishes else f"{event.label}: nothing")
        for _, label, registry, written in (row for row in rows if row[0] == event):
            ref = image_ref(registry, registry.repository(builds[label]["repository"]))
            lines += textwrap.wrap(f"{label}  {ref}: {' '.join(written) or 'nothing'}", WIDTH, initial_indent="  ",
                                   subsequent_indent="    ", break_on_hyphens=False)
    return "\n".join(lines) + "\n"


EXPECTED = {
    # CalVer releases: `tag` writes the git tag as it is; latest moves only to a tag no tag of its dotted
    # scheme outranks (numerically: 2025.08.0 < 2025.10.0), never to a lower release or a pre-release.
    "appliance": """
    push to main
      appliance  appliance: edge sha-<sha>
    release v1.4.0 (the highest release)
      appliance  appliance: v1.4.0 latest sha-<sha>
    release v1.2.1 (a fix below the highest)
      appliance  appliance: v1.2.1 sha-<sha>
    release v1.4.0-rc.1 (a pre-release)
      appliance  appliance: v1.4.0-rc.1 sha-<sha>
    scheduled run on main
      appliance  appliance: <YYYYMMDD> nightly edge sha-<sha>
    pull request: nothing
    manual run on main, push ticked
      appliance  appliance: edge sha-<sha>
    manual run on main, push unticked: nothing
    """,
    # GHCR on every publishing run, under its own name for the repository; Docker Hub on tags only (from
    # the merge job, in the environment that holds its token); GAR on main and tags.
    "multi-registry": """
    push to main
      server  ghcr.io/acme/server-rs: main sha-<sha>
      server  europe-docker.pkg.dev/acme-prod/images/server: main sha-<sha>
    push to develop
      server  ghcr.io/acme/server-rs: develop sha-<sha>
    tag v1.4.0 (the highest release)
      server  ghcr.io/acme/server-rs: 1.4.0 1.4 latest sha-<sha>
      server  docker.io/acme/server: 1.4.0 1.4 latest sha-<sha>
      server  europe-docker.pkg.dev/acme-prod/images/server: 1.4.0 1.4 latest sha-<sha>
    tag v1.2.1 (a fix below the highest)
      server  ghcr.io/acme/server-rs: 1.2.1 1.2 sha-<sha>
      server  docker.io/acme/server: 1.2.1 1.2 sha-<sha>
      server  europe-docker.pkg.dev/acme-prod/images/server: 1.2.1 1.2 sha-<sha>
    tag v1.4.0-rc.1 (a pre-release)
      server  ghcr.io/acme/server-rs: 1.4.0-rc.1 sha-<sha>
      server  docker.io/acme/server: 1.4.0-rc.1 sha-<sha>
      server  europe-docker.pkg.dev/acme-prod/images/server: 1.4.0-rc.1 sha-<sha>
    pull request: nothing
    manual run on main, push ticked
      server  ghcr.io/acme/server-rs: main sha-<sha>
      server  europe-docker.pkg.dev/acme-prod/images/server: main sha-<sha>
    manual run on main, push unticked: nothing
    """,
    "compile-heavy": """
    push to main
      mediad  mediad: main sha-<sha>
    push to release/x
      mediad  mediad: release-x sha-<sha>
    tag v1.4.0 (the highest release)
      mediad  mediad: 1.4.0 1.4 1 latest sha-<sha>
    tag v1.2.1 (a fix below the highest)
      mediad  mediad: 1.2.1 1.2 sha-<sha>
    tag v1.4.0-rc.1 (a pre-release)
      mediad  mediad: 1.4.0-rc.1 sha-<sha>
    pull request: nothing
    manual run on main, push ticked
      mediad  mediad: main sha-<sha>
    manual run on main, push unticked: nothing
    """,
    "go-cross": """
    push to main
      server  server: main sha-<sha>
    tag v1.4.0 (the highest release)
      server  server: 1.4.0 1.4 1 latest sha-<sha>
    tag v1.2.1 (a fix below the highest)
      server  server: 1.2.1 1.2 sha-<sha>
    tag v1.4.0-rc.1 (a pre-release)
      server  server: 1.4.0-rc.1 sha-<sha>
    pull request: nothing
    merge queue group: nothing
    manual run on main, push ticked
      server  server: main sha-<sha>
    manual run on main, push unticked: nothing
    """,
    "minimal": """
    push to main
      hello  hello: main sha-<sha>
    tag v1.4.0 (the highest release)
      hello  hello: 1.4.0 1.4 1 latest sha-<sha>
    tag v1.2.1 (a fix below the highest)
      hello  hello: 1.2.1 1.2 sha-<sha>
    tag v1.4.0-rc.1 (a pre-release)
      hello  hello: 1.4.0-rc.1 sha-<sha>
    pull request: nothing
    manual run on main, push ticked
      hello  hello: main sha-<sha>
    manual run on main, push unticked: nothing
    """,
    "multi-cloud": """
    push to main
      agent  agent: edge main sha-<sha>
    tag v1.4.0 (the highest release)
      agent  agent: 1.4.0 1.4 latest sha-<sha>
    tag v1.2.1 (a fix below the highest)
      agent  agent: 1.2.1 1.2 sha-<sha>
    tag v1.4.0-rc.1 (a pre-release)
      agent  agent: 1.4.0-rc.1 sha-<sha>
    pull request: nothing
    manual run on main, push ticked
      agent  agent: edge main sha-<sha>
    manual run on main, push unticked: nothing
    """,
    "native-services": """
    push to main
      api       api: main sha-<sha>
      frontend  web: main sha-<sha>
    tag v1.4.0 (the highest release)
      api       api: 1.4.0 1.4 latest sha-<sha>
      frontend  web: 1.4.0 1.4 latest sha-<sha>
    tag v1.2.1 (a fix below the highest)
      api       api: 1.2.1 1.2 sha-<sha>
      frontend  web: 1.2.1 1.2 sha-<sha>
    tag v1.4.0-rc.1 (a pre-release)
      api       api: 1.4.0-rc.1 sha-<sha>
      frontend  web: 1.4.0-rc.1 sha-<sha>
    pull request: nothing
    manual run on main, push ticked
      api       api: main sha-<sha>
      frontend  web: main sha-<sha>
    manual run on main, push unticked: nothing
    """,
    "per-arch-dockerfiles": """
    push to main
      infer  infer: main sha-<sha>
    tag v1.4.0 (the highest release)
      infer  infer: 1.4.0 1.4 1 latest sha-<sha>
    tag v1.2.1 (a fix below the highest)
      infer  infer: 1.2.1 1.2 sha-<sha>
    tag v1.4.0-rc.1 (a pre-release)
      infer  infer: 1.4.0-rc.1 sha-<sha>
    pull request: nothing
    manual run on main, push ticked
      infer  infer: main sha-<sha>
    manual run on main, push unticked: nothing
    """,
    "remote-desktop": """
    push to main
      base                  desk-base: main sha-<sha> main-amd64 sha-<sha>-amd64 main-arm64 sha-<sha>-arm64
                            main-armv7 sha-<sha>-armv7
      apps/firefox          desk-firefox: main sha-<sha>
      apps/chromium         desk-chromium: main sha-<sha>
      apps/thunderbird      desk-thunderbird: main sha-<sha>
      apps/vlc              desk-vlc: main sha-<sha>
      apps/gimp             desk-gimp: main sha-<sha>
      apps/libreoffice      desk-libreoffice: main sha-<sha>
      apps/firefox-nvidia   desk-firefox: main-nvidia sha-<sha>-nvidia
      apps/chromium-nvidia  desk-chromium: main-nvidia sha-<sha>-nvidia
    tag v1.4.0 (the highest release)
      base                  desk-base: 1.4.0 1.4 latest sha-<sha> 1.4.0-amd64 1.4-amd64 latest-amd64
                            sha-<sha>-amd64 1.4.0-arm64 1.4-arm64 latest-arm64 sha-<sha>-arm64 1.4.0-armv7
                            1.4-armv7 latest-armv7 sha-<sha>-armv7
      apps/firefox          desk-firefox: 1.4.0 1.4 latest sha-<sha>
      apps/chromium         desk-chromium: 1.4.0 1.4 latest sha-<sha>
      apps/thunderbird      desk-thunderbird: 1.4.0 1.4 latest sha-<sha>
      apps/vlc              desk-vlc: 1.4.0 1.4 latest sha-<sha>
      apps/gimp             desk-gimp: 1.4.0 1.4 latest sha-<sha>
      apps/libreoffice      desk-libreoffice: 1.4.0 1.4 latest sha-<sha>
      apps/firefox-nvidia   desk-firefox: 1.4.0-nvidia 1.4-nvidia latest-nvidia sha-<sha>-nvidia
      apps/chromium-nvidia  desk-chromium: 1.4.0-nvidia 1.4-nvidia latest-nvidia sha-<sha>-nvidia
    tag v1.2.1 (a fix below the highest)
      base                  desk-base: 1.2.1 1.2 sha-<sha> 1.2.1-amd64 1.2-amd64 sha-<sha>-amd64 1.2.1-arm64
                            1.2-arm64 sha-<sha>-arm64 1.2.1-armv7 1.2-armv7 sha-<sha>-armv7
      apps/firefox          desk-firefox: 1.2.1 1.2 sha-<sha>
      apps/chromium         desk-chromium: 1.2.1 1.2 sha-<sha>
      apps/thunderbird      desk-thunderbird: 1.2.1 1.2 sha-<sha>
      apps/vlc              desk-vlc: 1.2.1 1.2 sha-<sha>
      apps/gimp             desk-gimp: 1.2.1 1.2 sha-<sha>
      apps/libreoffice      desk-libreoffice: 1.2.1 1.2 sha-<sha>
      apps/firefox-nvidia   desk-firefox: 1.2.1-nvidia 1.2-nvidia sha-<sha>-nvidia
      apps/chromium-nvidia  desk-chromium: 1.2.1-nvidia 1.2-nvidia sha-<sha>-nvidia
    tag v1.4.0-rc.1 (a pre-release)
      base                  desk-base: 1.4.0-rc.1 sha-<sha> 1.4.0-rc.1-amd64 sha-<sha>-amd64 1.4.0-rc.1-arm64
                            sha-<sha>-arm64 1.4.0-rc.1-armv7 sha-<sha>-armv7
      apps/firefox          desk-firefox: 1.4.0-rc.1 sha-<sha>
      apps/chromium         desk-chromium: 1.4.0-rc.1 sha-<sha>
      apps/thunderbird      desk-thunderbird: 1.4.0-rc.1 sha-<sha>
      apps/vlc              desk-vlc: 1.4.0-rc.1 sha-<sha>
      apps/gimp             desk-gimp: 1.4.0-rc.1 sha-<sha>
      apps/libreoffice      desk-libreoffice: 1.4.0-rc.1 sha-<sha>
      apps/firefox-nvidia   desk-firefox: 1.4.0-rc.1-nvidia sha-<sha>-nvidia
      apps/chromium-nvidia  desk-chromium: 1.4.0-rc.1-nvidia sha-<sha>-nvidia
    pull request: nothing
    manual run on main, push ticked
      base                  desk-base: main sha-<sha> main-amd64 sha-<sha>-amd64 main-arm64 sha-<sha>-arm64
                            main-armv7 sha-<sha>-armv7
      apps/firefox          desk-firefox: main sha-<sha>
      apps/chromium         desk-chromium: main sha-<sha>
      apps/thunderbird      desk-thunderbird: main sha-<sha>
      apps/vlc              desk-vlc: main sha-<sha>
      apps/gimp             desk-gimp: main sha-<sha>
      apps/libreoffice      desk-libreoffice: main sha-<sha>
      apps/firefox-nvidia   desk-firefox: main-nvidia sha-<sha>-nvidia
      apps/chromium-nvidia  desk-chromium: main-nvidia sha-<sha>-nvidia
    manual run on main, push unticked: nothing
    """,
    "robotics": """
    push to main
      stack/base          stack: main-base sha-<sha>-base
      stack/base-cuda     stack: main-base-cuda sha-<sha>-base-cuda
      stack/devel         stack: main-devel sha-<sha>-devel
      stack/runtime       stack: main sha-<sha>
      stack/runtime-cuda  stack: main-cuda sha-<sha>-cuda
    tag v1.4.0 (the highest release)
      stack/base          stack: 1.4.0-base 1.4-base latest-base sha-<sha>-base
      stack/base-cuda     stack: 1.4.0-base-cuda 1.4-base-cuda latest-base-cuda sha-<sha>-base-cuda
      stack/devel         stack: 1.4.0-devel 1.4-devel latest-devel sha-<sha>-devel
      stack/runtime       stack: 1.4.0 1.4 latest sha-<sha>
      stack/runtime-cuda  stack: 1.4.0-cuda 1.4-cuda latest-cuda sha-<sha>-cuda
    tag v1.2.1 (a fix below the highest)
      stack/base          stack: 1.2.1-base 1.2-base sha-<sha>-base
      stack/base-cuda     stack: 1.2.1-base-cuda 1.2-base-cuda sha-<sha>-base-cuda
      stack/devel         stack: 1.2.1-devel 1.2-devel sha-<sha>-devel
      stack/runtime       stack: 1.2.1 1.2 sha-<sha>
      stack/runtime-cuda  stack: 1.2.1-cuda 1.2-cuda sha-<sha>-cuda
    tag v1.4.0-rc.1 (a pre-release)
      stack/base          stack: 1.4.0-rc.1-base sha-<sha>-base
      stack/base-cuda     stack: 1.4.0-rc.1-base-cuda sha-<sha>-base-cuda
      stack/devel         stack: 1.4.0-rc.1-devel sha-<sha>-devel
      stack/runtime       stack: 1.4.0-rc.1 sha-<sha>
      stack/runtime-cuda  stack: 1.4.0-rc.1-cuda sha-<sha>-cuda
    scheduled run on main
      stack/base          stack: nightly-base main-base sha-<sha>-base
      stack/base-cuda     stack: nightly-base-cuda main-base-cuda sha-<sha>-base-cuda
      stack/devel         stack: nightly-devel main-devel sha-<sha>-devel
      stack/runtime       stack: nightly main sha-<sha>
      stack/runtime-cuda  stack: nightly-cuda main-cuda sha-<sha>-cuda
    pull request: nothing
    manual run on main, push ticked
      stack/base          stack: main-base sha-<sha>-base
      stack/base-cuda     stack: main-base-cuda sha-<sha>-base-cuda
      stack/devel         stack: main-devel sha-<sha>-devel
      stack/runtime       stack: main sha-<sha>
      stack/runtime-cuda  stack: main-cuda sha-<sha>-cuda
    manual run on main, push unticked: nothing
    """,
    # A target per distribution, every one a variant of one repository: the bare variant name (core-humble)
    # beside the prefixed forms, on releases only as latest moves (never to a lower fix or a pre-release);
    # two-input robot builds tagged like the others.
    "ros-stack": """
    push to main
      ros/core-humble   ros-stack: core-humble-main core-humble
      ros/core-jazzy    ros-stack: core-jazzy-main core-jazzy
      ros/ui-humble     ros-stack: ui-humble-main ui-humble
      ros/ui-jazzy      ros-stack: ui-jazzy-main ui-jazzy
      ros/robot-humble  ros-stack: robot-humble-main robot-humble
      ros/robot-jazzy   ros-stack: robot-jazzy-main robot-jazzy
    tag v1.4.0 (the highest release)
      ros/core-humble   ros-stack: core-humble-1.4.0 core-humble core-humble-latest
      ros/core-jazzy    ros-stack: core-jazzy-1.4.0 core-jazzy core-jazzy-latest
      ros/ui-humble     ros-stack: ui-humble-1.4.0 ui-humble ui-humble-latest
      ros/ui-jazzy      ros-stack: ui-jazzy-1.4.0 ui-jazzy ui-jazzy-latest
      ros/robot-humble  ros-stack: robot-humble-1.4.0 robot-humble robot-humble-latest
      ros/robot-jazzy   ros-stack: robot-jazzy-1.4.0 robot-jazzy robot-jazzy-latest
    tag v1.2.1 (a fix below the highest)
      ros/core-humble   ros-stack: core-humble-1.2.1
      ros/core-jazzy    ros-stack: core-jazzy-1.2.1
      ros/ui-humble     ros-stack: ui-humble-1.2.1
      ros/ui-jazzy      ros-stack: ui-jazzy-1.2.1
      ros/robot-humble  ros-stack: robot-humble-1.2.1
      ros/robot-jazzy   ros-stack: robot-jazzy-1.2.1
    tag v1.4.0-rc.1 (a pre-release)
      ros/core-humble   ros-stack: core-humble-1.4.0-rc.1
      ros/core-jazzy    ros-stack: core-jazzy-1.4.0-rc.1
      ros/ui-humble     ros-stack: ui-humble-1.4.0-rc.1
      ros/ui-jazzy      ros-stack: ui-jazzy-1.4.0-rc.1
      ros/robot-humble  ros-stack: robot-humble-1.4.0-rc.1
      ros/robot-jazzy   ros-stack: robot-jazzy-1.4.0-rc.1
    pull request: nothing
    manual run on main, push ticked
      ros/core-humble   ros-stack: core-humble-main core-humble
      ros/core-jazzy    ros-stack: core-jazzy-main core-jazzy
      ros/ui-humble     ros-stack: ui-humble-main ui-humble
      ros/ui-jazzy      ros-stack: ui-jazzy-main ui-jazzy
      ros/robot-humble  ros-stack: robot-humble-main robot-humble
      ros/robot-jazzy   ros-stack: robot-jazzy-main robot-jazzy
    manual run on main, push unticked: nothing
    """,
    "smoke-test": """
    push to main
      hello  hello: main sha-<sha>
    tag v1.4.0 (the highest release)
      hello  hello: 1.4.0 1.4 1 latest sha-<sha>
    tag v1.2.1 (a fix below the highest)
      hello  hello: 1.2.1 1.2 sha-<sha>
    tag v1.4.0-rc.1 (a pre-release)
      hello  hello: 1.4.0-rc.1 sha-<sha>
    pull request: nothing
    manual run on main, push ticked
      hello  hello: main sha-<sha>
    manual run on main, push unticked: nothing
    """,
    "webapp": """
    push to main
      web     web: edge main sha-<sha>
      worker  web-worker: main stable
    push to release/x
      web     web: release-x sha-<sha>
      worker  web-worker: release-x stable
    tag v1.4.0 (the highest release)
      web     web: 1.4.0 1.4 latest sha-<sha>
      worker  web-worker: 1.4.0 stable latest
    tag v1.2.1 (a fix below the highest)
      web     web: 1.2.1 1.2 sha-<sha>
      worker  web-worker: 1.2.1 stable
    tag v1.4.0-rc.1 (a pre-release)
      web     web: 1.4.0-rc.1 sha-<sha>
      worker  web-worker: 1.4.0-rc.1 stable
    pull request: nothing
    manual run on main, push ticked
      web     web: edge main sha-<sha>
      worker  web-worker: main stable
    manual run on main, push unticked: nothing
    """,
}


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_each_event_writes_these_tags(sample: str) -> None:
    assert sample in EXPECTED, f"write {sample}'s table here, reviewed:\n{table(SAMPLES / sample)}"
    assert table(SAMPLES / sample) == textwrap.dedent(EXPECTED[sample]).lstrip("\n")


PREFIXED = """version: 1
images:
  app:
    tags: [branch, version, sha]
    variants:
      debian: {primary: true}
      alpine: {prefix: alpine-}
      slim: {suffix: -slim}
"""


def test_a_prefixed_variant_writes_its_own_sha_tag(tmp_path: Path, run: Runner) -> None:
    """Issue 16, 5: metadata-action's type=sha brings its own `sha-` prefix, which replaces the flavor's, so
    the variants of one repository all wrote app:sha-<short>. A prefixed build's sha rule carries its prefix."""
    assert tag_line(TagRule("sha")) == "type=sha"
    assert tag_line(TagRule("sha"), "alpine-") == "type=sha,prefix=alpine-sha-"
    repo = write_tree(tmp_path, {".github/multiarch.yaml": PREFIXED, "Dockerfile": "FROM alpine\n"})
    result = run("-C", str(repo))
    assert result.code == 0, result.err
    assert calls(repo)["app/alpine"]["tags"] == "type=ref,event=branch\ntype=sha,prefix=alpine-sha-\n"
    assert "tags" not in YAML(typ="safe").load((repo / ".github/workflows/multiarch-app.yml").read_text())[
        "jobs"]["app-debian"]["with"], "a build without a prefix keeps the engine's default rules"
    assert table(repo).startswith(textwrap.dedent("""\
        push to main
          app/debian  app: main sha-<sha>
          app/alpine  app: alpine-main alpine-sha-<sha>
          app/slim    app: main-slim sha-<sha>-slim
        tag v1.4.0 (the highest release)
          app/debian  app: 1.4.0 latest sha-<sha>
          app/alpine  app: alpine-1.4.0 alpine-latest alpine-sha-<sha>
          app/slim    app: 1.4.0-slim latest-slim sha-<sha>-slim
        """))


ACROSS_EVENTS = """version: 1
triggers:
  schedule: ["0 3 * * *"]
images:
  app:
    variants:
      full: {primary: true, tags: [sha, version, {schedule: main-slim}]}
      slim: {suffix: -slim, tags: [branch, version]}
"""


def test_two_builds_writing_one_tag_on_different_events_are_refused(tmp_path: Path, run: Runner) -> None:
    """The scheduled run of one build would overwrite what a push of the other wrote: refused by every
    command alike, located at the image, with a hint."""
    repo = write_tree(tmp_path, {".github/multiarch.yaml": ACROSS_EVENTS, "Dockerfile": "FROM alpine\n"})
    expected = ('.github/multiarch.yaml:5:3: "app/full" would write the tag app:main-slim, which "app/slim" also '
                'writes ("app/slim": push to main; "app/full": scheduled run on main)\n'
                "  hint: give one of them another `prefix:` or `suffix:`, or change the tag rule\n")
    for command in ((), ("validate",), ("plan",)):
        result = run(*command, "-C", str(repo))
        assert (result.code, result.err) == (2, expected), command
    assert not (repo / ".github/workflows").exists()


@pytest.mark.parametrize("sample", [*SAMPLE_NAMES, "prefixed", "published"])
def test_the_model_agrees_with_the_behaviour_suites_metadata_action(
        sample: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Runner) -> None:
    """The tables' model against the behaviour suite's model of docker/metadata-action v6 (which its runs
    under act use), fed what the engine's metadata step passes: the call's rules and the floating-tags
    step's, the flavor the engine makes of prefix, suffix and semver. Per-arch tags are the merge's own."""
    from .behaviour import stubs

    repo = SAMPLES / sample
    if sample in ("prefixed", "published"):
        spec_text = PREFIXED if sample == "prefixed" else PUBLISHED
        repo = write_tree(tmp_path / "repo", {".github/multiarch.yaml": spec_text, "Dockerfile": "FROM alpine\n"})
        assert run("-C", str(repo)).code == 0
    spec = load_spec(repo)
    default = tags.default_branch(spec)
    payload = tmp_path / "event.json"
    payload.write_text(json.dumps({"repository": {"default_branch": default}}))
    sha = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("GITHUB_SHA", sha)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(payload))
    compared = 0
    for event in tags.events(spec):
        if not event.publishes:
            continue
        monkeypatch.setenv("GITHUB_EVENT_NAME", event.name)
        monkeypatch.setenv("GITHUB_REF", event.ref)
        for label, inputs in calls(repo).items():
            floating = bool(str(inputs.get("semver", "")).strip())
            flavor = [f"latest={'false' if floating else 'auto'}", f"prefix={inputs.get('prefix', '')},onlatest=true",
                      f"suffix={inputs.get('suffix', '')},onlatest=true"]
            rules = "\n".join([_github_expressions(str(inputs.get("tags", "")), event),
                                *tags.floating_rules(inputs, event)])
            reference = stubs.Meta({"tags": rules, "flavor": "\n".join(flavor)}).tags([], names_only=True)
            ours = tags.written({**inputs, "per-arch-tags": False}, event, default)
            now = datetime.now(UTC)
            ours = tuple(re.sub(r"<([YMDHms._-]+)>", lambda m, now=now: stubs.moment_format(m[1], now), t)
                         for t in ours)
            assert [t.replace(tags.FULL_SHA, sha).replace(tags.SHA, sha[:7]) for t in ours] == reference, (
                event.label, label)
            compared += 1
    assert compared >= 4


def test_ref_filters_match_without_backtracking() -> None:
    """The events come from the triggers' globs, matched as GitHub does, in linear time: a hostile
    pattern cannot hang `validate`."""
    hostile = "*a" * 120 + "b"
    assert not filters.glob_match(hostile, "xa" * 120 + "c")
    assert filters.glob_match("v*.*.*", "v1.4.0-rc.1")
    assert not filters.glob_match("release/*", "release/x/y")
    assert filters.glob_match("release/**", "release/x/y")
    assert filters.glob_match("v[0-9]+.*", "v12.3")
    assert filters.filter_match(("release/**", "!release/old"), "release/new")
    assert not filters.filter_match(("release/**", "!release/old"), "release/old")
    assert tags.example("release/[0-9]*") == "release/0x"


PUBLISHED = """version: 1
triggers:
  branches: [main, dev]
  tags: ["*"]
  schedule: ["0 3 * * *"]
images:
  base:
    tags: [tag, variant, {sha: long}, {raw: testing, on: branch main}, {raw: fresh, on: default-branch},
           {date: YYYYMMDD, on: schedule}, {date: YYYY.MM.DD, on: tag}, {date: YYMMDD}]
    variants:
      "3.22": {primary: true}
      "3.21": {}
"""


def test_tag_names_as_projects_publish_them(tmp_path: Path, run: Runner) -> None:
    """Issue 16, 7: the git tag as it is, the variant's name alone (without its suffix; on tags only moving
    forward, as latest does), `sha-<full sha>`, a fixed tag on one branch or on the default branch only, date
    tags on scheduled runs, on tags or always."""
    repo = write_tree(tmp_path, {".github/multiarch.yaml": PUBLISHED, "Dockerfile": "FROM alpine\n"})
    result = run("-C", str(repo))
    assert result.code == 0, result.err
    assert calls(repo)["base/3.21"]["semver"] == "type=ref,event=tag\ntype=raw,value=3.21,prefix=,suffix=\n", \
        "latest and the variant's name wait for the floating decision on tags"
    assert calls(repo)["base/3.21"]["tags"] == (
        "type=raw,value=3.21,prefix=,suffix=,enable=${{ github.ref_type != 'tag' }}\ntype=sha,format=long\n"
        "type=raw,value=testing,enable=${{ github.ref == 'refs/heads/main' }}\n"
        "type=raw,value=fresh,enable={{is_default_branch}}\ntype=schedule,pattern={{date 'YYYYMMDD'}}\n"
        "type=raw,value={{date 'YYYY.MM.DD'}},enable=${{ github.ref_type == 'tag' }}\n"
        "type=raw,value={{date 'YYMMDD'}}\n")
    assert table(repo) == textwrap.dedent("""\
        push to main
          base/3.22  base: 3.22 testing fresh <YYMMDD> sha-<full-sha>
          base/3.21  base: 3.21 testing-3.21 fresh-3.21 <YYMMDD>-3.21 sha-<full-sha>-3.21
        push to dev
          base/3.22  base: 3.22 <YYMMDD> sha-<full-sha>
          base/3.21  base: 3.21 <YYMMDD>-3.21 sha-<full-sha>-3.21
        tag v1.4.0 (the highest release)
          base/3.22  base: v1.4.0 <YYYY.MM.DD> <YYMMDD> 3.22 latest sha-<full-sha>
          base/3.21  base: v1.4.0-3.21 <YYYY.MM.DD>-3.21 <YYMMDD>-3.21 3.21 latest-3.21 sha-<full-sha>-3.21
        tag v1.2.1 (a fix below the highest)
          base/3.22  base: v1.2.1 <YYYY.MM.DD> <YYMMDD> sha-<full-sha>
          base/3.21  base: v1.2.1-3.21 <YYYY.MM.DD>-3.21 <YYMMDD>-3.21 sha-<full-sha>-3.21
        tag v1.4.0-rc.1 (a pre-release)
          base/3.22  base: v1.4.0-rc.1 <YYYY.MM.DD> <YYMMDD> sha-<full-sha>
          base/3.21  base: v1.4.0-rc.1-3.21 <YYYY.MM.DD>-3.21 <YYMMDD>-3.21 sha-<full-sha>-3.21
        scheduled run on main
          base/3.22  base: <YYYYMMDD> 3.22 testing fresh <YYMMDD> sha-<full-sha>
          base/3.21  base: <YYYYMMDD>-3.21 3.21 testing-3.21 fresh-3.21 <YYMMDD>-3.21 sha-<full-sha>-3.21
        pull request: nothing
        manual run on main, push ticked
          base/3.22  base: 3.22 testing fresh <YYMMDD> sha-<full-sha>
          base/3.21  base: 3.21 testing-3.21 fresh-3.21 <YYMMDD>-3.21 sha-<full-sha>-3.21
        manual run on main, push unticked: nothing
        """)


def test_an_image_without_variants_writes_no_variant_tag(tmp_path: Path, run: Runner) -> None:
    """`variant` names a variant; an image without variants gets nothing from it, and when nothing else
    fires on a run, the untagged-runs check says so."""
    spec = "version: 1\ntriggers: {tags: []}\nimages:\n  app:\n    tags: [variant]\n"
    repo = write_tree(tmp_path, {".github/multiarch.yaml": spec, "Dockerfile": "FROM alpine\n"})
    result = run("validate", "-C", str(repo))
    assert result.code == 2
    assert 'none of the tag rules (variant) fires on a branch' in result.err


def _github_expressions(text: str, event: tags.Event) -> str:
    """What GitHub makes of the expressions a call's `with:` holds before the engine runs (the forms values.enable
    and values.release_rules write), so that metadata-action's model reads what it would."""
    out = re.sub(r"\$\{\{ github\.ref == '([^']*)' \}\}", lambda m: str(event.ref == m[1]).lower(), text)
    out = out.replace("${{ github.ref_type == 'tag' }}", str(event.ref.startswith("refs/tags/")).lower())
    out = out.replace("${{ github.ref_type != 'tag' }}", str(not event.ref.startswith("refs/tags/")).lower())
    return out.replace("${{ github.event_name == 'schedule' }}", str(event.name == "schedule").lower())
