"""The pre-commit hooks, run by the real pre-commit on a scratch git repository holding the minimal sample.

pre-commit installs the hooks from a committed snapshot of this checkout into a virtualenv of its own
(pip needs PyPI for the build dependencies). `pre-commit try-repo` builds that virtualenv afresh in a
temporary store on every call, so one test uses it as a user would to try the hooks; the others run
`pre-commit run` with a config naming the same repository and commit, which builds the virtualenv
once per session in a PRE_COMMIT_HOME of the session's own.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from generator.cli import main

from .conftest import REPO, SAMPLES

HOOKS = REPO / ".pre-commit-hooks.yaml"
WORKFLOW = ".github/workflows/multiarch-hello.yml"
SPEC = ".github/multiarch.yaml"
# When the checkout is not a git work tree (an unpacked sdist), copy it minus what is never source.
_NOT_SOURCE = shutil.ignore_patterns(".git", ".venv*", "__pycache__", "*.pyc", "*.egg-info", ".pytest_cache",
                                     ".mypy_cache", ".ruff_cache", ".hypothesis", "build", "dist")


def _environment() -> dict[str, str]:
    """The caller's environment minus what would steer git or pre-commit elsewhere (tests may run
    inside a git hook, which sets GIT_DIR and GIT_INDEX_FILE), and without the user's git config."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GIT_", "PRE_COMMIT")) and key != "SKIP"}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, NO_COLOR="1")
    return env


def _git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def _commit_everything(repo: Path, message: str, env: dict[str, str]) -> None:
    if not (repo / ".git").exists():
        _git(repo, "init", "--quiet", env=env)
        _git(repo, "config", "user.name", "gen-workflows tests", env=env)
        _git(repo, "config", "user.email", "tests@gen-workflows.invalid", env=env)
        _git(repo, "config", "commit.gpgsign", "false", env=env)
    _git(repo, "add", "--all", env=env)
    _git(repo, "commit", "--quiet", "--allow-empty", "-m", message, env=env)


def _snapshot_checkout(target: Path, env: dict[str, str]) -> None:
    """Copy this checkout as it is now, committed or not. `try-repo` on the checkout itself would
    install HEAD plus changes to *tracked* files only: a module not committed yet would be missing."""
    try:
        listed = _git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard", env=env)
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(REPO, target, ignore=_NOT_SOURCE)
        return
    for rel in filter(None, listed.split("\0")):
        source = REPO / rel
        if source.is_file():  # tracked files deleted in the work tree are still listed
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)


