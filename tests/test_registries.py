"""Issue 16, 7 and 8: a repository name per registry, registries a run publishes to only on some runs or
with their secret set, GAR and ACR through OIDC. What the engine says for each, and the refusals, given
alike by every command."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from .conftest import Runner, write_tree
from .unit.plans import plan_of, workflow

CASES = Path(__file__).parent / "invalid"

SPEC = """version: 1
registries:
  - type: ghcr
    namespace: acme
    repositories: {server: server-rs}
  - type: dockerhub
    namespace: acme
    on: [tag]
    skip-without-secret: true
  - type: gar
    host: europe-docker.pkg.dev
    namespace: acme-prod/images
    workload-identity-provider: projects/1/locations/global/workloadIdentityPools/github/providers/acme
    service-account: image-push@acme-prod.iam.gserviceaccount.com
    on: [branch main, schedule]
  - type: acr
    host: acme.azurecr.io
    client-id: 11111111-2222-3333-4444-555555555555
    tenant-id: 11111111-2222-3333-4444-555555555555
    subscription-id: 11111111-2222-3333-4444-555555555555
triggers: {schedule: ["0 3 * * 1"]}
images:
  server: {}
  tools: {}
"""


def test_each_registry_its_repository_and_its_runs(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, SPEC)
    engine = workflow(plan, "multiarch.yml")
    assert engine.images.splitlines() == [
        "ghcr.io/acme/${{ inputs.repository-ghcr || inputs.repository }}",
        "${{ github.ref_type == 'tag' && secrets.DOCKERHUB_TOKEN != '' && "
        "format('docker.io/acme/{0}', inputs.repository) || '' }}",
        "${{ (github.ref == 'refs/heads/main' || github.event_name == 'schedule') && "
        "format('europe-docker.pkg.dev/acme-prod/images/{0}', inputs.repository) || '' }}",
        "acme.azurecr.io/${{ inputs.repository }}",
    ]
    assert [(login.slug, login.flag) for login in engine.logins] == [
        ("ghcr", ""), ("dockerhub", "PUSH_TO_DOCKERHUB"), ("gar", "PUSH_TO_GAR"), ("acr", "")]
    # Only the build GHCR renames passes its name there; OIDC logins take no secret from the caller.
    calls = {job.name: job for wf in plan.workflows if wf is not engine for job in wf.jobs}
    assert calls["server"].values["repository-ghcr"] == "server-rs"
    assert "repository-ghcr" not in calls["tools"].values
    assert engine.secrets == ("DOCKERHUB_USERNAME", "DOCKERHUB_TOKEN")
    legs = next(job for job in engine.jobs if job.id == "legs")
    assert [(p.scope, p.why) for p in legs.permissions if p.scope == "id-token"] == [
        ("id-token", "Google Cloud, Azure credentials through OIDC (GAR, ACR)")]


def test_the_engine_logs_in_only_where_the_run_publishes(tmp_path: Path, run: Runner) -> None:
    repo = write_tree(tmp_path, {".github/multiarch.yaml": SPEC, "Dockerfile": "FROM alpine\n"})
    assert run("-C", str(repo)).code == 0
    doc = yaml.safe_load((repo / ".github/workflows/multiarch.yml").read_text())
    steps = {s["id"]: s for s in doc["jobs"]["legs"]["steps"]}
    assert steps["login-ghcr"]["if"] == "env.PUSH == 'true'"
    assert steps["login-dockerhub"]["if"] == "env.PUSH == 'true' && env.PUSH_TO_DOCKERHUB == 'true'"
    for step in ("gcp-gar", "login-gar"):
        assert steps[step]["if"] == "env.PUSH == 'true' && env.PUSH_TO_GAR == 'true'"
    assert steps["login-gar"]["with"]["password"] == "${{ steps.gcp-gar.outputs.access_token }}"
    assert steps["login-acr"]["with"]["password"] == "${{ steps.acr-token-acr.outputs.token }}"
    assert doc["env"]["PUSH_TO_DOCKERHUB"] == "${{ github.ref_type == 'tag' && secrets.DOCKERHUB_TOKEN != '' }}"
    merge = [s.get("id") for s in doc["jobs"]["merge"]["steps"]]
    assert merge[merge.index("download-digests") + 1:merge.index("verify")] == [
        "login-ghcr", "login-dockerhub", "gcp-gar", "login-gar", "azure-acr", "acr-token-acr", "login-acr", "buildx"
    ], "the merge logs in again, under the same conditions (aliases of the legs' steps)"


def test_renames_that_meet_in_one_repository_are_refused_by_every_command(tmp_path: Path, run: Runner) -> None:
    """Two builds renamed into one Docker Hub repository write its tags twice; GHCR, which keeps their
    names apart, is no excuse."""
    repo = tmp_path / "repo"
    shutil.copytree(CASES / "registry-rename-collision", repo, ignore=shutil.ignore_patterns("expected.txt"))
    results = [run(command, "-C", str(repo)) for command in ("generate", "validate", "plan")]
    assert {r.code for r in results} == {2}
    assert len({r.err for r in results}) == 1
    assert "docker.io/acme/shared:main" in results[0].err


def test_renames_that_keep_repositories_apart_pass(tmp_path: Path, run: Runner) -> None:
    spec = SPEC.replace("repositories: {server: server-rs}", "repositories: {server: tools-rs, tools: server}")
    repo = write_tree(tmp_path, {".github/multiarch.yaml": spec, "Dockerfile": "FROM alpine\n"})
    result = run("validate", "-C", str(repo))
    assert result.code == 0, result.err


HELD = """version: 1
registries:
  - type: ghcr
  - type: dockerhub
    namespace: acme
    environment: release
  - type: generic
    host: registry.example.com
    namespace: team
    username-secret: MIRROR_USER
    password-secret: MIRROR_TOKEN
    environment: release
