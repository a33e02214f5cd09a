"""generator.record: behaves as the frozen dataclass it replaces (comparisons, hash, repr, immutability)."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass, field, fields, replace

import pytest

from generator.record import record


@record(order=True)
class Point:
    x: int
    y: str = "a"
    tags: tuple[str, ...] = field(default=())


@dataclass(frozen=True, order=True)
class Reference:
    x: int
    y: str = "a"
    tags: tuple[str, ...] = field(default=())


@record
class One:
    only: int


def test_same_as_a_frozen_dataclass() -> None:
    for args in [(1,), (2, "b"), (3, "c", ("t",))]:
        ours, theirs = Point(*args), Reference(*args)
        assert repr(ours) == repr(theirs).replace("Reference", "Point")
        assert hash(ours) == hash(theirs)
        assert ours == Point(*args)
        assert ours != Point(9)
    assert sorted([Point(2), Point(1, "b"), Point(1, "a")]) == [Point(1, "a"), Point(1, "b"), Point(2)]
    assert Point(1) < Point(2) <= Point(2)
    assert Point(3) > Point(2) >= Point(2)
    assert Point(1) != Reference(1)
    assert Point(1).__eq__(Reference(1)) is NotImplemented
    assert hash(One(5)) == hash((5,))
    assert repr(One(5)) == "One(only=5)"


def test_frozen() -> None:
    point = Point(1)
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 2  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError, match="cannot assign to field 'other'"):
        point.other = 2  # type: ignore[attr-defined]
    with pytest.raises(FrozenInstanceError, match="cannot delete field 'y'"):
        del point.y  # type: ignore[misc]
    assert point == Point(1, "a", ())


def test_dataclass_tools_work() -> None:
    assert [f.name for f in fields(Point)] == ["x", "y", "tags"]
    assert replace(Point(1), y="z") == Point(1, "z")


def test_a_frozen_dataclass_may_extend_a_record() -> None:
    @dataclass(frozen=True)
    class More(Point):
        z: bool = False

    more = More(1, z=True)
    assert (more.x, more.y, more.z) == (1, "a", True)
    with pytest.raises(FrozenInstanceError):
        more.z = False  # type: ignore[misc]


@record
class Made:
    name: str
    items: list[str] = field(default_factory=list)


def test_constructor_takes_what_the_dataclass_took() -> None:
    assert Point(1, tags=("a",)) == Point(x=1, y="a", tags=("a",))
    assert Made("a").items == []
    assert Made("a").items is not Made("a").items
    for args, kwargs, message in [((), {}, "missing required argument: 'x'"),
                                  ((1, "a", (), 4), {}, "takes 3 positional arguments but 4 were given"),
                                  ((1,), {"x": 2}, "multiple values for argument 'x'"),
                                  ((1,), {"z": 2}, "unexpected keyword argument 'z'")]:
        with pytest.raises(TypeError, match=message):
            Point(*args, **kwargs)
    assert Point.__doc__ == "Point(x, y, tags)"
