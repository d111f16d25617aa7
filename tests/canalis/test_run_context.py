"""What a step sees through Run.get_context(), and what reaches the ledger."""
from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from canalis.cli import main
from canalis.core import Dataset, Experiment, Run
from canalis.core.run import _OfflineRun
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, write

LOGGER = """
import os
from canalis.core import Run
run = Run.get_context()
run.log("loss", 0.5)
run.log("loss", 0.25)
run.log_list("curve", [1, 2, 3])
run.log_row("table", epoch=1, acc=0.7)
run.log_row("table", epoch=2, acc=0.8)
run.tag("stage", "dev")
open("artifact.txt", "w").write("artifact bytes")
run.upload_file("outputs/artifact.txt", "artifact.txt")
run.parent.log("overall", 1)
assert run.experiment.name == "ctx"
assert run.experiment.workspace.name == "test"
print("input:", sorted(run.input_datasets))
"""


def test_run_context_metrics_reach_the_ledger_and_cli(ws, src, counter):
    script(src, "logger.py", LOGGER)
    run = Experiment(ws, "ctx").submit(Pipeline(ws, [PythonScriptStep(name="log", script_name="logger.py", source_directory=str(src))]))
    run.wait_for_completion()
    step = run.find_step_run("log")[0]
    assert step.get_metrics() == {"loss": [0.5, 0.25], "curve": [1, 2, 3], "table": {"epoch": [1, 2], "acc": [0.7, 0.8]}}
    assert run.get_metrics() == {"overall": 1}
    events = [r.payload for r in ws.ledger.events(stream=f"run:{run.id}", type="metric.logged")]
    assert [(e["name"], e["kind"]) for e in events][:2] == [("loss", "scalar"), ("loss", "scalar")]
    assert all(e["step_run_id"] == step.id for e in events if e["name"] != "overall")
    assert "outputs/artifact.txt" in step.get_file_names()
    assert step.download_file("outputs/artifact.txt", str(src / "dl.txt"))
    assert (src / "dl.txt").read_text() == "artifact bytes"

    result = CliRunner().invoke(main, ["metrics", run.id, "--json", "--workspace", str(ws.root)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["run"] == {"overall": 1}
    assert shown["steps"]["log"]["loss"] == [0.5, 0.25]


def test_step_process_never_opens_the_ledger(ws, src, counter):
    # the step's environment names no ledger, and the step fails if it tries to open one
    script(src, "spy.py", """
import os, json
ctx = json.load(open(os.environ["CANALIS_STEP_CONTEXT"]))
assert "ledger" not in json.dumps(ctx), ctx
import sqlite3
real = sqlite3.connect
def refuse(*a, **k):
    raise SystemExit("step opened a database: %r" % (a,))
sqlite3.connect = refuse
from canalis.core import Run
run = Run.get_context(); run.log("x", 1); run.parent.log("y", 2); run.tag("t", "v")
""")
    run = Experiment(ws, "ctx").submit(Pipeline(ws, [PythonScriptStep(name="spy", script_name="spy.py", source_directory=str(src))]))
    assert run.wait_for_completion(raise_on_error=False) == "Completed", run.find_step_run("spy")[0].get_stderr_log()
    assert run.find_step_run("spy")[0].get_metrics() == {"x": 1}


def test_importing_the_sdk_does_not_load_the_ledger():
    """A step imports the SDK to log and tag; the ledger (SQLite, hashing, its row types and
    statuses) is imported only where it is read, so a step does not pay for loading it."""
    code = ("import sys, canalis.core, canalis.data, canalis.pipeline.core, canalis.pipeline.steps\n"
            "from canalis.core import Run\nRun.get_context()\n"
            "print(sorted(m for m in sys.modules if m.startswith('canalis.ledger')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_outside_canalis_get_context_is_an_offline_run_that_prints(tmp_path):
    f = write(tmp_path / "plain.py", """
from canalis.core import Run
from canalis.core.run import _OfflineRun
run = Run.get_context()
assert isinstance(run, _OfflineRun)
run.log("accuracy", 0.9)
""")
    out = subprocess.run([sys.executable, str(f)], capture_output=True, text=True, check=True)
    assert "accuracy" in out.stdout and "0.9" in out.stdout
    assert isinstance(Run.get_context(), _OfflineRun)


def test_input_datasets_give_paths_and_tabular_datasets(ws, src, counter):
    store = ws.get_default_datastore()
    write(store.root / "d" / "a.csv", "x,y\n1,2\n3,4\n")
    write(store.root / "files" / "one.txt", "one")
    script(src, "use.py", """
import os
from canalis.core import Run
run = Run.get_context()
tab = run.input_datasets["table"].to_pandas_dataframe()
folder = run.input_datasets["files"]
assert isinstance(folder, str) and os.listdir(folder) == ["one.txt"], folder
path = os.path.join(folder, "one.txt")
assert os.stat(path).st_mode & 0o222 == 0, oct(os.stat(path).st_mode)
try:  # refused for a normal user; root may write, and must not reach the store through it
    with open(path, "w") as f:
        f.write("changed")
except PermissionError:
    pass
run.log("sum", int(tab["x"].sum()))
""")
    tab = Dataset.Tabular.from_delimited_files(path=(store, "d/*.csv"))
    files = Dataset.File.from_files(path=(store, "files/"))
    step = PythonScriptStep(name="use", script_name="use.py", source_directory=str(src),
                            inputs=[tab.as_named_input("table"), files.as_named_input("files").as_download()])
    run = Experiment(ws, "ctx").submit(Pipeline(ws, [step]))
    assert run.wait_for_completion(raise_on_error=False) == "Completed", run.find_step_run("use")[0].get_stderr_log()
    assert run.find_step_run("use")[0].get_metrics() == {"sum": 4}
    assert (store.root / "files" / "one.txt").read_text() == "one"
    assert ws.store.verify().ok
    tree = files._snapshot(ws.store)
    ws.store.checkout(tree, src / "again")
    assert (src / "again" / "one.txt").read_text() == "one"


def test_register_on_complete_creates_a_dataset_version(ws, src, counter):
    script(src, "make.py", """
import os, sys
open(os.path.join(sys.argv[1], "rows.csv"), "w").write("a,b\\n1,2\\n")
""")
    out = OutputFileDatasetConfig(name="rows").read_delimited_files().register_on_complete("rows_ds", description="made by make")
    run = Experiment(ws, "ctx").submit(Pipeline(ws, [PythonScriptStep(name="make", script_name="make.py", source_directory=str(src), arguments=[out])]))
    run.wait_for_completion()
    ds = Dataset.get_by_name(ws, "rows_ds")
    assert ds.version == 1 and ds.description == "made by make"
    assert ds.to_pandas_dataframe().to_dict("list") == {"a": [1], "b": [2]}
    row = ws.ledger.dataset("rows_ds")
    assert row.lineage["run_id"] == run.id and row.lineage["output"] == "rows"
    assert row.lineage["step_run_id"] == run.find_step_run("make")[0].id


def test_output_destination_is_written_to_the_datastore(ws, src, counter):
    script(src, "make.py", """
import os, sys
open(os.path.join(sys.argv[1], "r.txt"), "w").write("result")
""")
    store = ws.get_default_datastore()
    out = OutputFileDatasetConfig(name="r", destination=(store, "results/{run-id}"))
    run = Experiment(ws, "ctx").submit(Pipeline(ws, [PythonScriptStep(name="make", script_name="make.py", source_directory=str(src), arguments=[out])]))
    run.wait_for_completion()
    step = run.find_step_run("make")[0]
    assert (store.root / "results" / step.id / "r.txt").read_text() == "result"


def test_git_metadata_is_recorded(ws, tmp_path, counter):
    repo = tmp_path / "repo"
    script(repo, "ok.py", "print('hi')\n")
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.org", "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.org"}
    import os

    for cmd in (["init", "-q", "-b", "trunk"], ["remote", "add", "origin", "https://example.org/team/repo.git"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env={**os.environ, **env})
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    run = Experiment(ws, "ctx").submit(Pipeline(ws, [PythonScriptStep(name="ok", script_name="ok.py", source_directory=str(repo))]))
    run.wait_for_completion()
    git = run.get_details()["git"]
    assert git["commit"] == head and git["branch"] == "trunk" and git["remote"].endswith("team/repo.git")
    assert git["dirty"] is False
    (repo / "ok.py").write_text("print('changed')\n")
    run2 = Experiment(ws, "ctx").submit(Pipeline(ws, [PythonScriptStep(name="ok", script_name="ok.py", source_directory=str(repo))]))
    run2.wait_for_completion()
    assert run2.get_details()["git"]["dirty"] is True
