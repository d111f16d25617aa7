"""Failing steps and plans that cannot run."""
from __future__ import annotations

import pytest

from canalis.core import Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.exceptions import ActivityFailedException, PipelineValidationError
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, statuses

OK = """
import sys
for p in sys.argv[1:]:
    if p.startswith("/"):
        import os; os.makedirs(p, exist_ok=True); open(os.path.join(p, "x"), "w").write("x")
"""
BOOM = """
import sys
print("about to fail")
print("ValueError: the answer is not 42", file=sys.stderr)
sys.exit(3)
"""


def test_a_failing_step_fails_the_run_with_stderr_and_dependants_not_started(ws, src, counter, capsys):
    script(src, "ok.py", OK)
    script(src, "boom.py", BOOM)
    a, b = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
    pipeline = Pipeline(ws, [
        PythonScriptStep(name="first", script_name="boom.py", source_directory=str(src), arguments=[a]),
        PythonScriptStep(name="second", script_name="ok.py", source_directory=str(src), arguments=[a.as_input(), b]),
    ])
    run = Experiment(ws, "exp").submit(pipeline)
    with pytest.raises(ActivityFailedException, match="first"):
        run.wait_for_completion(show_output=True)
    shown = capsys.readouterr()
    assert "the answer is not 42" in shown.err or "the answer is not 42" in shown.out
    assert run.get_status() == "Failed"
    assert statuses(run) == {"first": "Failed", "second": "Skipped"}
    assert counter.lines() == ["boom.py"]
    first = run.find_step_run("first")[0]
    assert "the answer is not 42" in first.get_stderr_log()
    assert "exited with code 3" in first.get_details()["error"]
    assert "about to fail" in first.get_stdout_log()


def test_a_failed_step_is_not_reused(ws, src, counter):
    script(src, "boom.py", BOOM)
    pipeline = Pipeline(ws, [PythonScriptStep(name="first", script_name="boom.py", source_directory=str(src))])
    for _ in range(2):
        assert Experiment(ws, "exp").submit(pipeline).wait_for_completion(raise_on_error=False) == "Failed"
    assert counter.lines() == ["boom.py", "boom.py"]


def test_independent_steps_continue_when_asked(ws, src, counter):
    script(src, "ok.py", OK)
    script(src, "boom.py", BOOM)
    pipeline = Pipeline(ws, [
        PythonScriptStep(name="bad", script_name="boom.py", source_directory=str(src)),
        PythonScriptStep(name="good", script_name="ok.py", source_directory=str(src), arguments=["x"]),
    ])
    run = Experiment(ws, "exp").submit(pipeline, continue_on_step_failure=True, max_concurrent_steps=1)
    run.wait_for_completion(raise_on_error=False)
    assert statuses(run) == {"bad": "Failed", "good": "Completed"}


def _steps(src, pairs):
    return [PythonScriptStep(name=n, script_name="ok.py", source_directory=str(src), arguments=args) for n, args in pairs]


def test_cycle_is_reported_naming_the_steps(ws, src, counter):
    script(src, "ok.py", OK)
    a, b = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
    steps = _steps(src, [("left", [b.as_input(), a]), ("right", [a.as_input(), b])])
    with pytest.raises(PipelineValidationError, match=r"left.*right|right.*left"):
        Experiment(ws, "exp").submit(Pipeline(ws, steps))
    assert Pipeline(ws, steps).validate() and counter.lines() == []
    assert list(ws.ledger.events(type="run.submitted")) == []


def test_input_nobody_produces_is_reported(ws, src):
    script(src, "ok.py", OK)
    orphan = OutputFileDatasetConfig(name="orphan")
    steps = _steps(src, [("reader", [orphan.as_input()])])
    with pytest.raises(PipelineValidationError, match="'reader' reads output 'orphan' which no step produces"):
        Experiment(ws, "exp").submit(Pipeline(ws, steps))


def test_two_producers_of_one_output_are_reported(ws, src):
    script(src, "ok.py", OK)
    shared = OutputFileDatasetConfig(name="shared")
    steps = _steps(src, [("one", [shared]), ("two", [shared])])
    with pytest.raises(PipelineValidationError, match="'shared' is produced by both step 'one' and step 'two'"):
        Experiment(ws, "exp").submit(Pipeline(ws, steps))


def test_unknown_parameter_at_submit_is_reported(ws, src, counter):
    script(src, "ok.py", OK)
    alpha = PipelineParameter("alpha", default_value=0.5)
    steps = _steps(src, [("one", ["--alpha", alpha])])
    with pytest.raises(PipelineValidationError, match="no parameter named 'beta'.*alpha"):
        Experiment(ws, "exp").submit(Pipeline(ws, steps), pipeline_parameters={"beta": 1})
    assert counter.lines() == []


def test_missing_script_is_reported_before_anything_runs(ws, src):
    with pytest.raises(PipelineValidationError, match="script 'nope.py' does not exist"):
        Experiment(ws, "exp").submit(Pipeline(ws, [PythonScriptStep(name="x", script_name="nope.py", source_directory=str(src))]))


def test_ignored_script_is_reported(ws, src):
    script(src, "ok.py", OK)
    (src / ".amlignore").write_text("ok.py\n")
    with pytest.raises(PipelineValidationError, match="ignored by .amlignore"):
        Pipeline(ws, _steps(src, [("one", [])])).plan()


def test_credential_like_names_are_refused_before_anything_runs(ws, src, counter):
    from canalis.core import Environment, RunConfiguration

    script(src, "ok.py", OK)
    token = PipelineParameter("api_token", default_value="abc")
    with pytest.raises(PipelineValidationError, match="pipeline parameter 'api_token' look"):
        Experiment(ws, "exp").submit(Pipeline(ws, _steps(src, [("one", [token])])))
    env = Environment("e")
    env.environment_variables = {"DB_PASSWORD": "x"}
    rc = RunConfiguration()
    rc.environment = env
    step = PythonScriptStep(name="one", script_name="ok.py", source_directory=str(src), runconfig=rc)
    with pytest.raises(PipelineValidationError, match="environment variable 'DB_PASSWORD' of step 'one'"):
        Experiment(ws, "exp").submit(Pipeline(ws, [step]))
    assert counter.lines() == [] and list(ws.ledger.events(type="run.submitted")) == []


def test_hash_paths_with_credential_like_names_survive_the_ledger(ws, src, counter):
    script(src, "ok.py", OK)
    (src / "secret.yaml").write_text("v1")
    step = PythonScriptStep(name="one", script_name="ok.py", source_directory=str(src), hash_paths=["secret.yaml"])
    run = Experiment(ws, "exp").submit(Pipeline(ws, [step]))
    run.wait_for_completion()
    plan = next(iter(ws.ledger.events(stream=f"run:{run.id}", type="run.submitted"))).payload["plan"]
    assert plan["steps"][0]["hash_paths"][0][0] == "secret.yaml" and len(plan["steps"][0]["hash_paths"][0][1]) == 64