images:
  app: {sign: true}
"""


def test_an_environment_holds_secrets_only_the_publishing_jobs_read(tmp_path: Path, run: Runner) -> None:
    """The legs, which build pull requests too, never enter the environment nor push to its registries;
    the merge (and signing), which run only when publishing, enter it and copy the verified image there."""
    repo = write_tree(tmp_path, {".github/multiarch.yaml": HELD, "Dockerfile": "FROM alpine\n"})
    result = run("-C", str(repo))
    assert result.code == 0, result.err
    doc = yaml.safe_load((repo / ".github/workflows/multiarch.yml").read_text())
    jobs = doc["jobs"]
    assert "environment" not in jobs["legs"]
    assert jobs["merge"]["environment"] == jobs["sign"]["environment"] == "release"
    assert "github.event_name != 'pull_request'" in jobs["merge"]["if"]
    assert doc["env"]["HELD"] == "docker.io/acme/\nregistry.example.com/team/"
    assert [s["id"] for s in jobs["legs"]["steps"] if s["id"].startswith("login-")] == ["login-ghcr"]
    for job in ("merge", "sign"):
        assert [s["id"] for s in jobs[job]["steps"] if s["id"].startswith("login-")] == [
            "login-ghcr", "login-dockerhub", "login-generic"]


def test_the_environment_is_entered_only_on_runs_that_publish_to_its_registries(tmp_path: Path) -> None:
    """A release environment restricted to tags (or with reviewers) holds up no other publish: the merge and
    signing enter it on the runs whose registries' `on` holds, and an expression that gives '' enters none.
    The condition is written out: `env` (PUSH_TO_<registry>) is not read at job level."""
    from generator.workflow import Literal

    tagged = HELD.replace("namespace: acme\n    environment: release", "namespace: acme\n    environment: release\n"
                          "    on: [tag]")
    tagged = tagged.replace("namespace: team\n", "namespace: team\n    on: [default-branch, tag]\n")
    engine = workflow(plan_of(tmp_path / "tagged", tagged), "multiarch.yml")
    merge, sign = (job for job in engine.jobs if job.id in ("merge", "sign"))
    assert merge.environment == sign.environment == Literal(
        "${{ (github.ref_type == 'tag' || github.event_name == 'schedule' || github.ref == format('refs/heads/{0}', "
        "github.event.repository.default_branch)) && 'release' || '' }}"), "either registry's runs, once each"
    once = HELD.replace("    environment: release\nimages", "    environment: release\n    on: [tag]\nimages")
    engine = workflow(plan_of(tmp_path / "once", once), "multiarch.yml")
    assert {job.environment for job in engine.jobs if job.id != "legs"} == {"release"}, \
        "a registry every publishing run pushes to: every publishing run enters it"
    assert next(job for job in engine.jobs if job.id == "legs").environment == ""


def test_environments_are_refused_where_they_cannot_hold(tmp_path: Path, run: Runner) -> None:
    spec = HELD.replace("    environment: release\nimages", "    environment: mirror\nimages").replace(
        "  - type: ghcr\n", "  - type: ghcr\n  - type: ecr\n    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com\n"
        "    role: arn:aws:iam::123456789012:role/push\n    region: eu-west-1\n    environment: release\n").replace(
        "namespace: acme\n    environment: release", "namespace: acme\n    environment: release\n    on: [tag]\n"
        "    skip-without-secret: true")
    repo = write_tree(tmp_path, {".github/multiarch.yaml": spec, "Dockerfile": "FROM alpine\n"})
    results = [run(command, "-C", str(repo)) for command in ("generate", "validate")]
    assert {r.code for r in results} == {2}
    assert results[0].err == results[1].err
    err = results[0].err
    assert '"environment" needs a registry that logs in with a stored secret' in err  # ecr
    assert '"skip-without-secret" with "environment"' in err
    assert 'environment "mirror" differs from registries[1]\'s "release"' in err


def test_a_skipped_registry_leaves_an_empty_line_under_any_namespace() -> None:
    """GHCR's default namespace is the repository owner, known at run time: a conditional GHCR line
    formats it in; a registry that renames the build reads the call's name for it."""
    from generator.model import Registry, RegistryKind
    from generator.plan.values import engine_image, registry_condition

    ghcr = Registry(RegistryKind.GHCR, "ghcr.io", None, on=("tag", "schedule"))
    assert registry_condition(ghcr) == "github.ref_type == 'tag' || github.event_name == 'schedule'"
    assert engine_image(ghcr, "ghcr-2", True, registry_condition(ghcr)) == (
        "${{ (github.ref_type == 'tag' || github.event_name == 'schedule') && format('ghcr.io/{0}/{1}', "
        "github.repository_owner, inputs.repository-ghcr-2 || inputs.repository) || '' }}")
    hub = Registry(RegistryKind.DOCKERHUB, "docker.io", "acme", "U", "P", on=("default-branch", "schedule"),
                   skip_without_secret=True)
    assert registry_condition(hub) == ("(github.event_name == 'schedule' || github.ref == format('refs/heads/{0}', "
                                       "github.event.repository.default_branch)) && secrets.P != ''")
