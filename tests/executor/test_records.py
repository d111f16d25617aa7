"""Record classes (executor/records.py) behave as the frozen dataclasses they replace: the same
construction, defaults, repr, equality, hashing, `replace`, `asdict` and refusals."""
from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass, field

import pytest
from hypothesis import given, strategies as st

from canalis.executor import records
from canalis.executor.records import record


@record
class Rec:
    name: str
    count: int = 0
    tags: tuple = ()
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Twin:
    name: str
    count: int = 0
    tags: tuple = ()
    options: dict = field(default_factory=dict)


@record
class Pair:
    name: str
    count: int = 0


@dataclass(frozen=True)
class PairTwin:
    name: str
    count: int = 0


@record(frozen=False)
class Mutable:
    items: list
    note: str | None = None


@dataclass
class MutableTwin:
    items: list
    note: str | None = None


@record
class Checked:
    values: tuple

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(self.values))


def _as_twin(r: Rec) -> Twin:
    return Twin(**dataclasses.asdict(r))


names = st.text(max_size=8)
counts = st.integers(-5, 5)
tags = st.tuples(st.integers(0, 3)) | st.just(())
options = st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2)


@given(names, counts, tags, options, names, counts)
def test_a_record_is_its_dataclass_twin(name, count, tag, opts, other_name, other_count):
    kinds = [(Rec(name, count, tag, opts), Twin(name, count, tag, opts)),
             (Rec(name=name), Twin(name=name)),
             (Rec(name, count=count), Twin(name, count=count))]
    for rec, twin in kinds:
        assert repr(rec) == repr(twin).replace("Twin(", "Rec(", 1)
        assert dataclasses.asdict(rec) == dataclasses.asdict(twin)
        assert dataclasses.astuple(rec) == dataclasses.astuple(twin)
        assert [f.name for f in dataclasses.fields(rec)] == [f.name for f in dataclasses.fields(twin)]
        assert dataclasses.is_dataclass(rec)
        changed = dataclasses.replace(rec, name=other_name, count=other_count)
        assert _as_twin(changed) == dataclasses.replace(twin, name=other_name, count=other_count)
        assert changed == Rec(other_name, other_count, rec.tags, rec.options)
    a, b = Rec(name, count, tag), Rec(other_name, other_count, tag)
    assert (a == b) == (Twin(name, count, tag) == Twin(other_name, other_count, tag))
    assert a == Rec(name, count, tag) and a != _as_twin(a)  # another class is never equal
    with pytest.raises(TypeError):  # a dict field: unhashable, as the dataclass is
        hash(a)
    p, q = Pair(name, count), Pair(other_name, other_count)
    assert hash(p) == hash(Pair(name, count)) == hash(PairTwin(name, count))  # by field values
    assert (p == q) == (PairTwin(name, count) == PairTwin(other_name, other_count))
    assert len({p, q, Pair(name, count)}) == len({PairTwin(name, count), PairTwin(other_name, other_count)})


@given(names, counts, tags, options, st.integers(0, 4), st.permutations(range(4)), st.data())
def test_a_record_made_any_way_holds_what_its_dataclass_twin_holds(name, count, tag, opts, by_position, order, data):
    """Every split of the fields between positions and keywords, keywords in any order, some
    left to their defaults: the same values, in the same order in the instance's `__dict__`,
    as the dataclass twin's (records given every field take a shorter way there)."""
    values = [name, count, tag, opts]
    fields = ["name", "count", "tags", "options"]
    given_ = data.draw(st.sets(st.integers(0, 3))) | set(range(by_position)) | {0}
    args = values[:by_position]
    kwargs = {fields[i]: values[i] for i in order if i >= by_position and i in given_}
    rec, twin = Rec(*args, **kwargs), Twin(*args, **kwargs)
    assert list(vars(rec).items()) == list(vars(twin).items())
    assert rec == Rec(**{f: getattr(twin, f) for f in fields})


def test_a_default_factory_gives_each_record_its_own_value():
    a, b = Rec("a"), Rec("b")
    a.options["x"] = 1
    assert b.options == {} and Rec("c").options == {}


