"""A reused step run answers for the step run it reused: metrics (its own and what it logged on
its pipeline run), logs, files, outputs and registered models, everywhere they are read (the
Python API, `canalis show / metrics / logs / lineage`, `--json`), marked as reused from it."""
from __future__ import annotations

import json
import subprocess
import sys

from canalis.core import Dataset, Experiment, Model
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, statuses, write

PREPARE = """
import argparse, os
from canalis.core import Run
p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--scale", type=float)
a = p.parse_args()
df = Run.get_context().input_datasets["raw"].to_pandas_dataframe()
rows = [float(v) * a.scale for v in df["v"]]
open(os.path.join(a.out, "rows.txt"), "w").write(" ".join(map(str, rows)))
run = Run.get_context()
run.log("rows", len(rows))
run.log_list("values", rows)
run.parent.log("prepared_rows", len(rows))
print("prepared", len(rows), "rows")
"""
TRAIN = """
import argparse, os
from canalis.core import Run
p = argparse.ArgumentParser(); p.add_argument("--data"); p.add_argument("--model")
a = p.parse_args()
rows = [float(x) for x in open(os.path.join(a.data, "rows.txt")).read().split()]
mean = sum(rows) / len(rows)
open(os.path.join(a.model, "model.txt"), "w").write(str(mean))
run = Run.get_context()
run.log("mean", mean)
run.log_row("fit", epoch=1, loss=0.5)
run.log_row("fit", epoch=2, loss=0.25)
run.parent.log("accuracy", 0.75)
open("notes.txt", "w").write("trained on %d rows" % len(rows))
run.upload_file("outputs/notes.txt", "notes.txt")
run.register_model("mean_model", os.path.join(a.model, "model.txt"), tags={"kind": "mean"})
print("trained mean", mean)
import sys; print("a warning line", file=sys.stderr)
"""


def canalis(ws, *args):
    out = subprocess.run([sys.executable, "-c", "from canalis.cli import main; main()", *args, "--workspace", str(ws.root)],
                         capture_output=True, text=True)
    assert out.returncode == 0, f"canalis {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def walk(node):
    yield node
    for c in node.get("children", []):
        yield from walk(c)


def pipeline(ws, src, scale=1.0):
    script(src, "prepare.py", PREPARE)
    script(src, "train.py", TRAIN)
    raw = Dataset.get_by_name(ws, "raw")
    prepared, model = OutputFileDatasetConfig(name="prepared"), OutputFileDatasetConfig(name="model")
    return Pipeline(ws, [
        PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=str(src),
                         inputs=[raw.as_named_input("raw")],
                         arguments=["--out", prepared, "--scale", PipelineParameter("scale", default_value=scale)]),
        PythonScriptStep(name="train", script_name="train.py", source_directory=str(src),
                         arguments=["--data", prepared.as_input(), "--model", model]),
    ])


def register_raw(ws):
    store = ws.get_default_datastore()
    write(store.root / "raw" / "v.csv", "v\n1\n2\n3\n")
    Dataset.Tabular.from_delimited_files(path=(store, "raw/v.csv")).register(ws, "raw")


def submit(ws, src):
    run = Experiment(ws, "reuse").submit(pipeline(ws, src))
    assert run.wait_for_completion(raise_on_error=False) == "Completed", run.get_details()
    return run


def upstream_content(result) -> set:
    """What lineage reaches upstream, other than runs and step runs (whose ids differ between
    an original and a run that reused it): sources, datasets, trees, data."""
    return {n["id"] for n in walk(result["upstream"]) if n["kind"] not in ("run", "step")}


