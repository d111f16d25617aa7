"""Reuse by ledger replay, end to end with real step processes."""
from __future__ import annotations

from pathlib import Path

from canalis.core import Dataset, Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, started_steps, statuses, write

PREPARE = """
import argparse, os
from canalis.core import Run
p = argparse.ArgumentParser(); p.add_argument("--out"); p.add_argument("--scale", type=float, default=1.0)
a = p.parse_args()
rows = [i * a.scale for i in range(10)]
open(os.path.join(a.out, "data.json"), "w").write(repr(rows))
Run.get_context().log("rows", len(rows))
"""
TRAIN = """
import argparse, os
from canalis.core import Run
p = argparse.ArgumentParser(); p.add_argument("--data"); p.add_argument("--model")
a = p.parse_args()
rows = eval(open(os.path.join(a.data, "data.json")).read())
open(os.path.join(a.model, "model.txt"), "w").write(str(sum(rows) / len(rows)))
Run.get_context().log("mean", sum(rows) / len(rows))
"""
COMPARE = """
import argparse, os
from canalis.core import Run
p = argparse.ArgumentParser(); p.add_argument("--model"); p.add_argument("--result")
a = p.parse_args()
mean = float(open(os.path.join(a.model, "model.txt")).read())
open(os.path.join(a.result, "result.txt"), "w").write("good" if mean > 1 else "bad")
run = Run.get_context()
run.log("score", mean)
run.parent.log("best_score", mean)
"""


def seed_pipeline(ws, src, scale=None, allow_reuse=True, train_input_name=None):
    script(src, "prepare.py", PREPARE)
    if not (src / "train.py").exists():
        script(src, "train.py", TRAIN)
    if not (src / "compare.py").exists():
        script(src, "compare.py", COMPARE)
    prepared = OutputFileDatasetConfig(name="prepared")
    model = OutputFileDatasetConfig(name="model")
    result = OutputFileDatasetConfig(name="result")
    prep_args = ["--out", prepared] + (["--scale", scale] if scale is not None else [])
    prepare = PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=str(src), arguments=prep_args)
    train = PythonScriptStep(name="train", script_name="train.py", source_directory=str(src), allow_reuse=allow_reuse,
                             arguments=["--data", prepared.as_input(train_input_name), "--model", model])
    compare = PythonScriptStep(name="compare", script_name="compare.py", source_directory=str(src),
                               arguments=["--model", model.as_input(), "--result", result])
    return Pipeline(ws, [prepare, train, compare])


def submit(ws, pipeline, **kw):
    run = Experiment(ws, "exp").submit(pipeline, **kw)
    assert run.wait_for_completion(raise_on_error=False) == "Completed", run.get_details()
    return run


def test_seed_flow_runs_through_output_dataset_configs(ws, src, counter, tmp_path):
    run = submit(ws, seed_pipeline(ws, src))
    assert statuses(run) == {"prepare": "Completed", "train": "Completed", "compare": "Completed"}
    assert sorted(counter.lines()) == ["compare.py", "prepare.py", "train.py"]
    compare = run.find_step_run("compare")[0]
    out = compare.get_output_data("result").download(tmp_path / "dl")
    step_run_id = compare.get_output_data("result").path_on_datastore.split("/")[1]
    assert Path(out) == tmp_path / "dl" / "azureml" / step_run_id / "result"  # SDK v1's layout under local_path
    assert (Path(out) / "result.txt").read_text() == "good"
    assert compare.get_metrics() == {"score": 4.5}
    assert run.get_metrics() == {"best_score": 4.5}
    assert run.find_step_run("prepare")[0].get_metrics() == {"rows": 10}


def test_second_submit_reuses_every_step_and_starts_no_process(ws, src, counter):
    submit(ws, seed_pipeline(ws, src))
    counter.reset()
    second = submit(ws, seed_pipeline(ws, src))
    assert statuses(second) == {"prepare": "Reused", "train": "Reused", "compare": "Reused"}
    assert counter.lines() == []
    assert started_steps(ws, second) == []
    assert len(list(ws.ledger.events(stream=f"run:{second.id}", type="step.reused"))) == 3


def test_a_shared_source_folder_is_one_snapshot_for_all_its_steps(ws, src, counter):
    submit(ws, seed_pipeline(ws, src))
    script(src, "train.py", TRAIN + "\nprint('now with a log line')\n")
    counter.reset()
    run = submit(ws, seed_pipeline(ws, src))
    # as in SDK v1, a step's key covers its whole source_directory
    assert set(statuses(run).values()) == {"Completed"}
    assert sorted(counter.lines()) == ["compare.py", "prepare.py", "train.py"]


