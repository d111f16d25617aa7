"""Models made inside steps: registered through the step's executor (the step never opens the
ledger) with the step, its run and its input datasets as lineage; read back with
`Model.get_model_path` and `Model(ws, name, version)` inside and outside steps; listed by
`canalis models`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from canalis.core import Dataset, Experiment, Model
from canalis.data import OutputFileDatasetConfig
from canalis.exceptions import UserErrorException
from canalis.executor.channel import ChannelReader, ChannelWriter, NoReply, write_reply
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, write

NO_LEDGER = """
import sqlite3
_connect = sqlite3.connect
def _refuse(path, *a, **k):  # the store's own index files are SQLite too; the ledger must not be opened
    if "ledger" in str(path):
        raise SystemExit("the step opened the ledger: %r" % (path,))
    return _connect(path, *a, **k)
sqlite3.connect = _refuse
"""
TRAIN = NO_LEDGER + """
import os, sys
from canalis.core import Model, Run, Workspace
run = Run.get_context()
df = run.input_datasets["raw"].to_pandas_dataframe()
os.makedirs("model", exist_ok=True)
open("model/weights.txt", "w").write("sum=%d" % df["v"].sum())
open("model/config.txt", "w").write("kind=sum")
m = Model.register(Workspace.from_config(), "model", "clf", tags={"algo": "sum"}, description="a sum")
print("registered", m.name, m.version, m.run_id)
"""
EVALUATE = NO_LEDGER + """
import os
from canalis.core import Model, Run
run = Run.get_context()
path = Model.get_model_path("clf")
print("model at", os.path.relpath(path))
m = Model(run.experiment.workspace, "clf", version=1)
run.log("weights", open(os.path.join(path, "weights.txt")).read())
run.log("model_version", m.version)
run.log("model_tags", m.tags["algo"])
"""


def canalis(ws, *args, ok=True):
    out = subprocess.run([sys.executable, "-c", "from canalis.cli import main; main()", *args, "--workspace", str(ws.root)],
                         capture_output=True, text=True)
    if ok:
        assert out.returncode == 0, f"canalis {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out


def walk(node):
    yield node
    for c in node.get("children", []):
        yield from walk(c)


def raw_dataset(ws):
    store = ws.get_default_datastore()
    write(store.root / "raw" / "v.csv", "v\n1\n2\n3\n")
    return Dataset.Tabular.from_delimited_files(path=(store, "raw/v.csv")).register(ws, "raw")


def run_ok(ws, steps):
    run = Experiment(ws, "models").submit(Pipeline(ws, steps))
    status = run.wait_for_completion(raise_on_error=False)
    assert status == "Completed", {s.name: s.get_stderr_log() for s in run.get_steps()}
    return run


def test_a_model_registered_in_a_step_is_read_by_the_next_and_reached_from_its_dataset(ws, tmp_path, counter,
                                                                                         monkeypatch):
    raw = raw_dataset(ws)
    script(tmp_path / "train", "train.py", TRAIN)
    script(tmp_path / "evaluate", "evaluate.py", EVALUATE)
    train = PythonScriptStep(name="train", script_name="train.py", source_directory=str(tmp_path / "train"),
                             inputs=[raw.as_named_input("raw")])
    evaluate = PythonScriptStep(name="evaluate", script_name="evaluate.py", source_directory=str(tmp_path / "evaluate"))
    evaluate.run_after(train)
    run = run_ok(ws, [train, evaluate])
    train_run, evaluate_run = run.find_step_run("train")[0], run.find_step_run("evaluate")[0]
    assert f"registered clf 1 {run.id}" in train_run.get_stdout_log()

    # the registration names the step run, its pipeline run and the registered dataset the step read
    row = ws.ledger.model("clf")
    assert (row.version, row.tags, row.description) == (1, {"algo": "sum"}, "a sum")
    assert row.lineage == {"run_id": run.id, "step_run_id": train_run.id,
                           "datasets": [{"purpose": "input", "name": "raw", "version": 1, "id": raw.id}]}
    # the next step read it by name, inside its own working folder
    assert evaluate_run.get_metrics() == {"weights": "sum=6", "model_version": 1, "model_tags": "sum"}
    assert "model at azureml-models/clf/1" in evaluate_run.get_stdout_log()

    # outside a step: the same version, materialised read-only inside the workspace
    path = Path(Model.get_model_path("clf", _workspace=ws))
    assert path == ws.root / ".canalis" / "models" / "clf" / "1"
    assert (path / "weights.txt").read_text() == "sum=6" and (path / "weights.txt").stat().st_mode & 0o222 == 0
    monkeypatch.chdir(ws.root)
    assert Model.get_model_path("clf", version=1) == str(path)  # the workspace found as from_config finds it
    assert Model(ws, "clf", version=1).run_id == run.id
    assert [(m.name, m.version) for m in Model.list(ws, run_id=run.id)] == [("clf", 1)]

    # canalis lineage: from the model to the dataset, the step and its code; from the dataset to the model
    up = json.loads(canalis(ws, "lineage", "model:clf", "--json").stdout)
    ids = {n["id"] for n in walk(up["upstream"])}
    assert {"dataset:raw:1", f"step:{train_run.id}"} <= ids and any(i.startswith("source:") for i in ids)
    down = json.loads(canalis(ws, "lineage", "dataset:raw:1", "--json").stdout)
    assert "model:clf:1" in {n["id"] for n in walk(down["downstream"])}

    # canalis models
    listed = json.loads(canalis(ws, "models", "--json").stdout)
    assert [(m["name"], m["version"], m["run_id"], m["step"]) for m in listed] == [("clf", 1, run.id, "train")]
    assert listed[0]["datasets"] == [{"name": "raw", "version": 1, "purpose": "input"}]
    shown = json.loads(canalis(ws, "models", "show", "clf:1", "--json").stdout)
    assert sorted(f["path"] for f in shown["files"]) == ["config.txt", "weights.txt"] and shown["versions"] == [1]
    assert json.loads(canalis(ws, "models", "show", "clf", "--json").stdout) == shown
    text = canalis(ws, "models", "show", "clf").stdout
    assert f"made by run {run.id}, step train" in text and "from dataset raw:1 (input)" in text
    assert "clf" in canalis(ws, "models").stdout
    for ref, said in (("nope", "no model named 'nope'"), ("clf:7", "has no version 7 (versions: [1])"),
                      ("clf:x", "is not NAME or NAME:VERSION")):
        out = canalis(ws, "models", "show", ref, ok=False)
        assert out.returncode == 2 and said in out.stderr and "Traceback" not in out.stderr  # a usage error


PREP = """
import os, sys
from canalis.core import Run
df = Run.get_context().input_datasets["raw"].to_pandas_dataframe()
df["w"] = df["v"] * 2
df.to_csv(os.path.join(sys.argv[1], "clean.csv"), index=False)
"""
FIT = NO_LEDGER + """
import os, sys
from canalis.core import Run
run = Run.get_context()
rows = open(os.path.join(sys.argv[1], "clean.csv")).read().splitlines()
open("fit.txt", "w").write("fitted on %d rows" % (len(rows) - 1))
run.upload_file("outputs/fit.txt", "fit.txt")
m = run.register_model("fit", "outputs/fit.txt")  # among the files the step uploaded
print("registered", m.name, m.version)
"""


def test_an_output_registered_as_a_dataset_links_the_input_dataset_to_the_model(ws, tmp_path, counter):
    raw = raw_dataset(ws)
    script(tmp_path / "prep", "prep.py", PREP)
    script(tmp_path / "fit", "fit.py", FIT)
    clean = OutputFileDatasetConfig(name="clean").register_on_complete("clean")
    run = run_ok(ws, [
        PythonScriptStep(name="prep", script_name="prep.py", source_directory=str(tmp_path / "prep"),
                         inputs=[raw.as_named_input("raw")], arguments=[clean]),
        PythonScriptStep(name="fit", script_name="fit.py", source_directory=str(tmp_path / "fit"),
                         arguments=[clean.as_input()]),
    ])
    prep, fit = run.find_step_run("prep")[0], run.find_step_run("fit")[0]
    ds = ws.ledger.dataset("clean")
    assert ds.lineage == {"run_id": run.id, "step_run_id": prep.id, "output": "clean",
                          "datasets": [{"purpose": "input", "name": "raw", "version": 1, "id": raw.id}]}
    model = ws.ledger.model("fit")
    assert model.lineage == {"run_id": run.id, "step_run_id": fit.id}  # fit read no registered dataset itself
    with ws.store.open(ws.store.get_tree(model.digest)[0].digest) as f:
        assert f.read() == b"fitted on 3 rows"

    down = json.loads(canalis(ws, "lineage", "dataset:raw:1", "--json").stdout)
    reached = {n["id"] for n in walk(down["downstream"])}
    assert {"dataset:clean:1", "model:fit:1", f"step:{prep.id}", f"step:{fit.id}"} <= reached
    up = {n["id"] for n in walk(json.loads(canalis(ws, "lineage", "model:fit", "--json").stdout)["upstream"])}
    assert {"dataset:raw:1", f"step:{prep.id}", f"step:{fit.id}"} <= up


MISTAKES = NO_LEDGER + """
from canalis.core import Model, Run
from canalis.exceptions import UserErrorException
run = Run.get_context()
for what, call in (("missing", lambda: Model(run.experiment.workspace, "missing")),
                   ("no path", lambda: run.register_model("m", "no/such/file.txt")),
                   ("bad name", lambda: run.register_model("../m", "x.txt")),
                   ("no version", lambda: Model.get_model_path("missing", version=3))):
    try:
        call()
    except UserErrorException as e:
        print(what + ":", e)
