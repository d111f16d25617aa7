"""SDK v1 shapes beyond the seed flow: PipelineData with pipeline outputs, nested step lists,
environments in the key, ScriptRunConfig, StepSequence."""
from __future__ import annotations

from canalis.core import Environment, Experiment, RunConfiguration, ScriptRunConfig
from canalis.pipeline.core import Pipeline, PipelineData, StepSequence
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, statuses

WRITE = """
import os, sys
out = sys.argv[-1]
os.makedirs(out, exist_ok=True)
prev = open(os.path.join(sys.argv[1], "v.txt")).read() if len(sys.argv) > 2 else ""
open(os.path.join(out, "v.txt"), "w").write(prev + os.environ.get("FLAVOUR", "plain") + ";")
"""


def test_pipeline_data_nested_lists_and_pipeline_output(ws, src, counter, tmp_path):
    script(src, "w.py", WRITE)
    store = ws.get_default_datastore()
    raw = PipelineData("raw", datastore=store)
    final = PipelineData("final", datastore=store, pipeline_output_name="final_result")
    first = PythonScriptStep(name="first", script_name="w.py", source_directory=str(src), outputs=[raw], arguments=[raw])
    second = PythonScriptStep(name="second", script_name="w.py", source_directory=str(src), inputs=[raw],
                              outputs=[final], arguments=[raw, final])
    run = Experiment(ws, "shapes").submit(Pipeline(ws, [[first], [second]]))
    assert run.wait_for_completion() == "Completed"
    path = run.get_pipeline_output("final_result").download(str(tmp_path / "dl"))
    assert open(f"{path}/v.txt").read() == "plain;plain;"
    # only the last step listed: its producer is found through the data, as in SDK v1
    again = Experiment(ws, "shapes").submit(Pipeline(ws, [second]))
    again.wait_for_completion()
    assert statuses(again) == {"first": "Reused", "second": "Reused"}


def test_environment_is_part_of_the_reuse_key(ws, src, counter):
    script(src, "w.py", WRITE)

    def build(flavour):
        env = Environment("flavoured")
        env.environment_variables = {"FLAVOUR": flavour}
        rc = RunConfiguration()
        rc.environment = env
        out = PipelineData("out")
        return Pipeline(ws, [PythonScriptStep(name="w", script_name="w.py", source_directory=str(src), runconfig=rc,
                                              outputs=[out], arguments=[out])])

    Experiment(ws, "env").submit(build("sweet")).wait_for_completion()
    same = Experiment(ws, "env").submit(build("sweet"))
    same.wait_for_completion()
    other = Experiment(ws, "env").submit(build("sour"))
    other.wait_for_completion()
    assert statuses(same) == {"w": "Reused"} and statuses(other) == {"w": "Completed"}
    tree = other.find_step_run("w")[0].get_details()["outputs"]["out"]
    assert ws.store.get_bytes(ws.store.get_tree(tree)[0].digest) == b"sour;"
    env = Environment("flavoured")
    env.environment_variables = {"FLAVOUR": "sour"}
    assert env.register(ws).version == 1 and Environment.get(ws, "flavoured").environment_variables == {"FLAVOUR": "sour"}


def test_script_run_config_is_a_one_step_run(ws, src, counter):
    script(src, "train.py", "from canalis.core import Run\nRun.get_context().log('score', 3)\n")
    run = Experiment(ws, "script").submit(ScriptRunConfig(source_directory=str(src), script="train.py"))
    assert run.wait_for_completion() == "Completed"
    assert run.get_metrics() == {"score": 3}
    assert ws.ledger.run(run.id).kind == "script"


def test_step_sequence_orders_steps_without_data(ws, src, counter):
    script(src, "a.py", "import time; time.sleep(0.3)\n")
    script(src, "b.py", "pass\n")
    a = PythonScriptStep(name="a", script_name="a.py", source_directory=str(src))
    b = PythonScriptStep(name="b", script_name="b.py", source_directory=str(src))
    run = Experiment(ws, "seq").submit(Pipeline(ws, [StepSequence(steps=[a, b])]))
    run.wait_for_completion()
    assert counter.lines() == ["a.py", "b.py"]


def test_waiting_from_another_process_view_and_on_a_step(ws, src, counter):
    from canalis.core import Workspace
    from canalis.pipeline.core import PipelineRun

    script(src, "slow.py", "import time; time.sleep(1)\n")
    run = Experiment(ws, "wait").submit(Pipeline(ws, [PythonScriptStep(name="slow", script_name="slow.py", source_directory=str(src))]))
    # a second handle with no executor thread follows the ledger until the run ends
    other = PipelineRun(Experiment(Workspace(path=ws.root), "wait"), run.id)
    assert other.wait_for_completion() == "Completed"
    assert run.find_step_run("slow")[0].wait_for_completion() == "Completed"
