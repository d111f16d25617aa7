"""SDK v1 code in IPython and Jupyter, through a real IPython shell: `%load_ext canalis.compat`
answers `azureml` imports; `RunDetails(run).show()` is an HTML table of the steps, refreshed
until the run ends."""
from __future__ import annotations

import pytest

from canalis.core import Experiment
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from canalis.widgets import RunDetails
from tests.canalis.conftest import write

GATED = """
import os, time
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.05)
print("through")
"""


def test_jupyter_table_refreshes_until_the_run_ends(ws, src, tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    gate = tmp_path / "gate"
    monkeypatch.setenv("GATE", str(gate))
    write(src / "gated.py", GATED)
    run = Experiment(ws, "details").submit(Pipeline(ws, [
        PythonScriptStep(name="gated", script_name="gated.py", source_directory=str(src), allow_reuse=False)]))
    InteractiveShell.instance()
    details = RunDetails(run)
    with capture_output() as captured:
        details._show_jupyter()
        first = captured.outputs[0].data["text/html"]
        gate.write_text("open")
        details._refresher.join(300)
    assert not details._refresher.is_alive()
    html = [o.data["text/html"] for o in captured.outputs]
    assert "Completed" not in first
    assert f"<b>run {run.id}</b>: Completed" in html[-1] and "<td>gated</td><td>Completed</td>" in html[-1]
    run.wait_for_completion()


def test_load_ext_turns_the_mapping_on_in_an_ipython_session(monkeypatch, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    from canalis.compat import finder

    monkeypatch.delenv(finder.ENV, raising=False)
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "canalis.compat")
        assert "answered by canalis" in capsys.readouterr().out
        import os

        assert os.environ[finder.ENV] == "canalis"  # processes the session starts get it too
        result = shell.run_cell("from azureml.core import Workspace as W\nimport canalis.core\nW is canalis.core.Workspace")
        assert result.result is True
    finally:
        shell.run_line_magic("unload_ext", "canalis.compat")
    assert finder.installed_finder() is None