def test_a_fully_reused_run_answers_with_the_originals_metrics_logs_files_and_lineage(ws, src, counter):
    register_raw(ws)
    first = submit(ws, src)
    counter.reset()
    second = submit(ws, src)
    assert statuses(second) == {"prepare": "Reused", "train": "Reused"} and counter.lines() == []

    # Python API: the pipeline run's metrics (logged by its steps with run.parent.log) and each step's
    assert first.get_metrics() == {"prepared_rows": 3, "accuracy": 0.75}
    assert second.get_metrics() == first.get_metrics()
    for name in ("prepare", "train"):
        old, new = first.find_step_run(name)[0], second.find_step_run(name)[0]
        assert new.get_metrics() == old.get_metrics() != {}
        assert new.get_stdout_log() == old.get_stdout_log() != ""
        assert new.get_stderr_log() == old.get_stderr_log()
        assert new.get_file_names() == old.get_file_names()
        assert new.get_details()["reusedFrom"] == old.id and new.get_details()["reusedRunId"] == first.id
    train = second.find_step_run("train")[0]
    assert train.get_metrics() == {"mean": 2.0, "fit": {"epoch": [1, 2], "loss": [0.5, 0.25]}}
    assert "outputs/notes.txt" in train.get_file_names()
    assert recursive_values(second) == recursive_values(first)
    # the model the original step registered: the reused run answers for it, nothing was registered again
    assert [(m.name, m.version) for m in Model.list(ws, run_id=second.id)] == [("mean_model", 1)]
    assert len(list(ws.ledger.events(type="model.registered"))) == 1
    assert ws.ledger.metrics(run_id=second.id) == []  # nothing copied: the queries follow reused_from

    # the CLI, and its JSON
    m1, m2 = (json.loads(canalis(ws, "metrics", r.id, "--json")) for r in (first, second))
    assert (m2["run"], m2["steps"]) == (m1["run"], m1["steps"]) and m2["run"]["accuracy"] == 0.75
    assert m1["reused_from"] == {}
    assert m2["reused_from"] == {n: {"run_id": first.id, "step_run_id": first.find_step_run(n)[0].id}
                                 for n in ("prepare", "train")}
    assert json.loads(canalis(ws, "metrics", "latest", "--json"))["run"] == m1["run"]
    table = canalis(ws, "metrics", second.id)
    assert "accuracy" in table and first.id in table
    shown = json.loads(canalis(ws, "show", second.id, "--json"))
    assert [s["reused_run_id"] for s in shown["steps"]] == [first.id, first.id]
    assert shown["registered"] == [{"kind": "model", "name": "mean_model", "version": 1,
                                    "digest": ws.ledger.model("mean_model").digest, "step": "train",
                                    "registered_in": first.id,
                                    "reused_from": first.find_step_run("train")[0].id}]
    text = canalis(ws, "show", second.id)
    assert f"reused from {first.id}" in text and "registered model mean_model:1 by step train (reused" in text
    logs1, logs2 = canalis(ws, "logs", first.id), canalis(ws, "logs", second.id)
    assert f"== train stdout (reused from run {first.id}) ==" in logs2
    assert logs2.replace(f" (reused from run {first.id})", "") == logs1

    # lineage: the reused run reaches the same data and code, and the same model downstream
    up1, up2 = (json.loads(canalis(ws, "lineage", r.id, "--json")) for r in (first, second))
    assert upstream_content(up2) == upstream_content(up1)
    assert "dataset:raw:1" in upstream_content(up2) and any(i.startswith("source:") for i in upstream_content(up2))
    down = json.loads(canalis(ws, "lineage", train.id, "--json"))
    assert "model:mean_model:1" in {n["id"] for n in walk(down["downstream"])}


def recursive_values(run) -> list:
    """get_metrics(recursive=True) without the ids (which differ between the two runs)."""
    return sorted(json.dumps(v, sort_keys=True) for v in run.get_metrics(recursive=True).values())


def test_a_partly_reused_run_answers_for_the_reused_steps_parent_metrics(ws, src, counter):
    register_raw(ws)
    submit(ws, src)
    # the same prepare, and a train from another folder that logs another accuracy: prepare is reused
    script(src.parent / "train_only", "train.py", TRAIN.replace('run.parent.log("accuracy", 0.75)', 'run.parent.log("accuracy", 0.5)'))
    raw = Dataset.get_by_name(ws, "raw")
    prepared, model = OutputFileDatasetConfig(name="prepared"), OutputFileDatasetConfig(name="model")
    counter.reset()
    run = Experiment(ws, "reuse").submit(Pipeline(ws, [
        PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=str(src),
                         inputs=[raw.as_named_input("raw")],
                         arguments=["--out", prepared, "--scale", PipelineParameter("scale", default_value=1.0)]),
        PythonScriptStep(name="train", script_name="train.py", source_directory=str(src.parent / "train_only"),
                         arguments=["--data", prepared.as_input(), "--model", model]),
    ]))
    assert run.wait_for_completion(raise_on_error=False) == "Completed"
    assert statuses(run) == {"prepare": "Reused", "train": "Completed"} and counter.lines() == ["train.py"]
    # prepare's parent metric comes from the run it was reused from, train's from this run
    assert run.get_metrics() == {"prepared_rows": 3, "accuracy": 0.5}
    rows = ws.ledger.run_metrics(run.id)
    by = {r.name: r for r in rows if r.step_run_id is None}
    assert by["prepared_rows"].run_id != run.id and by["accuracy"].run_id == run.id
    assert by["accuracy"].by_step_run_id == run.find_step_run("train")[0].id


def test_a_parent_metric_names_the_step_that_logged_it(ws, src, counter):
    register_raw(ws)
    run = submit(ws, src)
    events = [r.payload for r in ws.ledger.events(stream=f"run:{run.id}", type="metric.logged")]
    parent = {e["name"]: e for e in events if e["step_run_id"] is None}
    assert parent["accuracy"]["by_step_run_id"] == run.find_step_run("train")[0].id
    assert parent["prepared_rows"]["by_step_run_id"] == run.find_step_run("prepare")[0].id
    assert all(e["by_step_run_id"] == e["step_run_id"] for e in events if e["step_run_id"] is not None)
    # a metric logged on the run from outside any step names no step
    run.log("by_hand", 1)
    assert ws.ledger.metrics(run_id=run.id)[-1].by_step_run_id is None