def test_editing_one_steps_folder_reruns_it_and_dependants_only(ws, tmp_path, counter):
    folders = {n: tmp_path / n for n in ("p", "t", "c")}
    for folder, (name, body) in zip(folders.values(), (("prepare.py", PREPARE), ("train.py", TRAIN), ("compare.py", COMPARE))):
        script(folder, name, body)

    def build():
        prepared, model, result = (OutputFileDatasetConfig(name=n) for n in ("prepared", "model", "result"))
        return Pipeline(ws, [
            PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=str(folders["p"]), arguments=["--out", prepared]),
            PythonScriptStep(name="train", script_name="train.py", source_directory=str(folders["t"]),
                             arguments=["--data", prepared.as_input(), "--model", model]),
            PythonScriptStep(name="compare", script_name="compare.py", source_directory=str(folders["c"]),
                             arguments=["--model", model.as_input(), "--result", result]),
        ])

    submit(ws, build())
    script(folders["t"], "train.py", TRAIN.replace("sum(rows) / len(rows))", "sum(rows) / len(rows) + 1)", 1))
    counter.reset()
    run = submit(ws, build())
    assert statuses(run) == {"prepare": "Reused", "train": "Completed", "compare": "Completed"}
    assert sorted(counter.lines()) == ["compare.py", "train.py"]


def test_early_cutoff_keeps_downstream_reused(ws, tmp_path, counter):
    p, t = tmp_path / "p", tmp_path / "t"
    script(p, "prepare.py", PREPARE)
    script(t, "train.py", TRAIN)

    def build():
        prepared, model = OutputFileDatasetConfig(name="prepared"), OutputFileDatasetConfig(name="model")
        return Pipeline(ws, [
            PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=str(p), arguments=["--out", prepared]),
            PythonScriptStep(name="train", script_name="train.py", source_directory=str(t),
                             arguments=["--data", prepared.as_input(), "--model", model]),
        ])

    submit(ws, build())
    # a change to prepare's code that produces the same bytes
    script(p, "prepare.py", PREPARE + "\n# a comment changes the snapshot, not the output\n")
    counter.reset()
    run = submit(ws, build())
    assert statuses(run) == {"prepare": "Completed", "train": "Reused"}
    assert counter.lines() == ["prepare.py"]


def test_amlignored_edit_causes_no_rerun(ws, src, counter):
    write(src / ".amlignore", "notes/\n*.tmp\n")
    write(src / "notes" / "todo.md", "first")
    submit(ws, seed_pipeline(ws, src))
    write(src / "notes" / "todo.md", "second, longer")
    write(src / "scratch.tmp", "x")
    counter.reset()
    run = submit(ws, seed_pipeline(ws, src))
    assert set(statuses(run).values()) == {"Reused"}
    assert counter.lines() == []


def test_allow_reuse_false_always_runs(ws, src, counter):
    submit(ws, seed_pipeline(ws, src, allow_reuse=False))
    counter.reset()
    run = submit(ws, seed_pipeline(ws, src, allow_reuse=False))
    # train runs again; its output is identical, so compare is still reused
    assert statuses(run) == {"prepare": "Reused", "train": "Completed", "compare": "Reused"}
    assert counter.lines() == ["train.py"]


def test_regenerate_outputs_runs_everything(ws, src, counter):
    submit(ws, seed_pipeline(ws, src))
    counter.reset()
    run = submit(ws, seed_pipeline(ws, src), regenerate_outputs=True)
    assert set(statuses(run).values()) == {"Completed"}
    assert sorted(counter.lines()) == ["compare.py", "prepare.py", "train.py"]


def test_hash_paths_bring_ignored_files_into_the_key(ws, src, counter):
    write(src / ".amlignore", "config/\n")
    write(src / "config" / "settings.txt", "v1")
    script(src, "prepare.py", PREPARE)

    def build():
        out = OutputFileDatasetConfig(name="prepared")
        return Pipeline(ws, [PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=str(src),
                                              arguments=["--out", out], hash_paths=["config/settings.txt"])])

    submit(ws, build())
    counter.reset()
    assert statuses(submit(ws, build())) == {"prepare": "Reused"}
    write(src / "config" / "settings.txt", "v2")
    assert statuses(submit(ws, build())) == {"prepare": "Completed"}
    assert counter.lines() == ["prepare.py"]


def test_parameter_default_and_override(ws, src, counter):
    scale = PipelineParameter("scale", default_value=1.0)
    first = submit(ws, seed_pipeline(ws, src, scale=scale))
    assert first.get_details()["parameters"] == {"scale": 1.0}
    again = submit(ws, seed_pipeline(ws, src, scale=scale), pipeline_parameters={"scale": 1.0})
    assert set(statuses(again).values()) == {"Reused"}
    counter.reset()
    changed = submit(ws, seed_pipeline(ws, src, scale=scale), pipeline_parameters={"scale": 3.0})
    assert set(statuses(changed).values()) == {"Completed"}
    assert changed.find_step_run("compare")[0].get_metrics()["score"] == 13.5


