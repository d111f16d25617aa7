"""`CommandStep(command="...")` runs through the shell, as SDK v1 ran it; a list runs without
one. The shell string is in the reuse key, and the step finds its data folders in
`$AZUREML_DATAREFERENCE_<name>` variables."""
from __future__ import annotations

import json

import pytest

from canalis.core import Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.exceptions import PipelineValidationError, UserErrorException
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.core.run import reproduce_run
from canalis.pipeline.steps import CommandStep
from tests.canalis.conftest import statuses

SHOUT = "echo a b | tr a-z A-Z > $AZUREML_DATAREFERENCE_shout/said.txt"


def _run(ws, *steps, **kw):
    run = Experiment(ws, "cmd").submit(Pipeline(ws, list(steps)), **kw)
    run.wait_for_completion(raise_on_error=True)
    return run


def _file(ws, run, step, output, name):
    tree = run.find_step_run(step)[0].get_outputs()[output].tree
    entry = next(e for e in ws.store.get_tree(tree) if e.path == name)
    return ws.store.get_bytes(entry.digest).decode()


def _key_document(ws, run, step) -> dict:
    (row,) = [r for r in ws.ledger.step_runs(run.id) if r.step_name == step]
    return json.loads(ws.store.get_bytes(row.reuse_key))


def _shout(src, command=SHOUT, name="shout"):
    out = OutputFileDatasetConfig(name="shout")
    return CommandStep(name=name, command=command, outputs=[out], source_directory=str(src)), out


def test_a_string_runs_through_the_shell_with_a_pipe_into_its_output(ws, src):
    step, _ = _shout(src)
    run = _run(ws, step)
    assert _file(ws, run, "shout", "shout", "said.txt") == "A B\n"
    doc = _key_document(ws, run, "shout")
    assert doc["argv"] == ["/bin/sh", "-c", SHOUT]
    assert doc["env"] == {"AZUREML_DATAREFERENCE_shout": {"output": "shout"}}
    submitted = next(iter(ws.ledger.events(stream=f"run:{run.id}", type="run.submitted"))).payload
    (spec,) = submitted["plan"]["steps"]
    assert spec["shell"] is True and spec["command"] == [{"lit": SHOUT}] and submitted["plan"]["format"] == 3


def test_the_key_changes_with_the_string_and_stays_with_it(ws, src):
    first = _run(ws, _shout(src)[0])
    assert statuses(_run(ws, _shout(src)[0])) == {"shout": "Reused"}
    other = _run(ws, _shout(src, SHOUT.replace("a b", "a  b"))[0])  # one more space: another command
    assert statuses(other) == {"shout": "Completed"}
    assert _key_document(ws, first, "shout")["argv"] != _key_document(ws, other, "shout")["argv"]
    assert _file(ws, other, "shout", "shout", "said.txt") == "A B\n"


def test_inputs_are_named_by_variables_and_reproduce_runs_the_same_shell_command(ws, src):
    shout, out = _shout(src)
    back = OutputFileDatasetConfig(name="back")
    reverse = CommandStep(name="reverse", command="tr A-Z a-z < $AZUREML_DATAREFERENCE_loud/said.txt > ${AZUREML_DATAREFERENCE_back}/x",
                          inputs=[out.as_input(name="loud")], outputs=[back], source_directory=str(src))
    run = _run(ws, shout, reverse)
    assert _file(ws, run, "reverse", "back", "x") == "a b\n"
    assert _key_document(ws, run, "reverse")["env"] == {"AZUREML_DATAREFERENCE_back": {"output": "back"},
                                                         "AZUREML_DATAREFERENCE_loud": {"input": "loud"}}
    again = reproduce_run(ws, run.id)
    again.wait_for_completion(raise_on_error=True)
    assert _file(ws, again, "reverse", "back", "x") == "a b\n"


def test_params_reach_a_shell_command_and_its_key(ws, src):
    def step(value):
        out = OutputFileDatasetConfig(name="said")
        return CommandStep(name="say", command="printf %s-%s $AML_PARAMETER_word $AML_PARAMETER_n "
                                               "> $AZUREML_DATAREFERENCE_said/w",
                           outputs=[out], params={"word": PipelineParameter("word", value), "n": 3},
                           source_directory=str(src))

    hi = _run(ws, step("hi"))
    assert _file(ws, hi, "say", "said", "w") == "hi-3"
    assert statuses(_run(ws, step("hi"))) == {"say": "Reused"}
    ho = _run(ws, step("ho"))
    assert statuses(ho) == {"say": "Completed"} and _file(ws, ho, "say", "said", "w") == "ho-3"


def test_a_list_runs_without_a_shell(ws, src):
    out = OutputFileDatasetConfig(name="o")
    step = CommandStep(command=["echo", "a", "|", "tr", "$HOME", out], outputs=[out], source_directory=str(src))
    assert step.name == "echo"
    run = _run(ws, step)
    stdout = run.find_step_run("echo")[0].get_stdout_log()
    assert stdout.startswith("a | tr $HOME /") and stdout.rstrip().endswith("/outputs/o")


def test_a_data_object_formatted_into_the_string_is_refused_with_what_to_write(src):
    out = OutputFileDatasetConfig(name="shout")
    with pytest.raises(UserErrorException, match=r"\$AZUREML_DATAREFERENCE_<name>") as e:
        CommandStep(name="bad", command=f"echo a > {out}/x", outputs=[out], source_directory=str(src))
    assert "OutputFileDatasetConfig(" in str(e.value) and "as a list" in str(e.value)
    with pytest.raises(UserErrorException, match="params="):
        CommandStep(command=f"echo {PipelineParameter('p', 1)}", source_directory=str(src))
    with pytest.raises(UserErrorException, match="needs a command"):
        CommandStep(command="   ", source_directory=str(src))


def test_a_variable_naming_no_data_of_the_step_is_refused_before_anything_runs(ws, src):
    step, _ = _shout(src, "echo hi > $AZUREML_DATAREFERENCE_shuot/x")
    with pytest.raises(PipelineValidationError, match=r"\$AZUREML_DATAREFERENCE_shuot.*'shuot'.*\$AZUREML_DATAREFERENCE_shout"):
        Experiment(ws, "cmd").submit(Pipeline(ws, [step]))
    assert ws.ledger.runs() == []


def test_two_data_names_that_make_one_variable_are_refused(ws, src):
    a, b = OutputFileDatasetConfig(name="a-b"), OutputFileDatasetConfig(name="a_b")
    step = CommandStep(name="two", command="touch $AZUREML_DATAREFERENCE_a_b/x", outputs=[a, b], source_directory=str(src))
    with pytest.raises(PipelineValidationError, match="'a-b' and 'a_b'.*rename one"):
        Experiment(ws, "cmd").submit(Pipeline(ws, [step]))


def test_a_credential_inside_the_shell_string_is_refused(ws, src):
    step = CommandStep(name="leak", command="curl --password=hunter2 http://localhost/", source_directory=str(src))
    with pytest.raises(PipelineValidationError, match="'--password' of step 'leak' passes a credential"):
        Experiment(ws, "cmd").submit(Pipeline(ws, [step]))
