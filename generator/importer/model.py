"""What the importer found in hand-written workflows: the builds, the triggers, and what it could not carry."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import printable


@dataclass(frozen=True, order=True)
class Note:
    """Something the import cannot carry into the spec, located in the workflow that says it."""

    file: str
    line: int
    column: int
    what: str
    why: str

    def render(self) -> str:
        return printable(f"{self.file}:{self.line}:{self.column}: {self.what} ({self.why})")


@dataclass
class Login:
    """A login step: which registry host, which secrets (names only)."""

    host: str  # "docker.io" for Docker Hub
    username_secret: str = ""
    password_secret: str = ""


@dataclass
class Build:
    """One image build an old workflow runs: what it builds, for which platforms, where it pushes, with
    which tag rules (metadata-action's lines), and how (the strategy its shape implies)."""

    file: str  # the workflow (the called one for a reusable workflow)
    line: int
    column: int
    how: str  # "build-push-action", "bake", "github-builder", "buildx run", ...
    refs: list[str] = field(default_factory=list)  # image references without tags: ghcr.io/acme/app
    context: str = "."
    dockerfile: str = ""  # relative to the repository root, "" for <context>/Dockerfile
    target: str = ""
    build_args: dict[str, str] = field(default_factory=dict)
    platforms: list[str] = field(default_factory=list)
    runners: dict[str, str] = field(default_factory=dict)  # platform -> the label it ran on
    tag_lines: list[str] = field(default_factory=list)  # metadata-action `tags:` lines
    prefix: str = ""  # metadata-action flavor
    suffix: str = ""
    latest: str = "auto"
    onlatest: bool = False  # flavor onlatest=true: the prefix and suffix go on `latest` too
    cache: str = "none"  # gha | registry | none
    provenance: str = ""  # "" when the workflow leaves the action's default
    sbom: bool = False
    sign: bool = False
    attest: bool = False
    strategy: str = "qemu"  # qemu | native | buildx
    label: str = ""  # the matrix value that tells this build apart, for a variant's name
    caller: str = ""  # the workflow that calls a reusable one (its triggers count)
    tags_at: tuple[str, int, int] | None = None  # where the tag rules are written (metadata-action's `tags:`)
    tag_places: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # each rule's own line, as written

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass
class Triggers:
    file: str
    line: int = 1  # where `on:` is
    column: int = 1
    branches: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    pull_requests: bool = False
    manual: bool = False
    releases: bool = False
    schedule: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@dataclass
class Finding:
    """One workflow file: the builds it runs (directly or through the reusable workflows it calls)."""

    file: str
    builds: list[Build] = field(default_factory=list)
    triggers: Triggers | None = None
    logins: list[Login] = field(default_factory=list)
    ecr: dict[str, str] = field(default_factory=dict)  # role, region from configure-aws-credentials
    notes: list[Note] = field(default_factory=list)
    called: list[str] = field(default_factory=list)  # local reusable workflows it calls that build images
    reusable: bool = False  # on: workflow_call only: its callers' triggers count
    other_jobs: list[tuple[str, int, int]] = field(default_factory=list)  # jobs that build nothing: (id, line, col)
    # What a job that builds also does and the spec does not carry (a custom run step, an action the import does
    # not know, a call of a reusable workflow that does more, a trigger it runs on): (what, line, col). --replace
    # keeps the workflow.
    extra_steps: list[tuple[str, int, int]] = field(default_factory=list)
    uses: set[str] = field(default_factory=set)  # every local reusable workflow a job of it calls
