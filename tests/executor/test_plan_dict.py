"""A plan's inputs and outputs as dicts (what `run.submitted` records): the same as
`dataclasses.asdict` gives, sharing no container with the plan."""
from __future__ import annotations

from dataclasses import asdict

from hypothesis import given, settings, strategies as st

from canalis.executor.plan import InputSpec, OutputSpec, StepSpec
from canalis.executor.records import as_dict

TEXT = st.text(max_size=6)
JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
                    lambda inner: st.one_of(st.lists(inner, max_size=3), st.tuples(inner, inner),
                                            st.dictionaries(TEXT, inner, max_size=3)), max_leaves=8)
DICT = st.dictionaries(TEXT, JSON, max_size=3)
INPUTS = st.builds(InputSpec, name=TEXT, source=st.sampled_from(["data", "output"]), output=st.none() | TEXT,
                   tree=st.none() | TEXT, options=DICT, dataset=st.none() | DICT, origin=st.none() | DICT)
OUTPUTS = st.builds(OutputSpec, name=TEXT, destination=st.none() | DICT, register=st.none() | DICT,
                    pipeline_output_name=st.none() | TEXT, options=DICT, folder=st.booleans())


def _containers(value, out):
    if isinstance(value, (dict, list)):
        out.append(id(value))
        for v in (value.values() if isinstance(value, dict) else value):
            _containers(v, out)
    elif isinstance(value, tuple):
        for v in value:
            _containers(v, out)
    return out


@settings(max_examples=80, deadline=None)
@given(spec=st.one_of(INPUTS, OUTPUTS))
def test_a_spec_as_a_dict_is_asdict_and_shares_no_container(spec):
    got = as_dict(spec)
    assert got == asdict(spec)
    assert list(got) == list(asdict(spec))
    assert not set(_containers(got, [])) & set(_containers(dict(vars(spec)), []))


def test_a_step_records_its_inputs_and_outputs_as_asdict_does():
    step = StepSpec(name="s", kind="python", source_tree="t" * 64, script="a.py",
                    inputs=[InputSpec(name="i", source="data", tree="d" * 64, options={"file": "x"})],
                    outputs=[OutputSpec(name="o", destination={"datastore": "ds", "path": "p/{run-id}"})])
    d = step.to_dict()
    assert d["inputs"] == [asdict(i) for i in step.inputs] and d["outputs"] == [asdict(o) for o in step.outputs]
