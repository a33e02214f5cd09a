"""`@record`: a frozen dataclass that compiles nothing at import.

On Python 3.11 `@dataclass(frozen=True)` compiles `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` (and four more with `order=True`) from source for every class, about half a
million instructions each: the generator's forty-odd records cost a sixth of a regeneration that way. Here
the dataclass machinery only collects the fields; the methods are closures over the field names, built
without compiling anything, and behave as the dataclass's would (same arguments and defaults, comparisons,
hash, repr text and `FrozenInstanceError`). `dataclasses.replace` and `fields` work as before, and a frozen
dataclass may extend a record. A constructor called wrongly raises TypeError as the generated one does,
in slightly different words.

Immutability: `__init__` fills the instance's fields once; any later assignment or deletion raises.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform, overload

__all__ = ["field", "record"]

_T = TypeVar("_T")
_set = object.__setattr__


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The fields as a tuple, as the dataclass's generated methods compare and hash them."""
    if not names:
        return lambda self: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return attrgetter(*names)  # a tuple for two names or more


def _freeze(cls: type[_T], order: bool) -> type[_T]:
    if cls.__doc__ is None:  # as dataclass would name it, without its costly inspect.signature
        cls.__doc__ = f"{cls.__name__}({', '.join(inspect.get_annotations(cls))})"
    cls = dataclass(cls, init=False, eq=False, repr=False)  # collects the fields; compiles nothing
    # What the class is once the methods below are set: a frozen dataclass may then extend it.
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    params.init = params.eq = params.repr = params.frozen = True
    params.order = order
    declared = fields(cls)  # type: ignore[arg-type]
    if any(not f.init or f.kw_only for f in declared):
        raise TypeError(f"{cls.__name__}: @record takes neither init=False nor keyword-only fields")
    every = frozenset(f.name for f in declared)
    compared = _getter(tuple(f.name for f in declared if f.compare))
    hashed = _getter(tuple(f.name for f in declared if (f.compare if f.hash is None else f.hash)))
    shown = tuple(f.name for f in declared if f.repr)
    takes = tuple((f.name, f.default, f.default_factory) for f in declared)
    names = tuple(f.name for f in declared)
    owner = cls.__qualname__
    post_init = getattr(cls, "__post_init__", None)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(takes):
            raise TypeError(f"{owner}() takes {len(takes)} positional arguments but {len(args)} were given")
        if not every.issuperset(kwargs):
            raise TypeError(f"{owner}() got an unexpected keyword argument {min(set(kwargs) - every)!r}")
        values = dict(zip(names, args, strict=False))  # at most as many arguments as names
        if kwargs and not values.keys().isdisjoint(kwargs):
            raise TypeError(f"{owner}() got multiple values for argument {min(values.keys() & kwargs)!r}")
        for name, default, factory in takes[len(args):]:
            if name in kwargs:
                values[name] = kwargs[name]
            elif default is not MISSING:
                values[name] = default
            elif factory is not MISSING:
                values[name] = factory()
            else:
                raise TypeError(f"{owner}() missing required argument: {name!r}")
        self.__dict__.update(values)  # each field once, in order; __setattr__ refuses any later assignment
        if post_init is not None:
            post_init(self)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in every:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        _set(self, name, value)

    def __delattr__(self: Any, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({inner})"

    methods: dict[str, Callable[..., Any]] = {
        "__init__": __init__, "__setattr__": __setattr__, "__delattr__": __delattr__, "__eq__": __eq__,
        "__hash__": __hash__, "__repr__": __repr__}
    if order:
        def __lt__(self: Any, other: Any) -> Any:
            return compared(self) < compared(other) if other.__class__ is self.__class__ else NotImplemented

        def __le__(self: Any, other: Any) -> Any:
            return compared(self) <= compared(other) if other.__class__ is self.__class__ else NotImplemented

        def __gt__(self: Any, other: Any) -> Any:
            return compared(self) > compared(other) if other.__class__ is self.__class__ else NotImplemented

        def __ge__(self: Any, other: Any) -> Any:
            return compared(self) >= compared(other) if other.__class__ is self.__class__ else NotImplemented

        methods.update(__lt__=__lt__, __le__=__le__, __gt__=__gt__, __ge__=__ge__)
    for name, method in methods.items():
        if name in cls.__dict__:
            raise TypeError(f"{cls.__name__} defines {name}, which @record writes")
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)
    return cls


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, order: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(cls: type[_T] | None = None, /, *, order: bool = False) -> type[_T] | Callable[[type[_T]], type[_T]]:
    """`@record` or `@record(order=True)`: as `@dataclass(frozen=True)` (`order=True`)."""
    if cls is None:
        return lambda c: _freeze(c, order)
    return _freeze(cls, order)
