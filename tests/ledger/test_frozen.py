"""The event and row classes are frozen records built without generated code (ledger/frozen.py):
they keep a frozen dataclass's behaviour."""
from __future__ import annotations

import dataclasses
import pickle
from dataclasses import field
from typing import ClassVar

import pytest

from canalis.ledger import events as ev
from canalis.ledger.errors import EventValidationError
from canalis.ledger.frozen import MISSING, Frozen, fields, seal
from canalis.ledger.rows import StepRunRow
from canalis.ledger.status import StepStatus


class _Base(Frozen):
    kind: ClassVar[str] = "base"
    a: int
    b: str = "x"


class _Thing(_Base):
    b: str = "y"  # redeclared: keeps its place, takes the new default
    c: list = field(default_factory=list)


seal(_Thing)
_Point = seal(type("_Point", (Frozen,), {"__annotations__": {"x": "int", "y": "int"}, "y": 0}), kw_only=False)


def test_fields_in_declaration_order_with_defaults_and_factories():
    assert [(f.name, f.default) for f in fields(_Thing)] == [("a", MISSING), ("b", "y"),
                                                              ("c", MISSING)]
    t, u = _Thing(a=1), _Thing(a=1)
    assert (t.a, t.b, t.c) == (1, "y", []) and t.c is not u.c  # a fresh list per instance
    assert not isinstance(_Thing.__dict__.get("c"), dataclasses.Field)


def test_frozen_equality_hash_and_repr_by_value():
    t = _Thing(a=1, c=[2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.a = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        del t.b
    assert t == _Thing(a=1, c=[2]) and t != _Thing(a=2, c=[2]) and t != _Base.__new__(_Base)
    assert repr(t) == "_Thing(a=1, b='y', c=[2])"
    assert hash(ev.RunStarted(run_id="r")) == hash(ev.RunStarted(run_id="r"))


def test_missing_unexpected_and_positional_arguments_are_refused_as_a_dataclass_would():
    with pytest.raises(TypeError, match="missing required argument 'a'"):
        _Thing()
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        _Thing(a=1, z=2)
    with pytest.raises(TypeError, match="keyword arguments only"):
        _Thing(1)
    assert _Point(1, 2) == _Point(x=1, y=2) and _Point(3).y == 0
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        _Point(1, x=2)
    with pytest.raises(TypeError, match="at most 2 positional"):
        _Point(1, 2, 3)


def test_events_check_fields_and_keep_their_defaults():
    e = ev.StepStarted(run_id="r", step_run_id="s", step_name="a", reuse_key="k")
    assert e.inputs == [] and e.attempt == 1 and e.stream == "run:r"
    with pytest.raises(EventValidationError, match="field 'pid' must be an int"):
        ev.StepStarted(run_id="r", step_run_id="s", step_name="a", reuse_key="k", pid="1")
    d = ev.DatasetRegistered(name="iris", version=3, id="d", digest="t")
    assert d.version == 3 and type(d).event_version == 2  # the field shadows the class's version
    assert pickle.loads(pickle.dumps(e)) == e


def test_rows_take_positional_or_keyword_columns_and_read_enums():
    names = [f.name for f in fields(StepRunRow)]
    values = dict.fromkeys(names)
    values.update(step_run_id="s", run_id="r", step_name="a", status="Reused", plan_order=1, last_seq=2)
    row = StepRunRow(**values)
    assert row.status is StepStatus.Reused and row == StepRunRow(*[values[n] for n in names])
    assert StepRunRow.from_columns(dict(values)) == row


def test_every_event_type_s_field_checks_are_made_on_first_use():
    """An event type's field checks are made when its first event is built (not when the
    catalogue is imported): each type's can be made, and the first event of a type, in a
    fresh interpreter, is checked as every later one."""
    import subprocess
    import sys

    for cls in ev.REGISTRY.values():
        cls._make_checks()
        assert isinstance(cls._str_fields, tuple) and isinstance(cls._checks, tuple)
        assert set(cls._str_fields) | {n for n, _ in cls._checks} == set(cls._names)
    code = ("from canalis.ledger import events as ev\n"
            "from canalis.ledger.errors import EventValidationError\n"
            "assert ev.RunCompleted._checks is None\n"
            "try:\n    ev.RunCompleted(run_id='r', duration_s='slow')\nexcept EventValidationError as e:\n    print(e)\n"
            "try:\n    ev.RunStarted(run_id=3)\nexcept EventValidationError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == 2 and "'duration_s'" in out[0] and "'run_id'" in out[1]


def test_annotations_read_without_eval_are_what_eval_reads():
    """The catalogue's plain annotations ("str", "dict | None" ...) are read without compiling
    them: each is the very type `eval` gives, and every other text is left to `eval`."""
    texts = {f.type for cls in ev.REGISTRY.values() for f in fields(cls) if isinstance(f.type, str)}
    texts |= {"list | None", "float | None", "bool | None", "Literal['a']", "dict[str, str] | None", "str|None",
              "list[str]", "list[dict] | None", "dict[str, JSON]", "dict[str]", "list[str, str]", "tuple[str]",
              "dict[str, list[str]]", "JSON | None", "Any",
              "Literal['a', 'b'] | None", "Literal['a,b']", "Literal['it\\'s']", "Literal[\"a\"]", "Literal['a', 1]"}
    read = 0
    for text in sorted(texts):
        plain = ev._plain(text)
        if plain is not None:
            read += 1
            evaluated = eval(text, vars(ev))  # noqa: S307 - the catalogue's own annotation texts
            assert plain == evaluated and type(plain) is type(evaluated)
    assert read >= 6


def test_a_positional_record_refuses_a_required_field_after_a_defaulted_one():
    ok = seal(type("_Ok", (Frozen,), {"__annotations__": {"a": "int", "b": "int", "c": "int"}, "b": 1, "c": 2}),
              kw_only=False)
    assert ok(0) == ok(a=0, b=1, c=2)
    with pytest.raises(TypeError, match="non-default argument 'c' follows default argument"):
        seal(type("_Bad", (Frozen,), {"__annotations__": {"a": "int", "b": "int", "c": "int", "d": "int"}, "b": 1}),
             kw_only=False)
    seal(type("_Kw", (Frozen,), {"__annotations__": {"a": "int", "b": "int", "c": "int"}, "b": 1}))  # by keyword: fine
