"""The templates hold the shape: a changed template set renders (a new trigger, a new step) or fails naming
the template and line. Each test renders a modified copy of templates/."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.app import Planned, plan_spec
from generator.render import RenderError, render_files
from generator.workflow import Trigger, WorkflowPlan

from ..conftest import REPO, SAMPLE_NAMES, SAMPLES, Runner

TEMPLATES = REPO / "templates"
DELIMITERS = ("{=", "=}", "{%", "%}", "{!", "!}")


@pytest.fixture(scope="module")
def webapp() -> Planned:
    return plan_spec(SAMPLES / "webapp")


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    return copy


def edit(path: Path, old: str, new: str) -> int:
    """Replace the one `old` in the file with `new`; the 1-based line where `new` starts."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def parsed(files: dict[str, str], name: str) -> dict[Any, Any]:
    doc: dict[Any, Any] = yaml.safe_load(files[f".github/workflows/{name}"])
    return doc


def ids(job: dict[str, Any]) -> list[str]:
    return [step["id"] for step in job["steps"]]


def test_every_job_kind_has_a_template() -> None:
    kinds = {job.kind for sample in SAMPLE_NAMES for wf in plan_spec(SAMPLES / sample).plan.workflows
             for job in wf.jobs}
    assert kinds == {"call", "legs", "merge", "sign"}, "the engine's three job kinds and the builds' calls"
    assert all((TEMPLATES / "jobs" / f"{kind}.yml.j2").is_file() for kind in kinds)


@pytest.mark.parametrize("sample", SAMPLE_NAMES)
def test_no_template_delimiter_reaches_a_workflow(sample: str) -> None:
    for path in (SAMPLES / sample / ".github/workflows").glob("*.yml"):
        text = path.read_text(encoding="utf-8")
        assert not [d for d in DELIMITERS if d in text], path


def test_the_plan_lists_the_steps_its_templates_give_each_job(webapp: Planned) -> None:
    engine = next(wf for wf in webapp.plan.workflows if wf.filename == "multiarch.yml")
    merge = next(job for job in engine.jobs if job.id == "merge")
    assert [s.id for s in merge.steps][:3] == ["checkout", "download-digests", "login-ghcr"]
    assert {s.uses for s in merge.steps} >= {"actions/checkout", "docker/login-action", "docker/metadata-action"}


# ------------------------------------------------------------------------------------- changes that work


def test_a_trigger_is_a_template_change(webapp: Planned, templates: Path) -> None:
    edit(templates / "workflow.yml.j2", "\non:\n", "\non:\n  repository_dispatch:\n    types: [rebuild]\n")
    before, after = render_files(webapp.plan, "0"), render_files(webapp.plan, "0", templates=templates)
    for name in ("multiarch-web.yml", "multiarch-worker.yml"):
        old, new = parsed(before, name), parsed(after, name)
        assert new[True].pop("repository_dispatch") == {"types": ["rebuild"]}  # `on` reads as True in YAML 1.1
        assert new == old, "nothing else changes"


@dataclass(frozen=True)
class DispatchTrigger(Trigger):
    dispatch: bool = False  # the one plan field a configurable trigger would add


def test_a_configurable_trigger_is_a_template_change_and_one_plan_field(webapp: Planned, templates: Path) -> None:
    edit(templates / "workflow.yml.j2", "\non:\n",
         "\non:\n{% if wf.on.dispatch %}\n  repository_dispatch:\n{% endif %}\n")

    def with_dispatch(plan: WorkflowPlan, on: bool) -> WorkflowPlan:
        workflows = tuple(replace(wf, on=DispatchTrigger(**vars(wf.on), dispatch=on)) for wf in plan.workflows)
        return replace(plan, workflows=workflows)

    on = parsed(render_files(with_dispatch(webapp.plan, True), "0", templates=templates), "multiarch-web.yml")
    off = parsed(render_files(with_dispatch(webapp.plan, False), "0", templates=templates), "multiarch-web.yml")
    assert "repository_dispatch" in on[True]
    assert "repository_dispatch" not in off[True]