def test_renaming_an_input_reruns_the_reader(ws, src, counter):
    submit(ws, seed_pipeline(ws, src))
    counter.reset()
    run = submit(ws, seed_pipeline(ws, src, train_input_name="training_rows"))
    assert statuses(run) == {"prepare": "Reused", "train": "Completed", "compare": "Reused"}


def test_datastore_file_edited_in_place_reruns_its_readers(ws, src, counter):
    store = ws.get_default_datastore()
    data = store.root / "raw" / "values.csv"
    write(data, "x\n1\n2\n")
    script(src, "total.py", """
import argparse, os
from canalis.core import Run
p = argparse.ArgumentParser(); p.add_argument("--out"); a = p.parse_args()
df = Run.get_context().input_datasets["values"].to_pandas_dataframe()
open(os.path.join(a.out, "total.txt"), "w").write(str(int(df["x"].sum())))
""")

    def build():
        ds = Dataset.Tabular.from_delimited_files(path=(store, "raw/values.csv"))
        out = OutputFileDatasetConfig(name="total")
        return Pipeline(ws, [PythonScriptStep(name="total", script_name="total.py", source_directory=str(src),
                                              inputs=[ds.as_named_input("values")], arguments=["--out", out])])

    submit(ws, build())
    counter.reset()
    assert statuses(submit(ws, build())) == {"total": "Reused"}
    write(data, "x\n1\n2\n40\n")
    run = submit(ws, build())
    assert statuses(run) == {"total": "Completed"}
    assert counter.lines() == ["total.py"]
    tree = run.find_step_run("total")[0].get_details()["outputs"]["total"]
    entry = ws.store.get_tree(tree)[0]
    assert ws.store.get_bytes(entry.digest) == b"43"


def test_reuse_survives_a_restarted_process_because_it_reads_the_ledger(ws, src, counter):
    submit(ws, seed_pipeline(ws, src))
    from canalis.core import Workspace

    fresh = Workspace(path=ws.root)  # a new ledger connection: nothing cached in memory
    counter.reset()
    run = Experiment(fresh, "exp").submit(seed_pipeline(fresh, src))
    run.wait_for_completion()
    assert set(statuses(run).values()) == {"Reused"}
    reused = [r.payload["step_name"] for r in fresh.ledger.events(stream=f"run:{run.id}", type="step.reused")]
    assert sorted(reused) == ["compare", "prepare", "train"]


def test_why_names_the_changed_file_and_parameter(ws, tmp_path, counter):
    from canalis.executor.why import explain

    p, t = tmp_path / "p", tmp_path / "t"
    script(p, "prepare.py", PREPARE)
    script(t, "train.py", TRAIN)

    def build(scale):
        prepared, model = OutputFileDatasetConfig(name="prepared"), OutputFileDatasetConfig(name="model")
        return Pipeline(ws, [
            PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=str(p),
                             arguments=["--out", prepared, "--scale", scale]),
            PythonScriptStep(name="train", script_name="train.py", source_directory=str(t),
                             arguments=["--data", prepared.as_input(), "--model", model]),
        ])

    scale = PipelineParameter("scale", default_value=1.0)
    first = submit(ws, build(scale))
    assert explain(ws.ledger, ws.store, first.id, "prepare")["reason"].startswith("no earlier completed step run")
    second = submit(ws, build(scale))
    assert explain(ws.ledger, ws.store, second.id, "train")["decision"] == "reused"
    write(t / "helper.py", "X = 1\n")
    third = submit(ws, build(scale), pipeline_parameters={"scale": 2.0})
    prep = explain(ws.ledger, ws.store, third.id, "prepare")
    assert prep["decision"] == "ran"
    assert [(d["part"], d.get("name"), d["before"], d["after"]) for d in prep["differences"]] == [("parameter", "scale", 1.0, 2.0)]
    train = explain(ws.ledger, ws.store, third.id, "train")
    parts = {d["part"]: d for d in train["differences"]}
    assert parts["source"]["files"] == {"added": ["helper.py"], "removed": [], "changed": []}
    assert parts["input"]["name"] == "prepared" and parts["input"]["files"]["changed"] == ["data.json"]

    from click.testing import CliRunner

    from canalis.cli import main

    out = CliRunner().invoke(main, ["why", third.id, "prepare", "--workspace", str(ws.root)])
    assert out.exit_code == 0 and "parameter scale: 1.0 -> 2.0" in out.output
