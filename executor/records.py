"""Record classes for the plan, the binding and the step records, without generated code.

`@dataclass(frozen=True)` writes an `__init__`, `__repr__`, `__eq__`, `__hash__`,
`__setattr__` and `__delattr__` for every class and compiles each with `exec`: about a
millisecond a class, and the executor declares some twenty that every `canalis submit`
imports. `record` makes the same class without compiling anything: one shared `__init__`,
`__repr__`, `__eq__` and `__hash__` (and, frozen, one pair of refusing setters) written once
here serve every class. The behaviour is a dataclass's: arguments by position or keyword in
field order, defaults and `field(default_factory=...)`, `__post_init__` after assignment,
equality and hashing by field values of the same class, assignment refused with
`dataclasses.FrozenInstanceError` when frozen. The ledger's events and rows do the same with
classes of their own (ledger/frozen.py).

Nor does declaring a record import `dataclasses` (its import loads `inspect`, `ast`, `dis`
and `tokenize`: milliseconds of every `canalis submit`): the fields are read here, as
`dataclass` reads them, a default factory is declared with `field` (ledger/frozen.py's;
`dataclasses.field` is read as well), and what makes the class a dataclass for
`dataclasses.fields`, `replace`, `asdict` and `is_dataclass` (`__dataclass_fields__`) is made
by `dataclasses` when one of them first asks. `as_dict` and `replace` here do what
`dataclasses.asdict` and `dataclasses.replace` do, without it.
"""
from __future__ import annotations

import typing

from canalis.ledger.frozen import MISSING, declared_default, field, frozen_error


def record(cls=None, *, frozen: bool = True):
    """Decorator: `cls` as a dataclass (frozen unless `frozen=False`), methods shared, not compiled.
    A method the class defines itself (`__repr__`, `__eq__` ...) is kept, as `@dataclass` keeps it."""

    def make(cls):
        declared = _declared_fields(cls)
        if cls.__doc__ is None:  # what `dataclass` would have written
            cls.__doc__ = f"{cls.__name__}({', '.join(f'{name}: {_type_name(t)}' for name, t, _, _ in declared)})"
        cls.__record_types__ = tuple((name, t) for name, t, _, _ in declared)
        cls.__record_names__ = tuple(name for name, _, _, _ in declared)
        cls.__record_name_set__ = frozenset(cls.__record_names__)
        cls.__record_fields__ = tuple((name, default, factory) for name, _, default, factory in declared)
        cls.__record_required__ = frozenset(name for name, _, default, factory in declared
                                            if default is MISSING and factory is MISSING)
        cls.__record_frozen__ = frozen
        cls.__match_args__ = cls.__record_names__
        cls.__dataclass_fields__ = _Dataclass("__dataclass_fields__")  # made by dataclasses on first use
        cls.__dataclass_params__ = _Dataclass("__dataclass_params__")
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


def _declared_fields(cls) -> list:
    """(name, type, default, default factory) of each field, as `dataclass` finds them: those of
    the record classes among its bases (the furthest first), then the class's own annotations
    in order (ClassVars left out); a redeclared field keeps its place. A `field(...)` default is
    read and removed from the class (its plain default left as the class attribute)."""
    found: dict[str, tuple] = {}
    for base in reversed(cls.__mro__[1:]):
        if "__record_fields__" in base.__dict__:
            types = dict(base.__dict__["__record_types__"])
            for name, default, factory in base.__dict__["__record_fields__"]:
                found[name] = (name, types[name], default, factory)
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
        if text.startswith(("ClassVar", "typing.ClassVar")) or typing.get_origin(annotation) is typing.ClassVar:
            continue
        value = cls.__dict__.get(name, MISSING)
        declared = declared_default(value)
        if declared is None:
            found[name] = (name, annotation, value, MISSING)
            continue
        default, factory = declared
        found[name] = (name, annotation, default, factory)
        if default is MISSING:
            delattr(cls, name)
        else:
            setattr(cls, name, default)
    return list(found.values())


