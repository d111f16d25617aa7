"""`import azureml...` answered by canalis: `canalis exec`, `python -m canalis.compat`, the .pth
for plain python, steps that import `azureml.core.Run`, and the names SDK v1 code imports from
the modules it imports them from. Scripts run in real subprocesses with only a workspace config
(an SDK v1 `config.json`) beside them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from canalis.compat import names

CONFIG = {"subscription_id": "1234-sub", "resource_group": "rg-notebooks", "workspace_name": "mlws"}


def project(tmp_path: Path, scripts: dict[str, str]) -> Path:
    """A folder as an SDK v1 user has it: config.json and scripts, no canalis workspace yet."""
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(CONFIG))
    for name, text in scripts.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return folder


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CANALIS_WORKSPACE", "CANALIS_AZUREML", "PYTHONPATH")}
    env.update(extra)
    return env


def run(argv, cwd, **env) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=600)


def canalis_exec(folder: Path, script: str, *args) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "canalis", "exec", script, *args], folder)


WORKSPACE_SCRIPT = """
import sys
import azureml.core
from azureml.core import Workspace, Experiment
from azureml.core.runconfig import RunConfiguration, CondaDependencies
from azureml.core.model import Dataset
from azureml.core.conda_dependencies import CondaDependencies as CD2

print("SDK version:", azureml.core.VERSION)
ws = Workspace.from_config()
print(ws.name, ws.subscription_id, ws.resource_group, ws.location, sep="|")
assert CondaDependencies is CD2
import canalis.core.dataset
assert Dataset is canalis.core.dataset.Dataset
print("args", sys.argv[1:])
"""


def test_canalis_exec_answers_azureml_and_maps_the_sdk_config(tmp_path):
    folder = project(tmp_path, {"ws.py": WORKSPACE_SCRIPT})
    done = canalis_exec(folder, "ws.py", "--flag", "x")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    version = lines[0].split(": ", 1)[1]
    assert version.startswith("1.") and "+canalis." in version
    assert lines[1] == "mlws|1234-sub|rg-notebooks|local"
    assert lines[2] == "args ['--flag', 'x']"
    assert (folder / ".canalis" / "config.json").is_file()
    assert "created workspace 'mlws'" in done.stderr


def test_python_m_canalis_compat_runs_the_same_script_and_keeps_its_exit_code(tmp_path):
    folder = project(tmp_path, {"ws.py": WORKSPACE_SCRIPT, "fail.py": "import azureml.core\nraise SystemExit(7)\n"})
    done = run([sys.executable, "-m", "canalis.compat", "ws.py"], folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "mlws|1234-sub|rg-notebooks|local"
    assert canalis_exec(folder, "fail.py").returncode == 7


def test_plain_python_has_no_mapping_until_installed(tmp_path):
    folder = project(tmp_path, {"ws.py": WORKSPACE_SCRIPT})
    plain = run([sys.executable, "ws.py"], folder)
    assert plain.returncode != 0 and "No module named 'azureml'" in plain.stderr
    site = tmp_path / "site"
    installed = run([sys.executable, "-m", "canalis", "compat", "install", "--target", str(site)], folder)
    assert installed.returncode == 0, installed.stderr
    # a .pth file is read from site folders only: make `site` one for this interpreter
    boot = f"import site, runpy, sys; site.addsitedir({str(site)!r}); sys.argv = ['ws.py']; runpy.run_path('ws.py', run_name='__main__')"
    done = run([sys.executable, "-c", boot], folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "mlws|1234-sub|rg-notebooks|local"
    removed = run([sys.executable, "-m", "canalis", "compat", "uninstall", "--target", str(site)], folder)
    assert removed.returncode == 0 and not (site / "canalis-azureml.pth").exists()


def test_an_installed_sdk_is_never_shadowed_silently(tmp_path):
    fake = tmp_path / "fake_sdk"
    (fake / "azureml" / "core").mkdir(parents=True)
    (fake / "azureml" / "__init__.py").write_text("")
    (fake / "azureml" / "core" / "__init__.py").write_text("WHO = 'sdk'\n")
    folder = project(tmp_path, {"who.py": "import azureml.core\nprint(getattr(azureml.core, 'WHO', 'canalis'))\n"})
    site = tmp_path / "site"
    run([sys.executable, "-m", "canalis", "compat", "install", "--target", str(site)], folder)
    boot = (f"import site, sys; sys.path.insert(0, {str(fake)!r}); site.addsitedir({str(site)!r}); "
            "import runpy; runpy.run_path('who.py', run_name='__main__')")
    auto = run([sys.executable, "-c", boot], folder)
    assert auto.stdout.strip() == "sdk"
    assert "installed beside canalis" in auto.stderr and "CANALIS_AZUREML=canalis" in auto.stderr
    chosen = run([sys.executable, "-c", boot], folder, CANALIS_AZUREML="canalis")
    assert chosen.stdout.strip() == "canalis"
    via_exec = run([sys.executable, "-m", "canalis", "exec", "who.py"], folder, PYTHONPATH=str(fake))
    assert via_exec.stdout.strip() == "canalis"
    assert "is installed too and is not used" in via_exec.stderr


STEP_PIPELINE = """
from azureml.core import Workspace, Experiment
from azureml.pipeline.core import Pipeline
from azureml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
step = PythonScriptStep(script_name="step.py", source_directory="steps", compute_target="cpu", allow_reuse=False)
run = Experiment(ws, "ctx").submit(Pipeline(ws, [step]))
print("RUN", run.id)
if "--wait" in __import__("sys").argv:
    run.wait_for_completion(show_output=False)
    print("STATUS", run.get_status())
