"""The bound step and its reuse key: what is in it, what is not, and that what reaches the
process is in the key by construction."""
from __future__ import annotations

import json
from pathlib import Path

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.executor.bind import INTERPRETER, PARAMETER_ENV_PREFIX, BindError, InputPath, OutputPath, WorkLayout, bind
from canalis.executor.fingerprint import KEY_VERSION, KeyDocument
from canalis.executor.plan import InputRef, InputSpec, Lit, OutputRef, OutputSpec, Param, StepSpec

LAYOUT = WorkLayout(Path("/work/run/step"))


def base(**changes):
    fields = dict(name="train", kind="python", source_tree="a" * 64, script="train.py",
                  arguments=[Lit("--lr"), Param("lr"), InputRef("data"), OutputRef("model")],
                  inputs=[InputSpec(name="data", source="output", output="prepared")],
                  outputs=[OutputSpec(name="model")], environment={"digest": "e" * 64}, compute_target="local")
    fields.update(changes)
    return StepSpec(**fields)


TREES = {"data": "d" * 64}


def key(step, trees=TREES, params=None):
    return bind(step, params or {"lr": 0.1}, trees).key


def test_key_is_the_blake3_of_the_canonical_document():
    b = bind(base(), {"lr": 0.1}, TREES)
    assert b.key == blake3.blake3(b.document).hexdigest()
    assert b" " not in b.document and b.document.index(b'"argv"') < b.document.index(b'"script"')  # sorted, no spaces
    assert json.loads(b.document)["key_version"] == KEY_VERSION == 2


def test_the_bound_step_renders_the_argv_the_process_gets():
    b = bind(base(), {"lr": 0.1}, TREES)
    assert b.argv == (INTERPRETER, "train.py", "--lr", "0.1", InputPath("data"), OutputPath("model"))
    assert b.render(LAYOUT, "/usr/bin/python3") == [
        "/usr/bin/python3", "train.py", "--lr", "0.1", "/work/run/step/inputs/data", "/work/run/step/outputs/model"]


def test_each_part_of_the_key_changes_it():
    k = key(base())
    assert key(base(source_tree="b" * 64)) != k
    assert key(base(script="other.py")) != k
    assert key(base(), params={"lr": 0.2}) != k
    assert key(base(), trees={"data": "f" * 64}) != k
    assert key(base(environment={"digest": "f" * 64})) != k
    assert key(base(outputs=[OutputSpec(name="weights")], arguments=[Lit("--lr"), Param("lr"), InputRef("data"),
                                                                       OutputRef("weights")])) != k
    assert key(base(hash_paths=[["cfg.yml", "c" * 64]])) != k
    renamed = base(inputs=[InputSpec(name="rows", source="output", output="prepared")],
                   arguments=[Lit("--lr"), Param("lr"), InputRef("rows"), OutputRef("model")])
    assert key(renamed, trees={"rows": "d" * 64}) != k


def test_compute_target_step_name_and_source_folder_are_not_in_the_key():
    k = key(base())
    assert key(base(compute_target="gpu-cluster")) == k
    assert key(base(source_dir="/elsewhere")) == k
    assert key(base(name="renamed")) == k
    assert key(base(git={"commit": "abc"})) == k


def test_unused_parameters_do_not_enter_the_key():
    b = bind(base(), {"lr": 0.1, "unrelated": 5}, TREES)
    assert b.parameters == (("lr", "0.1"),)
    assert b.key == key(base())


def test_command_step_parameters_are_in_the_key():
    """A CommandStep whose command uses a parameter: each value has its own key."""
    step = base(kind="command", script=None, command=[Lit("echo"), Param("word")], arguments=[])
    a, b = bind(step, {"word": "a"}, TREES), bind(step, {"word": "b"}, TREES)
    assert a.render(LAYOUT, "py") == ["echo", "a"] and b.render(LAYOUT, "py") == ["echo", "b"]
    assert a.key != b.key


def test_params_reach_the_step_as_aml_parameter_variables_and_the_key():
    step = base(params=[("alpha", Param("lr")), ("mode", Lit("fast"))])
    a = bind(step, {"lr": 0.1}, TREES)
    assert a.environment() == {PARAMETER_ENV_PREFIX + "alpha": "0.1", PARAMETER_ENV_PREFIX + "mode": "fast"}
    assert bind(base(params=[("mode", Lit("slow"))]), {"lr": 0.1}, TREES).key != bind(
        base(params=[("mode", Lit("fast"))]), {"lr": 0.1}, TREES).key
    assert bind(step, {"lr": 0.2}, TREES).key != a.key


def test_a_shell_command_is_sh_c_with_its_data_folders_in_variables():
    step = base(kind="command", script=None, shell=True, arguments=[],
                command=[Lit("cat $AZUREML_DATAREFERENCE_data/* | wc -l > $AZUREML_DATAREFERENCE_model/n")])
    b = bind(step, {}, TREES)
    assert b.render(LAYOUT, "py") == ["/bin/sh", "-c", "cat $AZUREML_DATAREFERENCE_data/* | wc -l > $AZUREML_DATAREFERENCE_model/n"]
    assert b.environment(LAYOUT) == {"AZUREML_DATAREFERENCE_data": "/work/run/step/inputs/data",
                                     "AZUREML_DATAREFERENCE_model": "/work/run/step/outputs/model"}
    doc = json.loads(b.document)
    assert doc["argv"] == ["/bin/sh", "-c", step.command[0].value]
    assert doc["env"] == {"AZUREML_DATAREFERENCE_data": {"input": "data"}, "AZUREML_DATAREFERENCE_model": {"output": "model"}}
    with pytest.raises(BindError, match="layout"):
        b.environment()
    assert bind(base(kind="command", script=None, shell=True, arguments=[], command=[Lit("echo  a")]), {}, TREES).key != \
        bind(base(kind="command", script=None, shell=True, arguments=[], command=[Lit("echo a")]), {}, TREES).key
    with pytest.raises(BindError, match="one string"):
        bind(base(kind="command", script=None, shell=True, arguments=[], command=[Lit("echo"), Param("lr")]), {"lr": 1}, TREES)
    clash = base(kind="command", script=None, shell=True, arguments=[], command=[Lit("true")],
                 outputs=[OutputSpec(name="a-b"), OutputSpec(name="a_b")])
    with pytest.raises(BindError, match="'a-b' and 'a_b'"):
        bind(clash, {}, TREES)


