"""plan/matrix.py: a job's builds or legs folded into shared values and matrix rows."""

from __future__ import annotations

import pytest

from generator.errors import UserError
from generator.model import Image
from generator.plan.matrix import MAX_MATRIX, Fields, check_size, leg_matrix
from generator.platforms import parse_platform
from generator.strategy import Leg
from generator.workflow import Literal

ROWS = [
    {"variant": "app/a", "key": "app--a", "context": ".", "target": "", "sbom": False, "cache": ""},
    {"variant": "app/b", "key": "app--b", "context": ".", "target": "", "sbom": False, "cache": ""},
]


def test_a_shared_value_is_written_out_and_a_differing_one_is_a_matrix_value() -> None:
    f = Fields(ROWS)
    assert f("context") == "."
    assert f("key") == Literal("${{ matrix.key }}")
    assert f.varying == ["variant", "key"]


def test_optional_inputs_no_row_sets_are_none() -> None:
    values = Fields(ROWS).values(["context", "target", "sbom", "cache", "key"])
    assert values == {"context": ".", "target": None, "sbom": None, "cache": None,
                      "key": Literal("${{ matrix.key }}")}


def test_an_optional_input_some_rows_set_stays_a_matrix_value() -> None:
    rows = [ROWS[0], {**ROWS[1], "target": "runtime"}]
    assert Fields(rows).values(["target"]) == {"target": Literal("${{ matrix.target }}")}


def test_rows_carry_the_label_and_only_the_jobs_differing_values() -> None:
    rows = [ROWS[0], {**ROWS[1], "target": "runtime"}]
    assert Fields(rows).matrix(["key", "context"]) == (
        {"variant": "app/a", "key": "app--a"}, {"variant": "app/b", "key": "app--b"})
    assert Fields(rows[:1]).matrix(["key"]) == (), "one build needs no matrix"


def test_per_row_keys_are_matrix_values_even_when_every_row_agrees() -> None:
    rows = [{**r, "key": "app", "cache": "type=gha,scope=app"} for r in ROWS]
    assert "cache" in Fields(rows, per_row=("cache",)).varying
    assert "cache" not in Fields(ROWS, per_row=("cache",)).varying, "no cache, no matrix value"


def test_leg_rows_say_where_each_leg_runs_then_what_differs() -> None:
    amd64, arm = parse_platform("linux/amd64"), parse_platform("linux/arm/v7")
    legs = [("app", Leg(amd64, ("ubuntu-24.04",), "")), ("app", Leg(arm, ("ubuntu-24.04",), "arm"))]
    per_leg = Fields([{"file": "Dockerfile", "cache": "type=gha,scope=app--linux-amd64"},
                      {"file": "Dockerfile.arm", "cache": "type=gha,scope=app--linux-arm-v7"}])
    rows = leg_matrix(legs, per_leg, labelled=False, stand_ins=False, emulated=True)
    assert rows[1] == {"platform": "linux/arm/v7", "runner": "ubuntu-24.04", "qemu": "arm", "pair": "linux-arm-v7",
                       "cache": "type=gha,scope=app--linux-arm-v7", "file": "Dockerfile.arm"}
    assert list(rows[0]) == ["platform", "runner", "qemu", "pair", "cache", "file"], "the cache first"


def test_a_matrix_larger_than_github_runs_is_refused_where_the_spec_names_the_image() -> None:
    image = Image("app", (), (), per_arch_tags=False, position=(7, 3))
    check_size("spec.yaml", image, MAX_MATRIX)
    with pytest.raises(UserError) as raised:
        check_size("spec.yaml", image, MAX_MATRIX + 1)
    (problem,) = raised.value.problems
    assert (problem.line, problem.column) == (7, 3)
    assert f"{MAX_MATRIX + 1} legs" in problem.message
