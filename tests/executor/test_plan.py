"""Planning: order by data, and the errors reported before anything runs."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.executor.errors import CycleError, DuplicateProducerError, MissingProducerError, PlanError, UnknownParameterError
from canalis.executor.plan import PLAN_FORMAT, InputRef, InputSpec, Lit, OutputSpec, Param, Plan, StepSpec


def step(name, reads=(), writes=(), after=()):
    return StepSpec(name=name, kind="python", source_tree="0" * 64, script="s.py",
                    inputs=[InputSpec(name=r, source="output", output=r) for r in reads],
                    outputs=[OutputSpec(name=w) for w in writes], after=list(after))


def test_steps_are_ordered_by_their_data_whatever_the_listing_order():
    plan = Plan([step("evaluate", reads=["model", "data"]), step("train", reads=["data"], writes=["model"]),
                 step("prepare", writes=["data"])])
    assert [s.name for s in plan.order()] == ["prepare", "train", "evaluate"]
    assert plan.upstream() == {"evaluate": {"train", "prepare"}, "train": {"prepare"}, "prepare": set()}


def test_cycle_names_the_steps_in_it():
    plan = Plan([step("a", reads=["z"], writes=["x"]), step("b", reads=["x"], writes=["y"]),
                 step("c", reads=["y"], writes=["z"]), step("free", writes=["w"])])
    with pytest.raises(CycleError) as e:
        plan.order()
    assert all(f"'{n}'" in str(e.value) or n in str(e.value) for n in ("a", "b", "c"))
    assert "free" not in str(e.value)


def test_missing_and_duplicate_producers():
    with pytest.raises(MissingProducerError, match="step 'b' reads output 'x' which no step produces"):
        Plan([step("b", reads=["x"])]).order()
    with pytest.raises(DuplicateProducerError, match="'x' is produced by both step 'a' and step 'b'"):
        Plan([step("a", writes=["x"]), step("b", writes=["x"])]).order()


def test_run_after_orders_without_data():
    plan = Plan([step("second", after=["first"]), step("first")])
    assert [s.name for s in plan.order()] == ["first", "second"]
    with pytest.raises(MissingProducerError, match="absent"):
        Plan([step("x", after=["absent"])]).order()


def test_parameters_resolve_and_unknown_ones_are_refused():
    plan = Plan([step("a")], parameters={"alpha": 1, "beta": "b"})
    assert plan.resolve_parameters({"alpha": 2}) == {"alpha": 2, "beta": "b"}
    with pytest.raises(UnknownParameterError, match="'gamma'.*alpha, beta"):
        plan.resolve_parameters({"gamma": 3})


def test_plan_round_trips_through_its_dict():
    plan = Plan([step("a", writes=["x"]), step("b", reads=["x"], after=["a"])], parameters={"p": [1, 2]}, description="d")
    assert Plan.from_dict(plan.to_dict()) == plan


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=12), st.randoms(use_true_random=False))
def test_random_dags_order_every_producer_before_its_consumers(n, rnd):
    steps = []
    for i in range(n):
        reads = [f"o{j}" for j in range(i) if rnd.random() < 0.3]
        steps.append(step(f"s{i}", reads=reads, writes=[f"o{i}"]))
    rnd.shuffle(steps)
    order = [s.name for s in Plan(steps).order()]
    pos = {name: k for k, name in enumerate(order)}
    for s in steps:
        for r in s.inputs:
            assert pos["s" + r.output[1:]] < pos[s.name]


def test_plans_of_format_1_are_upcast_and_unknown_formats_refused():
    v1 = {"steps": [{"name": "a", "kind": "command", "source_tree": "0" * 64, "command": [{"lit": "echo"}, {"param": "w"}],
                     "arguments": [{"input": "x"}], "inputs": [{"name": "x", "source": "data", "tree": "1" * 64}],
                     "outputs": [], "hash_paths": [], "after": []}],
          "parameters": {"w": "hi"}, "description": None}
    plan = Plan.from_dict(v1)
    step = plan.steps[0]
    assert step.command == (Lit("echo"), Param("w")) and step.arguments == (InputRef("x"),) and step.params == ()
    assert plan.to_dict()["format"] == PLAN_FORMAT == 3
    assert Plan.from_dict(plan.to_dict()) == plan
    with pytest.raises(PlanError, match="format 99"):
        Plan.from_dict({**v1, "format": 99})


def test_plans_of_format_2_are_read_with_commands_run_without_a_shell():
    """Format 2 split string commands into words and ran them without a shell; format 3 adds `shell`."""
    v2 = {"format": 2, "steps": [{"name": "a", "kind": "command", "source_tree": "0" * 64,
                                  "command": [{"lit": "echo"}, {"lit": "a|b"}], "params": [["p", {"lit": "1"}]],
                                  "inputs": [], "outputs": [], "hash_paths": [], "after": []}],
          "parameters": {}, "description": None}
    (step,) = Plan.from_dict(v2).steps
    assert step.shell is False and step.command == (Lit("echo"), Lit("a|b")) and step.params == (("p", Lit("1")),)
    shell = StepSpec(name="s", kind="command", source_tree="0" * 64, command=[Lit("echo a | tr a b")], shell=True)
    doc = Plan(steps=[shell]).to_dict()
    assert doc["format"] == 3 and doc["steps"][0]["shell"] is True
    assert Plan.from_dict(doc).steps == [shell]


def test_arguments_are_typed_and_bad_ones_refused():
    s = StepSpec(name="a", kind="python", source_tree="0" * 64, arguments=[{"lit": "x"}, Param("p")],
                 params=[("n", {"param": "p"})])
    assert s.arguments == (Lit("x"), Param("p")) and s.used_parameters() == ["p"]
    with pytest.raises(PlanError, match="not a step argument"):
        StepSpec(name="a", kind="python", source_tree="0" * 64, arguments=[{"weird": 1}])


def _order_by_rounds(plan):
    """Plan.order as it was first written: rounds, each taking every step whose dependencies all
    came in earlier rounds, in plan order (quadratic in a chain); the reference for the test below."""
    names = [s.name for s in plan.steps]
    producers = plan.producers()
    deps = {s.name: set(s.after) | {producers[o] for o in s.consumed()} for s in plan.steps}
    ordered, done, pending = [], set(), list(names)
    while pending:
        ready = [n for n in pending if deps[n] <= done]
        if not ready:
            raise CycleError(f"steps {Plan._cycle(deps, pending)} depend on each other in a cycle; break the cycle")
        ordered += ready
        done |= set(ready)
        pending = [n for n in pending if n not in done]
    return ordered


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9).flatmap(lambda n: st.tuples(
    st.permutations(range(n)),
    st.lists(st.lists(st.integers(0, n - 1), max_size=3), min_size=n, max_size=n),
    st.lists(st.lists(st.integers(0, n - 1), max_size=2), min_size=n, max_size=n))))
def test_the_order_is_the_one_rounds_give_and_a_cycle_is_named_as_they_name_it(graph):
    """Any graph of data and `after` dependencies (cycles too), listed in any order: the same
    order as taking the steps in rounds, or the same error naming the same cycle."""
    listing, reads, after = graph
    steps = [step(f"s{i}", reads=[f"o{r}" for r in reads[i]], writes=[f"o{i}"], after=[f"s{a}" for a in after[i]])
             for i in listing]
    plan = Plan(steps)
    try:
        expected = _order_by_rounds(plan)
    except CycleError as e:
        with pytest.raises(CycleError) as found:
            plan.order()
        assert str(found.value) == str(e)
    else:
        assert [s.name for s in plan.order()] == expected