"""

STEP = """
from azureml.core import Run
run = Run.get_context()
print("step run", run.id, "parent", run.parent.id)
run.log("seen", 1)
"""


def test_a_step_imports_azureml_core_run(tmp_path):
    folder = project(tmp_path, {"pipe.py": STEP_PIPELINE, "steps/step.py": STEP})
    done = canalis_exec(folder, "pipe.py", "--wait")
    assert done.returncode == 0, done.stderr
    assert "STATUS Completed" in done.stdout
    run_id = done.stdout.split("RUN ", 1)[1].split()[0]
    logs = run([sys.executable, "-m", "canalis", "logs", run_id], folder)
    assert f"parent {run_id}" in logs.stdout, logs.stdout + logs.stderr


def test_a_run_submitted_without_waiting_finishes_after_the_script_exits(tmp_path):
    folder = project(tmp_path, {"pipe.py": STEP_PIPELINE, "steps/step.py": STEP})
    done = canalis_exec(folder, "pipe.py")
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split("RUN ", 1)[1].split()[0]
    waited = run([sys.executable, "-c", textwrap.dedent(f"""
        from canalis.core import Experiment, Workspace
        from canalis.pipeline.core import PipelineRun
        ws = Workspace.from_config()
        print(PipelineRun(Experiment(ws, "ctx"), {run_id!r}).wait_for_completion())
        """)], folder)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.strip().endswith("Completed")


def test_names_are_importable_where_sdk_v1_code_imports_them_from():
    """Every name the table offers resolves, through the hook, to the canalis object it names."""
    from canalis.compat import finder

    finder.install("canalis")
    try:
        import importlib

        rows = names.table()
        assert len(rows) > 150
        for module, name, target in rows:
            obj = getattr(importlib.import_module(module), name)
            where, _, qual = target.rpartition(".")
            home = importlib.import_module(names.home(module, name))
            assert obj is getattr(home, name), (module, name)
        from azureml.core.model import Dataset as D1  # noqa: F401  (SDK v1 code does this)
        from azureml.core import Dataset as D2
        assert D1 is D2
        with pytest.raises(ImportError, match="web services needs Azure"):
            from azureml.core.webservice import AciWebservice  # noqa: F401
        with pytest.raises(ModuleNotFoundError, match="not a public name"):
            import azureml.core.nonexistent  # noqa: F401
    finally:
        finder.uninstall()


WIDGET_SCRIPT = """
from azureml.core import Workspace, Experiment
from azureml.pipeline.core import Pipeline
from azureml.pipeline.steps import PythonScriptStep
from azureml.widgets import RunDetails

ws = Workspace.from_config()
steps = [PythonScriptStep(name=n, script_name="step.py", source_directory="steps", allow_reuse=False) for n in ("a", "b")]
run = Experiment(ws, "widget").submit(Pipeline(ws, steps))
print("SHOWN", RunDetails(run).show())
data = RunDetails(run).get_widget_data()
print("DATA", sorted((s["name"], s["status"]) for s in data["steps"]))
print("HTML", "<td>a</td><td>Completed</td>" in RunDetails(run)._html(RunDetails(run)._summary()))
"""


def test_run_details_shows_the_steps_until_the_run_ends(tmp_path):
    folder = project(tmp_path, {"widget.py": WIDGET_SCRIPT, "steps/step.py": STEP})
    done = canalis_exec(folder, "widget.py")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "SHOWN Completed" in out
    assert "DATA [('a', 'Completed'), ('b', 'Completed')]" in out
    assert "HTML True" in out
    lines = out.splitlines()
    assert any(line.split()[:2] == ["a", "Completed"] for line in lines)
