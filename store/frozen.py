"""The base of the store's small immutable values (a tree entry, a blob's location, a pack
entry, a snapshot's result), written by hand instead of with `@dataclass(frozen=True)`.

A dataclass compiles its methods with `exec` when its class is declared, and importing
`dataclasses` loads `inspect` (with `ast`, `dis`, `tokenize`): milliseconds of every command
that opens the store. Each class here lists its fields in `_fields` and sets them in its own
`__init__`; this base gives what the frozen dataclass gave: equality and hashing by the field
values of the same class, a repr naming them, and assignment and deletion refused with
`dataclasses.FrozenInstanceError` (imported when refused). `Ordered` adds a dataclass's
`order=True` comparisons: by the field values, in order, between instances of one class.
"""
from __future__ import annotations


class FrozenValue:
    """Base: a subclass names its fields, in order, in `_fields`."""

    __slots__ = ()
    _fields: tuple = ()

    def _values(self) -> tuple:
        values = self.__dict__
        return tuple(values[name] for name in self._fields)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self):
        return hash(self._values())

    def __repr__(self):
        values = self.__dict__
        return f"{type(self).__qualname__}({', '.join(f'{n}={values[n]!r}' for n in self._fields)})"

    def __setattr__(self, name, value):
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")


class Ordered(FrozenValue):
    """A frozen value ordered by its field values, as a dataclass with `order=True`."""

    __slots__ = ()

    def __lt__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() < other._values()

    def __le__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() <= other._values()

    def __gt__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() > other._values()

    def __ge__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() >= other._values()


__all__ = ["FrozenValue", "Ordered"]
