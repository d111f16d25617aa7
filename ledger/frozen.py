"""Frozen record classes without generated code: the base of the event catalogue and the rows.

`@dataclass(frozen=True)` writes an `__init__`, `__setattr__` and `__delattr__` for every
class and compiles each with `exec`. The ledger declares about a hundred such classes (events
and rows) and every `canalis` command imports them, so that compiling was most of the cost of
importing the ledger. Here one `__init__` and one pair of frozen setters, written once, serve
every class: `seal(cls)` only reads the class's annotations and defaults into a tuple of
`Field`s. The behaviour is a frozen dataclass's: fields in declaration order (a base's first,
a redeclared field keeps its place and takes the new default), defaults and
`field(default_factory=...)`, `__post_init__` after assignment, assignment and deletion
refused with `dataclasses.FrozenInstanceError`, and equality, hashing and repr by field
values (`FieldValues`).

Nor is `dataclasses` imported: its import loads `inspect` (with `ast`, `dis`, `tokenize`),
milliseconds of every command. A default factory is declared with this module's `field`
(`dataclasses.field` is read as well, in a program that has loaded dataclasses), and the
refusal's `FrozenInstanceError` is imported when an assignment is refused.
"""
from __future__ import annotations

import sys
import typing
from typing import ClassVar, NamedTuple

from canalis.ledger.fieldvalues import FieldValues


class _Missing:
    """The marker of "no default" (`dataclasses.MISSING`'s role)."""

    __slots__ = ()

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


class _Default(NamedTuple):
    """What `field(...)` declares: a default value or a default factory."""

    default: object = MISSING
    default_factory: object = MISSING


def field(*, default=MISSING, default_factory=MISSING):
    """A field's default or default factory (`dataclasses.field`'s two arguments used here)."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Default(default, default_factory)


def declared_default(value):
    """(default, default_factory) of a class attribute that declares a field through `field(...)`
    (this module's or `dataclasses.field`), else None."""
    if isinstance(value, _Default):
        return value.default, value.default_factory
    dataclasses = sys.modules.get("dataclasses")  # a dataclasses.Field exists only once it is loaded
    if dataclasses is not None and isinstance(value, dataclasses.Field):
        return (MISSING if value.default is dataclasses.MISSING else value.default,
                MISSING if value.default_factory is dataclasses.MISSING else value.default_factory)
    return None


def frozen_error(message: str) -> Exception:
    """`dataclasses.FrozenInstanceError(message)`, what assigning to a frozen dataclass raises."""
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(message)


class Field(NamedTuple):
    """One declared field: its name, its annotation (as written), its default or factory."""

    name: str
    type: object
    default: object = MISSING
    default_factory: object = MISSING


def fields(cls) -> tuple[Field, ...]:
    """The fields of a sealed class (or of an instance's class), in order."""
    return cls._fields


class Frozen(FieldValues):
    """Base of the sealed classes: one shared keyword (and, unless `_kw_only`, positional)
    `__init__`, and attribute assignment refused after it."""

    _fields: ClassVar[tuple] = ()
    _names: ClassVar[tuple] = ()
    _kw_only: ClassVar[bool] = True
    # what the shared __init__ reads, made by seal()
    _names_set: ClassVar[frozenset] = frozenset()
    _required: ClassVar[frozenset] = frozenset()
    _defaults: ClassVar[dict] = {}
    _factories: ClassVar[tuple] = ()

    def __init__(self, *args, **kwargs):
        cls = type(self)
        if args:
            kwargs = cls._positional(args, kwargs)
        given = kwargs.keys()
        if not cls._required <= given or not given <= cls._names_set:
            cls._refuse(given)
        values = self.__dict__
        values.update(cls._defaults)
        for name, factory in cls._factories:
            if name not in given:
                values[name] = factory()
        values.update(kwargs)
        post = getattr(self, "__post_init__", None)
        if post is not None:
            post()

    @classmethod
    def _positional(cls, args, kwargs) -> dict:
        if cls._kw_only:
            raise TypeError(f"{cls.__name__}() takes keyword arguments only ({len(args)} positional given)")
        if len(args) > len(cls._fields):
            raise TypeError(f"{cls.__name__}() takes at most {len(cls._fields)} positional arguments ({len(args)} given)")
        for f, value in zip(cls._fields, args):
            if f.name in kwargs:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {f.name!r}")
            kwargs[f.name] = value
        return kwargs

    @classmethod
    def _refuse(cls, given) -> typing.NoReturn:
        for f in cls._fields:
            if f.name in cls._required and f.name not in given:
                raise TypeError(f"{cls.__name__}() missing required argument {f.name!r}")
        unexpected = next(name for name in given if name not in cls._names_set)
        raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {unexpected!r}")

    def __setattr__(self, name, value):
        raise frozen_error(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise frozen_error(f"cannot delete field {name!r}")

    @classmethod
    def _field_names(cls) -> tuple:
        return cls._names


def seal(cls, kw_only: bool = True):
    """Read `cls`'s fields (its own annotations after its bases', ClassVars left out) and
    make it a frozen record class. A `field(...)` (or `dataclasses.field(...)`) default is read
    for its default or factory and removed from the class, as `@dataclass` does."""
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__):
        own = base.__dict__.get("__annotations__")
        if not own:
            continue
        for name, annotation in own.items():
            text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
            if text.startswith(("ClassVar", "typing.ClassVar")):
                continue
            value = base.__dict__.get(name, MISSING)
            declared = declared_default(value)
            if declared is not None:
                found[name] = Field(name, annotation, *declared)
            else:
                found[name] = Field(name, annotation, value)
    for name, f in found.items():
        if declared_default(cls.__dict__.get(name)) is not None:
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    if not kw_only:  # by position: no field without a default after one with a default
        defaulted = False
        for f in found.values():
            if f.default is not MISSING or f.default_factory is not MISSING:
                defaulted = True
            elif defaulted:
                raise TypeError(f"{cls.__name__}: non-default argument {f.name!r} follows default argument")
    cls._fields = tuple(found.values())
    cls._names = tuple(found)
    cls._kw_only = kw_only
    cls._names_set = frozenset(found)
    cls._required = frozenset(f.name for f in found.values() if f.default is MISSING and f.default_factory is MISSING)
    cls._defaults = {f.name: f.default for f in found.values() if f.default is not MISSING}
    cls._factories = tuple((f.name, f.default_factory) for f in found.values() if f.default_factory is not MISSING)
    return cls