@dataclass(frozen=True)
class Hooks:
    repo: Path
    config: Path
    env: dict[str, str]

    def _pre_commit(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """stdout and stderr together, as a user sees them."""
        return subprocess.run([sys.executable, "-m", "pre_commit", *args, "--all-files", "--color", "never"],
                              cwd=cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=900, check=False)

    def run(self, cwd: Path, hook: str) -> subprocess.CompletedProcess[str]:
        """One hook on every file of `cwd`, from the session's shared environment."""
        return self._pre_commit(cwd, "run", hook, "--config", str(self.config))

    def try_repo(self, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Every hook of the manifest on every file of `cwd`, as `pre-commit try-repo` runs them."""
        return self._pre_commit(cwd, "try-repo", str(self.repo))


@pytest.fixture(scope="session")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Hooks:
    env = _environment()
    work = tmp_path_factory.mktemp("pre-commit")
    env["PRE_COMMIT_HOME"] = str(work / "home")
    repo = work / "gen-workflows"
    repo.mkdir()
    _snapshot_checkout(repo, env)
    _commit_everything(repo, "snapshot of the checkout under test", env)
    # What `try-repo` writes too; pre-commit keys the environments in its home by repository and rev.
    rev = _git(repo, "rev-parse", "HEAD", env=env).strip()
    config = work / "pre-commit-config.yaml"
    config.write_text(json.dumps({"repos": [{"repo": str(repo), "rev": rev, "hooks": [
        {"id": hook} for hook in _manifest()]}]}, indent=2), encoding="utf-8")
    return Hooks(repo, config, env)


@pytest.fixture
def sample(tmp_path: Path, hooks: Hooks) -> Path:
    """A git repository holding the minimal sample, its workflows current with this checkout's code."""
    repo = tmp_path / "minimal"
    shutil.copytree(SAMPLES / "minimal", repo)
    # test_samples checks the sample itself is current; this test is about the hooks.
    assert main(["-C", str(repo)]) == 0
    _commit_everything(repo, "the minimal sample", hooks.env)
    return repo


def _status(repo: Path, hooks: Hooks) -> str:
    return _git(repo, "status", "--porcelain", "--untracked-files=all", env=hooks.env)


def _is_current(repo: Path) -> bool:
    return main(["-C", str(repo), "--check"]) == 0


def _manifest() -> dict[str, dict[str, object]]:
    return {hook["id"]: hook for hook in YAML(typ="safe").load(HOOKS.read_text(encoding="utf-8"))}


def test_manifest_is_valid() -> None:
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-manifest", str(HOOKS)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = _manifest()
    assert set(hooks) == {"gen-workflows", "gen-workflows-check"}
    assert hooks["gen-workflows"]["entry"] == "gen-workflows --fail-on-change"
    assert hooks["gen-workflows-check"]["entry"] == "gen-workflows --check"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is False
        assert hook["name"]
        assert hook["description"]


@pytest.mark.parametrize(("path", "matches"), [
    (".github/multiarch.yaml", True),
    (".github/multiarch.yml", True),
    (".github/workflows/multiarch-app.yml", True),
    (".github/workflows/ci.yml", True),
    ("Dockerfile", True),
    ("web/Dockerfile", True),
    ("worker/Containerfile", True),
    ("Dockerfile.dev", True),
    ("docker/app.Dockerfile", True),
    ("images/base.Containerfile", True),
    ("README.md", False),
    ("src/Dockerfiles/notes.txt", False),
    ("docs/Dockerfile-guide/index.md", False),
    (".github/multiarch.yaml.orig", False),
    ("sub/.github/multiarch.yaml", False),
    ("MyDockerfile", False),
])
def test_hooks_run_for_the_files_the_workflows_depend_on(path: str, matches: bool) -> None:
    for hook in _manifest().values():
        assert bool(re.search(str(hook["files"]), path)) is matches, (hook["id"], path)


def test_both_hooks_pass_when_the_workflows_are_current(sample: Path, hooks: Hooks) -> None:
    for hook in ("gen-workflows", "gen-workflows-check"):
        result = hooks.run(sample, hook)
        assert result.returncode == 0, result.stdout
        assert "Passed" in result.stdout
    assert _status(sample, hooks) == ""


def test_try_repo(sample: Path, hooks: Hooks) -> None:
    result = hooks.try_repo(sample)
    assert result.returncode == 0, result.stdout
    assert "regenerate multi-arch workflows" in result.stdout
    assert "check multi-arch workflows are current" in result.stdout
    assert result.stdout.count("Passed") == 2
    assert _status(sample, hooks) == ""


def test_stale_spec(sample: Path, hooks: Hooks) -> None:
    spec = sample / SPEC
    spec.write_text(spec.read_text(encoding="utf-8").replace("hello: {}", "hello: {platforms: [amd64, armv7]}"),
                    encoding="utf-8")
    _commit_everything(sample, "build for armv7 too", hooks.env)

    check = hooks.run(sample, "gen-workflows-check")
    assert check.returncode != 0, check.stdout
    assert "- exit code: 1" in check.stdout
    assert f"--- a/{WORKFLOW}" in check.stdout
    assert re.search(r"^\+.*linux/arm/v7", check.stdout, re.MULTILINE), check.stdout
    assert _status(sample, hooks) == "", "the check hook writes nothing"

    regenerate = hooks.run(sample, "gen-workflows")
    assert regenerate.returncode != 0, regenerate.stdout
    assert "files were modified by this hook" in regenerate.stdout
    # The engine too: the armv7 leg is the first to need its QEMU step (minimal's light arm64 builds natively).
    assert _status(sample, hooks) == f" M {WORKFLOW}\n M .github/workflows/multiarch.yml\n"
    assert _is_current(sample)

    _commit_everything(sample, "regenerated", hooks.env)
    assert hooks.run(sample, "gen-workflows-check").returncode == 0


def test_deleted_workflow(sample: Path, hooks: Hooks) -> None:
    (sample / WORKFLOW).unlink()
    _commit_everything(sample, "lose the workflow", hooks.env)

    check = hooks.run(sample, "gen-workflows-check")
    assert check.returncode != 0, check.stdout
    assert f"{WORKFLOW}: would create" in check.stdout
    assert f"+++ b/{WORKFLOW}" in check.stdout
    assert _status(sample, hooks) == ""

    # pre-commit notices only changes to tracked files (`git diff`): it cannot tell that the hook
    # created a file, so the hook runs `gen-workflows --fail-on-change`, which exits 1 after writing.
    regenerate = hooks.run(sample, "gen-workflows")
    assert regenerate.returncode != 0, regenerate.stdout
    assert f"created {WORKFLOW}" in regenerate.stdout
    assert _status(sample, hooks) == f"?? {WORKFLOW}\n"
    assert _is_current(sample)
