"""`canalis lineage`: from a registered model back to the dataset version and git commit."""
from __future__ import annotations

import json
import os
import subprocess

from click.testing import CliRunner

from canalis.cli import main
from canalis.core import Dataset, Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, write

PREP = """
import os, sys
from canalis.core import Run
df = Run.get_context().input_datasets["raw"].to_pandas_dataframe()
df.to_csv(os.path.join(sys.argv[1], "clean.csv"), index=False)
"""
TRAIN = """
import os, sys
rows = open(os.path.join(sys.argv[1], "clean.csv")).read().count("\\n")
open(os.path.join(sys.argv[2], "model.txt"), "w").write(f"model over {rows} rows")
"""


def git(repo, *args):
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.org"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


def walk(node):
    yield node
    for c in node.get("children", []):
        yield from walk(c)


def test_lineage_from_model_to_dataset_version_and_commit(ws, tmp_path, counter):
    store = ws.get_default_datastore()
    write(store.root / "raw" / "data.csv", "a,b\n1,2\n3,4\n")
    Dataset.Tabular.from_delimited_files(path=(store, "raw/data.csv")).register(ws, "raw_table")
    write(store.root / "raw" / "data.csv", "a,b\n1,2\n3,4\n5,6\n")
    Dataset.Tabular.from_delimited_files(path=(store, "raw/data.csv")).register(ws, "raw_table", create_new_version=True)

    repo = tmp_path / "repo"
    script(repo / "prep", "prep.py", PREP)
    script(repo / "train", "train.py", TRAIN)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "pipeline")
    commit = git(repo, "rev-parse", "HEAD")

    raw = Dataset.get_by_name(ws, "raw_table", version=2)
    clean, model = OutputFileDatasetConfig(name="clean"), OutputFileDatasetConfig(name="model")
    run = Experiment(ws, "lin").submit(Pipeline(ws, [
        PythonScriptStep(name="prep", script_name="prep.py", source_directory=str(repo / "prep"),
                         inputs=[raw.as_named_input("raw")], arguments=[clean]),
        PythonScriptStep(name="train", script_name="train.py", source_directory=str(repo / "train"),
                         arguments=[clean.as_input(), model]),
    ]))
    run.wait_for_completion()
    registered = run.register_model("clf", model_path="train/outputs/model", datasets=[("training", raw)])

    out = CliRunner().invoke(main, ["lineage", "model:clf", "--json", "--workspace", str(ws.root)])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    nodes = list(walk(result["upstream"]))
    ids = {n["id"] for n in nodes}
    assert result["node"] == f"model:clf:{registered.version}"
    assert "dataset:raw_table:2" in ids and "dataset:raw_table:1" not in ids
    steps = {n["name"]: n for n in nodes if n["kind"] == "step"}
    assert set(steps) == {"prep", "train"}
    sources = [n for n in nodes if n["kind"] == "source"]
    assert {s["git"]["commit"] for s in sources} == {commit}

    down = CliRunner().invoke(main, ["lineage", "dataset:raw_table:2", "--json", "--workspace", str(ws.root)])
    used = {n["id"] for n in walk(json.loads(down.output)["downstream"])}
    assert "model:clf:1" in used and any(i.startswith("step:") for i in used)
    dot = CliRunner().invoke(main, ["lineage", run.id, "--dot", "--workspace", str(ws.root)]).output
    assert dot.startswith("digraph lineage") and "dataset:raw_table:2" in dot
    text = CliRunner().invoke(main, ["lineage", "model:clf", "--workspace", str(ws.root)]).output
    assert commit[:12] in text and "raw_table:2" in text

    # after the run is garbage-collected (key documents included) the ledger still knows the edges
    import time

    time.sleep(0.2)
    assert CliRunner().invoke(main, ["gc", "--keep-last", "0", "--grace", "0s", "--workspace", str(ws.root)]).exit_code == 0
    key = run.find_step_run("train")[0].get_details()["reuseKey"]
    assert not ws.store.exists(key)
    after = json.loads(CliRunner().invoke(main, ["lineage", "model:clf", "--json", "--workspace", str(ws.root)]).output)
    assert "dataset:raw_table:2" in {n["id"] for n in walk(after["upstream"])}