class _Dataclass:
    """`__dataclass_fields__` (or `__dataclass_params__`) of a record class, made when something
    first reads it (`dataclasses.fields`, `replace`, `asdict`, `is_dataclass`): `dataclasses`
    builds them from the record's fields (`make_dataclass`, of a class of the same fields), and
    they are then kept on the class."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, instance, owner):
        import dataclasses

        spec = [(name, t, dataclasses.field(**({} if default is MISSING else {"default": default}),
                                             **({} if factory is MISSING else {"default_factory": factory})))
                for (name, t), (_, default, factory) in zip(owner.__record_types__, owner.__record_fields__)]
        made = dataclasses.make_dataclass(owner.__name__, spec, init=False, repr=False, eq=False,
                                          frozen=owner.__record_frozen__)
        type.__setattr__(owner, "__dataclass_fields__", made.__dataclass_fields__)
        type.__setattr__(owner, "__dataclass_params__", made.__dataclass_params__)
        return owner.__dict__[self.name]


def as_dict(obj):
    """`dataclasses.asdict(obj)` for records: a dict of the field values, records, lists,
    tuples and dicts inside converted in turn, other values deep-copied (JSON's scalars are
    their own copies)."""
    return _as_dict(obj)


_ATOMS = (str, int, float, bool, type(None), bytes)


def _as_dict(obj):
    cls = type(obj)
    if cls in _ATOMS:
        return obj
    names = getattr(cls, "__record_names__", None)
    if names is not None and not isinstance(obj, type):
        values = obj.__dict__
        return {name: _as_dict(values[name]) for name in names}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a named tuple
        return cls(*[_as_dict(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return cls(_as_dict(v) for v in obj)
    if isinstance(obj, dict):
        if hasattr(cls, "default_factory"):  # a defaultdict
            out = cls(obj.default_factory)
            for k, v in obj.items():
                out[_as_dict(k)] = _as_dict(v)
            return out
        return cls((_as_dict(k), _as_dict(v)) for k, v in obj.items())
    if hasattr(cls, "__dataclass_fields__") and not isinstance(obj, type):  # a dataclass of another kind
        import dataclasses

        return dataclasses.asdict(obj)
    import copy

    return copy.deepcopy(obj)


def replace(obj, /, **changes):
    """`dataclasses.replace(obj, **changes)` for records: a new record of the same class with
    those fields changed (`__post_init__` runs again, as it does there)."""
    cls = type(obj)
    unknown = changes.keys() - set(cls.__record_names__)
    if unknown:
        raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    values = obj.__dict__
    return cls(**{name: changes[name] if name in changes else values[name] for name in cls.__record_names__})


def _type_name(annotation) -> str:
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))


def _init(self, *args, **kwargs):
    cls = type(self)
    names = cls.__record_names__
    # every field given, all by position or all by keyword (most records a submit makes): nothing
    # to default, to refuse or to reorder beyond the fields' order; the general case below does the rest
    if not kwargs and len(args) == len(names):
        self.__dict__.update(zip(names, args))
    elif not args and len(kwargs) == len(names) and kwargs.keys() == cls.__record_name_set__:
        self.__dict__.update([(name, kwargs[name]) for name in names])
    else:
        _init_checked(self, cls, names, args, kwargs)
    post = getattr(cls, "__post_init__", None)
    if post is not None:
        post(self)


def _init_checked(self, cls, names, args, kwargs) -> None:
    """`_init` for arguments that leave fields to their defaults, mix positions and keywords,
    or are wrong (raising as a dataclass's `__init__` does)."""
    if args:
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
    raise frozen_error(f"cannot assign to field {name!r}")


def _refuse_delete(self, name):
    raise frozen_error(f"cannot delete field {name!r}")


__all__ = ["as_dict", "field", "record", "replace"]