"""


def test_what_a_step_gets_wrong_about_models_is_said_in_the_step(ws, src, counter):
    script(src, "mistakes.py", MISTAKES)
    (src / "x.txt").write_text("x")
    run = run_ok(ws, [PythonScriptStep(name="m", script_name="mistakes.py", source_directory=str(src))])
    out = run.find_step_run("m")[0].get_stdout_log()
    assert "missing: no model 'missing' is registered" in out
    assert "no path: model_path 'no/such/file.txt' is neither a file or folder" in out
    assert "bad name: model name '../m'" in out
    assert "no version: no model 'missing' version 3 is registered" in out
    assert list(ws.ledger.events(type="model.registered")) == []


def test_a_request_nobody_answers_times_out_with_a_clear_error(tmp_path):
    writer = ChannelWriter(str(tmp_path / "channel.jsonl"))
    with pytest.raises(NoReply, match="did not answer the registration of model 'm' within 0.2 s"):
        writer.request({"op": "register_model", "name": "m"}, str(tmp_path / "replies"), timeout=0.2,
                       what="the registration of model 'm'")
    # the request is on the channel, with the reply id the executor answers to
    reader = ChannelReader(tmp_path / "channel.jsonl")
    (sent,) = reader.read_new()
    assert sent["op"] == "register_model" and len(sent["reply"]) == 32


def test_a_reply_id_cannot_name_a_file_outside_the_replies_folder(tmp_path):
    write_reply(tmp_path / "replies", "../escaped", {"ok": True})
    write_reply(tmp_path / "replies", "0" * 32, {"ok": True})
    assert not (tmp_path / "escaped.json").exists()
    assert [p.name for p in (tmp_path / "replies").iterdir()] == ["0" * 32 + ".json"]


def test_register_model_outside_a_step_refuses_a_name_that_is_not_one_name(ws, tmp_path):
    f = write(tmp_path / "m.txt", "m")
    with pytest.raises(UserErrorException, match="model name 'a/b'"):
        Model.register(ws, str(f), "a/b")
    assert Model.register(ws, str(f), "ok").version == 1
