"""SDK v1 keywords canalis cannot honour are named in one warning line (once per API and
keyword in a process), never dropped silently; keywords with a meaning offline, and the
arguments that only identify a cloud workspace, give no warning."""
from __future__ import annotations

import subprocess
import sys
import textwrap

from canalis.core import Experiment
from canalis.core.runconfig import RunConfiguration
from canalis.core.script_run_config import ScriptRunConfig
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import CommandStep
from tests.canalis.conftest import write

PRELUDE = """
import os, sys
from canalis.core import Experiment, Workspace
from canalis.core.runconfig import RunConfiguration
from canalis.core.script_run_config import ScriptRunConfig
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import CommandStep, PythonScriptStep

root, src = sys.argv[1], sys.argv[2]
ws = Workspace.create("w", path=root, exist_ok=True)
"""


def _python(tmp_path, body) -> subprocess.CompletedProcess:
    src = tmp_path / "src"
    write(src / "ok.py", "print('ok')\n")
    prog = write(tmp_path / "prog.py", PRELUDE + textwrap.dedent(body))
    return subprocess.run([sys.executable, str(prog), str(tmp_path / "ws"), str(src)], capture_output=True, text=True,
                          timeout=120)


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("canalis: warning:")]


def test_each_ignored_keyword_is_named_once_in_one_line(tmp_path):
    out = _python(tmp_path, """
        for _ in range(2):  # the second round warns no more
            step = PythonScriptStep(name="s", script_name="ok.py", source_directory=src, version="2",
                                    runconfig_pipeline_params={"NodeCount": 2})
            pipeline = Pipeline(ws, [step], default_datastore=ws.get_default_datastore(), _telemetry="x")
            run = pipeline.submit("exp", credential_passthrough=True, regenerate_outputs=False, not_a_keyword=1)
            run.wait_for_completion()
            run = Experiment(ws, "exp", _create_in_cloud=True).submit(pipeline, tags={"a": "b"}, spot_priority=1)
            run.wait_for_completion()
            RunConfiguration(framework="PySpark", communicator="Mpi")
            ScriptRunConfig(source_directory=src, script="ok.py", max_run_duration_seconds=60)
            CommandStep(command="true", source_directory=src, version="1")
            Workspace.get("w", path=root, subscription_id="s", resource_group="g", sku="enterprise", cloud="AzureCloud")
            Workspace(path=root, tags={"team": "x"}, _disable_service_check=True)
    """)
    assert out.returncode == 0, out.stderr
    lines = _warnings(out.stderr)
    by_api = {line.split()[2]: line for line in lines}
    assert len(lines) == len(by_api) == 10, lines  # one line per API, none repeated in the second round
    assert "version= (" in by_api["PythonScriptStep"] and "runconfig_pipeline_params= (" in by_api["PythonScriptStep"]
    assert "default_datastore= (" in by_api["Pipeline"] and "_telemetry=" in by_api["Pipeline"]
    assert "credential_passthrough=" in by_api["Pipeline.submit"] and "not_a_keyword=" in by_api["Pipeline.submit"]
    assert "regenerate_outputs" not in by_api["Pipeline.submit"]
    assert "_create_in_cloud=" in by_api["Experiment"]
    assert "spot_priority=" in by_api["Experiment.submit"] and "tags" not in by_api["Experiment.submit"]
    assert "framework=" in by_api["RunConfiguration"] and "communicator=" in by_api["RunConfiguration"]
    assert "max_run_duration_seconds=" in by_api["ScriptRunConfig"]
    assert "version=" in by_api["CommandStep"]
    assert "sku=" in by_api["Workspace.get"] and "subscription_id" not in by_api["Workspace.get"]
    assert "cloud" not in by_api["Workspace.get"].replace("canalis", "")
    assert "tags=" in by_api["Workspace"] and "_disable_service_check" not in by_api["Workspace"]
    assert all(line.endswith("no effect in canalis") for line in lines)


def test_keywords_with_a_meaning_offline_give_no_warning(tmp_path):
    out = _python(tmp_path, """
        out = OutputFileDatasetConfig(name="o")
        p = PipelineParameter("p", 1)
        rc = RunConfiguration(framework="Python", communicator="None")
        step = PythonScriptStep(script_name="ok.py", name="s", arguments=[p], compute_target="local", runconfig=rc,
                                inputs=[], outputs=[out], params={"k": p}, source_directory=src, allow_reuse=False,
                                hash_paths=[])
        cmd = CommandStep(command=["true"], name="c", compute_target="local", runconfig=rc, inputs=[], outputs=[],
                          params={"k": 1}, source_directory=src, allow_reuse=True)
        pipeline = Pipeline(ws, [step, cmd], description="d", default_source_directory=src, resolve_closure=True)
        run = pipeline.submit("exp", pipeline_parameters={"p": 2}, continue_on_step_failure=True,
                              regenerate_outputs=True, max_concurrent_steps=1, tags={"t": "1"})
        run.wait_for_completion()
        Experiment(ws, "exp").submit(ScriptRunConfig(source_directory=src, script="ok.py", arguments=["a"],
                                                     compute_target="local", run_config=rc)).wait_for_completion()
        Workspace.get("w", path=root, auth=None, subscription_id="s", resource_group="g", location="westeurope",
                      cloud="AzureCloud", id="x")
        Workspace.create("w", path=root, exist_ok=True, subscription_id="s", resource_group="g", location="l",
                         show_output=True)
        Workspace(subscription_id="s", resource_group="g", workspace_name="w", path=root, _workspace_id="i")
    """)
    assert out.returncode == 0, out.stderr
    assert _warnings(out.stderr) == []


def test_a_script_run_config_command_runs_as_a_command_step(ws, src):
    out = ScriptRunConfig(source_directory=str(src), command="echo from the command", compute_target="local")
    run = Experiment(ws, "src").submit(out)
    assert run.wait_for_completion() == "Completed"
    assert run.get_steps()[0].get_stdout_log() == "from the command\n"


def test_a_command_step_takes_the_command_of_its_run_configuration(ws, src):
    words = OutputFileDatasetConfig(name="words")
    step = CommandStep(runconfig=RunConfiguration(command="echo hi > $AZUREML_DATAREFERENCE_words/w"), outputs=[words],
                       source_directory=str(src))
    assert step.name == "echo"
    run = Experiment(ws, "rc").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion() == "Completed"
    tree = run.find_step_run("echo")[0].get_outputs()["words"].tree
    assert [ws.store.get_bytes(e.digest) for e in ws.store.get_tree(tree)] == [b"hi\n"]