def test_a_frozen_record_refuses_assignment_and_deletion():
    r = Rec("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.name = "b"
    with pytest.raises(dataclasses.FrozenInstanceError):
        del r.count
    assert r.name == "a" and r.count == 0


def test_a_mutable_record_is_assignable_and_unhashable_as_its_dataclass():
    m, twin = Mutable([1]), MutableTwin([1])
    m.note = "n"
    twin.note = "n"
    assert repr(m) == repr(twin).replace("MutableTwin(", "Mutable(", 1)
    assert m == Mutable([1], "n")
    with pytest.raises(TypeError):
        hash(m)
    with pytest.raises(TypeError):
        hash(twin)


def test_post_init_runs_after_the_fields_are_set():
    assert Checked([1, 2]).values == (1, 2)
    assert dataclasses.replace(Checked((1,)), values=[3]).values == (3,)


@pytest.mark.parametrize("make, words", [
    (lambda: Rec(), "missing required argument(s): name"),
    (lambda: Rec("a", 1, (), {}, 5), "takes 4 positional arguments but 5 were given"),
    (lambda: Rec("a", name="b"), "multiple values for argument 'name'"),
    (lambda: Rec("a", colour=1), "unexpected keyword argument 'colour'"),
])
def test_wrong_arguments_are_refused_as_a_dataclass_refuses_them(make, words):
    with pytest.raises(TypeError, match=words.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_the_plan_and_binding_classes_compile_no_methods():
    """The classes a submit imports are records: no generated `__init__` per class."""
    from canalis import layout, permissions
    from canalis.core import sdk_config
    from canalis.executor import bind, fingerprint, plan, session

    classes = [plan.Lit, plan.Param, plan.InputRef, plan.OutputRef, plan.InputSpec, plan.OutputSpec, plan.StepSpec,
               plan.Plan, bind.BoundStep, bind.BoundInput, bind.WorkLayout, fingerprint.KeyDocument,
               layout.Layout, permissions.Policy, session.SubmitOptions, sdk_config.SdkConfig]
    assert {c.__name__ for c in classes if c.__init__.__qualname__ != "_init"} == set()
    assert all(dataclasses.is_dataclass(c) for c in classes)


def test_declaring_records_parses_no_signature_text(tmp_path):
    """A record class without a docstring is documented by its fields without `inspect` reading
    object's text signature through `tokenize`, whose patterns take milliseconds to compile
    (checked in a fresh interpreter: tokenize's compiled patterns are cached per process)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import tokenize
        if not hasattr(tokenize, "_compile") or not hasattr(tokenize._compile, "cache_info"):
            print("unknown")
            raise SystemExit
        from canalis.executor.records import record

        @record
        class Undocumented:
            name: str
            count: int = 0

        import canalis.executor.plan, canalis.executor.bind, canalis.executor.fingerprint
        print(tokenize._compile.cache_info().currsize, Undocumented.__doc__)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split(None, 1)
    if out[0] == "unknown":
        pytest.skip("this Python's tokenize keeps no cache of compiled patterns to look at")
    assert out == ["0", "Undocumented(name: str, count: int)\n"]


# -- records without dataclasses: their own field(), as_dict and replace -------------------------
@record
class Own:
    """Declared with records.field, not dataclasses.field."""

    name: str
    inner: Rec | None = None
    items: list = records.field(default_factory=list)
    pairs: dict = records.field(default_factory=dict)


@dataclass(frozen=True)
class OwnTwin:
    name: str
    inner: Twin | None = None
    items: list = field(default_factory=list)
    pairs: dict = field(default_factory=dict)


values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=4),
                      lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=8)


@given(names, st.lists(values, max_size=3), st.dictionaries(st.text(max_size=3), values, max_size=3),
       st.none() | st.builds(Rec, names, counts, tags, options))
def test_as_dict_and_replace_are_dataclasses(name, items, pairs, inner):
    own = Own(name, inner, items, pairs)
    twin = OwnTwin(name, None if inner is None else _as_twin(inner), items, pairs)
    assert records.as_dict(own) == dataclasses.asdict(own) == dataclasses.asdict(twin)
    copied = records.as_dict(own)
    assert copied["items"] is not own.items or not items  # a copy, as asdict's
    assert records.replace(own, name="x", items=[1]) == dataclasses.replace(own, name="x", items=[1])
    assert records.replace(own) == own
    assert records.replace(Checked((1,)), values=[3]).values == (3,)  # __post_init__ runs again
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        records.replace(own, colour=1)
    assert [f.name for f in dataclasses.fields(Own)] == ["name", "inner", "items", "pairs"]
    assert Own("a").items == [] and Own("a").items is not Own("a").items


def test_records_are_declared_without_loading_dataclasses():
    """Declaring records (the executor's, the ledger's events and rows, the store's values)
    loads no `dataclasses`, nor the `inspect` it imports; asking `dataclasses` about a record
    then works as for a dataclass (checked in a fresh interpreter)."""
    import subprocess
    import sys

    script = textwrap.dedent("""
        import sys
        import canalis.executor.plan, canalis.executor.bind, canalis.executor.session, canalis.layout
        import canalis.ledger.events, canalis.ledger.rows, canalis.ledger.log, canalis.store.local
        import canalis.store.snapshot, canalis.step_states
        from canalis.executor.plan import InputSpec, Plan, StepSpec
        spec = InputSpec(name="i", source="data", tree="t" * 64)
        plan = Plan([StepSpec(name="s", kind="python", source_tree="t" * 64, script="a.py", inputs=[spec])])
        plan.steps[0].to_dict()
        print(sorted(m for m in ("dataclasses", "inspect", "ast", "dis", "tokenize") if m in sys.modules))
        import dataclasses
        print(dataclasses.is_dataclass(spec), dataclasses.asdict(spec) == canalis.executor.records.as_dict(spec),
              dataclasses.replace(spec, name="j").name)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[:2] == ["[]", "True True j"]