def test_a_step_in_one_job_kind_is_a_template_change(webapp: Planned, templates: Path) -> None:
    (templates / "scripts/announce.sh").write_text('echo "tagged $KEY"\n', encoding="utf-8")
    (templates / "steps/announce.yml.j2").write_text(
        "      - name: Announce the tags\n"
        "        id: announce\n"
        "        env:\n"
        "          KEY: {= v.key =}\n"
        '        run: {= script("announce.sh") =}\n', encoding="utf-8")
    edit(templates / "jobs/merge.yml.j2", '{% include "steps/create-tags.yml.j2" %}\n',
         '{% include "steps/create-tags.yml.j2" %}\n{% include "steps/announce.yml.j2" %}\n')
    before = render_files(webapp.plan, "0")
    after = render_files(webapp.plan, "0", templates=templates)
    engine = parsed(after, "multiarch.yml")
    merge = engine["jobs"]["merge"]
    assert ids(merge)[ids(merge).index("create-tags") + 1] == "announce"
    announce = merge["steps"][ids(merge).index("announce")]
    assert announce == {"name": "Announce the tags", "id": "announce", "env": {"KEY": "${{ inputs.key }}"},
                        "run": 'echo "tagged $KEY"\n'}
    assert "announce" not in ids(engine["jobs"]["legs"]), "only the merge job kind has it"
    merge["steps"].remove(announce)
    assert engine == parsed(before, "multiarch.yml"), "nothing else in the engine changes"
    assert {k: v for k, v in after.items() if not k.endswith("/multiarch.yml")} == {
        k: v for k, v in before.items() if not k.endswith("/multiarch.yml")}, "the calls stay as they were"


# ------------------------------------------------------------------------------------- changes that fail


def failure(plan: WorkflowPlan, templates: Path) -> str:
    with pytest.raises(RenderError) as raised:
        render_files(plan, "0", templates=templates)
    return str(raised.value)


def test_text_that_does_not_parse_names_the_template_line(webapp: Planned, templates: Path) -> None:
    line = edit(templates / "jobs/merge.yml.j2", "    steps:\n", "    bogus: [unclosed\n    steps:\n")
    message = failure(webapp.plan, templates)
    assert message.startswith(f"templates/jobs/merge.yml.j2:{line + 1}: "), "where the parser stopped"
    assert f"a flow sequence that starts at templates/jobs/merge.yml.j2:{line} ('bogus: [unclosed')" in message


def test_an_undefined_name_names_the_template_line(webapp: Planned, templates: Path) -> None:
    line = edit(templates / "steps/create-tags.yml.j2", "        working-directory: ${{ runner.temp }}/digests\n",
                "        working-directory: ${{ runner.temp }}/digests\n        env: {MORE: {= job.no_such_flag =}}\n")
    message = failure(webapp.plan, templates)
    assert message.startswith(f"templates/steps/create-tags.yml.j2:{line + 1}: "), message
    assert "no_such_flag" in message


def test_a_syntax_error_names_the_template_line(webapp: Planned, templates: Path) -> None:
    edit(templates / "jobs/merge.yml.j2", "{% if job.per_arch_tags %}\n",
         "{% if job.per_arch_tags %}\n{% if job.floating %}\n")
    message = failure(webapp.plan, templates)
    assert message.startswith("templates/jobs/merge.yml.j2:"), message
    assert "endif" in message


def test_a_value_written_inside_a_longer_one_is_caught(webapp: Planned, templates: Path) -> None:
    edit(templates / "jobs/call.yml.j2", "    name: {= job.name =}\n", "    name: image {= job.name =}\n")
    assert "'web' does not read back" in failure(webapp.plan, templates)


def test_a_step_without_an_id_is_caught(webapp: Planned, templates: Path) -> None:
    edit(templates / "steps/create-tags.yml.j2", "        id: create-tags\n", "")
    message = failure(webapp.plan, templates)
    assert message.startswith("templates/jobs/merge.yml.j2: multiarch.yml: job merge step "), message
    assert message.endswith("has no id")


def test_a_job_that_says_other_than_the_plan_is_caught(webapp: Planned, templates: Path) -> None:
    edit(templates / "jobs/_job.yml.j2", "    needs: {= job.needs[0] =}\n", "    needs: [{= job.needs[0] =}, legs]\n")
    message = failure(webapp.plan, templates)
    assert "job merge needs is ['legs', 'legs'], the plan says ['legs']" in message, message


def test_a_key_written_twice_is_caught(webapp: Planned, templates: Path) -> None:
    grant = ("permissions: {} # each call grants what the engine's jobs request (GitHub checks them all, skipped "
             "ones too)\n")
    line = edit(templates / "workflow.yml.j2", grant, grant + "permissions: {}\n")
    message = failure(webapp.plan, templates)
    assert message.startswith(f"templates/workflow.yml.j2:{line + 1}: "), message
    assert "'permissions' appears twice" in message


def test_the_cli_reports_a_broken_template_as_an_internal_error_naming_it(
        templates: Path, run: Runner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    line = edit(templates / "jobs/merge.yml.j2", "    steps:\n", "    bogus: [unclosed\n    steps:\n")
    monkeypatch.setattr("generator.render.default_templates", lambda: templates)
    repo = tmp_path / "webapp"
    shutil.copytree(SAMPLES / "webapp", repo)
    result = run("-C", str(repo))
    assert result.code == 3
    assert f"RenderError: templates/jobs/merge.yml.j2:{line + 1}: " in result.err
    assert sorted(p.name for p in (repo / ".github/workflows").iterdir()) == sorted(
        p.name for p in (SAMPLES / "webapp/.github/workflows").iterdir()), "nothing written"