def test_binding_refuses_what_it_cannot_fill():
    with pytest.raises(BindError, match="parameter 'lr'"):
        bind(base(), {}, TREES)
    with pytest.raises(BindError, match="input"):
        bind(base(), {"lr": 1}, {})
    with pytest.raises(BindError, match="data path"):
        bind(base(params=[("x", InputRef("data"))]), {"lr": 1}, TREES)


def test_key_documents_of_both_versions_read_into_one_type():
    new = KeyDocument.from_bytes(bind(base(), {"lr": 0.1}, TREES).document)
    assert new.version == 2 and new.input_trees == TREES and new.argv[2:4] == ("--lr", "0.1")
    old = KeyDocument.from_dict({
        "key_version": 1, "kind": "python", "script": "train.py", "command": None, "source_tree": "a" * 64,
        "hash_paths": {}, "arguments": [{"lit": "--lr"}, {"param": "lr", "value": 0.1}, {"input": "data"}],
        "parameters": {"lr": 0.1}, "inputs": [{"name": "data", "tree": "d" * 64, "mode": "download", "kind": "file",
                                               "options": {}}], "environment": "e" * 64, "outputs": ["model"]})
    assert old.version == 1 and old.argv[1:4] == ("train.py", "--lr", "0.1") and old.input_trees == TREES


# -- the property: what reaches the process is in the key ---------------------------------------

_text = st.text(alphabet="ab -=/", min_size=0, max_size=4)
_values = st.one_of(_text, st.integers(-3, 3), st.booleans(), st.floats(allow_nan=False, allow_infinity=False, width=16))
_NAMES = ("x", "y", "z")
_shell_text = st.sampled_from(["/bin/sh", "-c", "echo a | tr a b", "echo a|tr a b", "cat $AZUREML_DATAREFERENCE_i1"])


@st.composite
def steps(draw):
    """A random step over a fixed set of names, and random parameter values and input trees."""
    inputs = draw(st.lists(st.sampled_from(["i1", "i2", "i3"]), unique=True, max_size=3))
    outputs = draw(st.lists(st.sampled_from(["o1", "o2"]), unique=True, max_size=2))
    arg = st.one_of(
        _text.map(Lit), st.sampled_from(_NAMES).map(Param),
        *([st.sampled_from(inputs).map(InputRef)] if inputs else []),
        *([st.sampled_from(outputs).map(OutputRef)] if outputs else []),
    )
    kind = draw(st.sampled_from(["python", "command", "shell"]))
    value_arg = st.one_of(_text.map(Lit), st.sampled_from(_NAMES).map(Param))
    command = None
    if kind == "command":
        command = draw(st.lists(arg, min_size=1, max_size=3))
    elif kind == "shell":  # one string for /bin/sh -c; its data folders come as variables
        command = [Lit(draw(_shell_text))]
    spec = StepSpec(
        name="s", kind="python" if kind == "python" else "command", shell=kind == "shell",
        source_tree=draw(st.sampled_from(["a" * 64, "b" * 64])),
        script=draw(st.sampled_from(["one.py", "two.py"])) if kind == "python" else None,
        command=command,
        arguments=draw(st.lists(arg, max_size=4)) if kind != "shell" else [],
        params=draw(st.lists(st.tuples(st.sampled_from(["p", "q"]), value_arg), max_size=2, unique_by=lambda t: t[0])),
        inputs=[InputSpec(name=i, source="data", tree="0" * 64, mode=draw(st.sampled_from(["download", "mount"])))
                for i in inputs],
        outputs=[OutputSpec(name=o) for o in outputs],
        environment={"digest": draw(st.sampled_from(["e" * 64, "f" * 64])),
                     "definition": {"environment_variables": draw(st.dictionaries(st.sampled_from(["A", "B"]), _text,
                                                                                   max_size=2))}},
    )
    params = {n: draw(_values) for n in _NAMES}
    trees = {i: draw(st.sampled_from(["1" * 64, "2" * 64])) for i in inputs}
    return spec, params, trees


def _what_reaches_the_process(b):
    """Everything a process started for `b` receives: argv, its own environment, and the
    content, mode, kind and options of each input (its folders are where the layout puts them)."""
    return (b.render(LAYOUT, "/python"), b.environment(LAYOUT),
            sorted((i.name, i.tree, i.mode, i.kind, json.dumps(i.options, sort_keys=True)) for i in b.inputs),
            sorted(o.name for o in b.spec.outputs), b.spec.source_tree, b.spec.environment.get("digest"),
            tuple(map(tuple, b.spec.hash_paths)))


@settings(max_examples=400, deadline=None)
@given(one=steps(), two=steps())
def test_bindings_get_the_same_key_exactly_when_the_process_gets_the_same_things(one, two):
    a, b = bind(*one), bind(*two)
    same_process = _what_reaches_the_process(a) == _what_reaches_the_process(b)
    assert (a.key == b.key) == same_process, (a.document, b.document)


@settings(max_examples=200, deadline=None)
@given(one=steps())
def test_binding_twice_gives_the_same_key(one):
    assert bind(*one).key == bind(*one).key
