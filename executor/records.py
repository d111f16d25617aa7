"""Record classes for the plan, the binding and the step records, without generated code.

`@dataclass(frozen=True)` writes an `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` for every class and compiles each with `exec`: about a
millisecond a class, and the executor declares some twenty that every `canalis submit`
imports. `record` makes the same class a dataclass without compiling anything: the fields are
read by `dataclasses.dataclass` with every generated method turned off (so `fields`,
`replace`, `asdict` and `is_dataclass` work as before), and one shared `__init__`, `__repr__`,
`__eq__` and `__hash__` (and, frozen, one pair of refusing setters) written once here serve
every class. The behaviour is a dataclass's: arguments by position or keyword in field order,
defaults and `field(default_factory=...)`, `__post_init__` after assignment, equality and
hashing by field values of the same class, assignment refused with
`dataclasses.FrozenInstanceError` when frozen. The ledger's events and rows do the same with
classes of their own (ledger/frozen.py).
"""
from __future__ import annotations

from dataclasses import MISSING, FrozenInstanceError, dataclass, fields


def record(cls=None, *, frozen: bool = True):
    """Decorator: `cls` as a dataclass (frozen unless `frozen=False`), methods shared, not compiled.
    A method the class defines itself (`__repr__`, `__eq__` ...) is kept, as `@dataclass` keeps it."""

    def make(cls):
        undocumented = cls.__doc__ is None
        if undocumented:
            # `dataclass` documents a class without a docstring by its signature, read with
            # `inspect.signature`: for a class without its own `__init__` yet, that parses
            # object's text signature with `tokenize`, whose patterns take milliseconds to compile
            cls.__doc__ = cls.__name__
        cls = dataclass(cls, init=False, repr=False, eq=False)  # reads the fields; compiles nothing
        declared = fields(cls)
        if undocumented:  # what `dataclass` would have written
            cls.__doc__ = f"{cls.__name__}({', '.join(f'{f.name}: {_type_name(f.type)}' for f in declared)})"
        cls.__record_names__ = tuple(f.name for f in declared)
        cls.__record_fields__ = tuple((f.name, f.default, f.default_factory) for f in declared)
        cls.__record_required__ = frozenset(f.name for f in declared
                                            if f.default is MISSING and f.default_factory is MISSING)
        own = cls.__dict__
        shared = {"__init__": _init, "__repr__": _repr, "__eq__": _eq}
        if frozen:
            shared.update(__setattr__=_refuse_set, __delattr__=_refuse_delete)
        for name, method in shared.items():
            if name not in own:
                setattr(cls, name, method)
        if "__hash__" not in own or own["__hash__"] is None:
            # a frozen dataclass hashes by its field values; a mutable one is unhashable
            cls.__hash__ = _hash if frozen else None
        return cls

    return make if cls is None else make(cls)


def _type_name(annotation) -> str:
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))


def _init(self, *args, **kwargs):
    cls = type(self)
    if args:
        names = cls.__record_names__
        if len(args) > len(names):
            raise TypeError(f"{cls.__name__}() takes {len(names)} positional arguments but {len(args)} were given")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            kwargs[name] = value
    missing = cls.__record_required__ - kwargs.keys()
    if missing:
        raise TypeError(f"{cls.__name__}() missing required argument(s): "
                        f"{', '.join(n for n in cls.__record_names__ if n in missing)}")
    values = self.__dict__  # past the frozen __setattr__, as a frozen dataclass's __init__ goes past it
    for name, default, factory in cls.__record_fields__:
        if name in kwargs:
            values[name] = kwargs.pop(name)
        else:
            values[name] = default if factory is MISSING else factory()
    if kwargs:
        raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {next(iter(kwargs))!r}")
    post = getattr(cls, "__post_init__", None)
    if post is not None:
        post(self)


def _values(self) -> tuple:
    values = self.__dict__
    return tuple(values[name] for name in type(self).__record_names__)


def _repr(self) -> str:
    values = self.__dict__
    inner = ", ".join(f"{name}={values[name]!r}" for name in type(self).__record_names__)
    return f"{type(self).__qualname__}({inner})"


def _eq(self, other):
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self) -> int:
    return hash(_values(self))


def _refuse_set(self, name, value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delete(self, name):
    raise FrozenInstanceError(f"cannot delete field {name!r}")


__all__ = ["record"]
