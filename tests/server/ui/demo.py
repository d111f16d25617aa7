"""A small workspace for the web UI's tests: dataset "raw", and experiment "demo" with two
runs of prepare (reads raw) -> train -> evaluate. The first completes (train logs a loss series, an accuracy and a
table, and registers model "clf"); the second changes train's parameter and asks evaluate to
fail, so prepare is reused, train runs again and evaluate fails with a message on stderr."""
from __future__ import annotations

import textwrap
from pathlib import Path

PREPARE = """
import os, sys
out = sys.argv[sys.argv.index("--out") + 1]
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "rows.csv"), "w").write("x,y\\n1,2\\n3,4\\n")
print("prepared 2 rows")
"""

TRAIN = """
import os, sys
from canalis.core import Run
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
run = Run.get_context()
rate = float(args["--rate"])
for i in range(8):
    run.log("loss", round(1.0 / (1 + i * rate), 4))
run.log("accuracy", 0.5 + rate / 4)
run.log_table("per_class", {"class": ["a", "b"], "recall": [0.9, 0.8]})
os.makedirs(args["--model"], exist_ok=True)
open(os.path.join(args["--model"], "weights.txt"), "w").write(f"rate={rate}\\n")
run.register_model("clf", model_path=args["--model"])
print("trained with rate", rate)
"""

EVALUATE = """
import sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
print("evaluating", args["--model"])
if args["--fail"] == "1":
    print("evaluation failed: the model scored below the threshold", file=sys.stderr)
    sys.exit(3)
print("evaluation passed")
"""


def build(root: Path):
    """Make the workspace in `root` and run both runs; returns (workspace, [run ids])."""
    from canalis.core import Dataset, Experiment, Workspace
    from canalis.data import OutputFileDatasetConfig
    from canalis.pipeline.core import Pipeline, PipelineParameter
    from canalis.pipeline.steps import PythonScriptStep

    src = root / "src"
    src.mkdir(parents=True)
    for name, body in (("prepare.py", PREPARE), ("train.py", TRAIN), ("evaluate.py", EVALUATE)):
        (src / name).write_text(textwrap.dedent(body))
    ws = Workspace.create("ui-demo", path=str(root), exist_ok=True)
    store = ws.get_default_datastore()
    (store.root / "raw").mkdir(parents=True, exist_ok=True)
    (store.root / "raw" / "data.csv").write_text("x,y\n1,2\n3,4\n")
    raw = Dataset.Tabular.from_delimited_files(path=(store, "raw/data.csv")).register(ws, "raw", description="input rows")
    prepared, model = OutputFileDatasetConfig(name="prepared"), OutputFileDatasetConfig(name="model")
    rate, fail = PipelineParameter("rate", default_value=0.5), PipelineParameter("fail", default_value=0)
    steps = [
        PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=str(src),
                         inputs=[raw.as_named_input("raw")], arguments=["--out", prepared]),
        PythonScriptStep(name="train", script_name="train.py", source_directory=str(src),
                         arguments=["--data", prepared.as_input(), "--rate", rate, "--model", model]),
        PythonScriptStep(name="evaluate", script_name="evaluate.py", source_directory=str(src),
                         arguments=["--data", prepared.as_input(), "--model", model.as_input(), "--fail", fail]),
    ]
    pipeline = Pipeline(workspace=ws, steps=steps)
    ids = []
    for params in ({}, {"rate": 0.25, "fail": 1}):
        run = Experiment(ws, "demo").submit(pipeline, pipeline_parameters=params)
        run.wait_for_completion(show_output=False, raise_on_error=False)
        ids.append(run.id)
    return ws, ids


def many_runs(ledger, experiment: str, n: int, batch: int = 500) -> None:
    """Record `n` finished runs of `experiment` (two steps each; every 7th failed, every 5th
    tagged team=vision) straight into the ledger: a big history without running anything."""
    from canalis.ledger import events as ev

    key = "0" * 64
    for start in range(0, n, batch):
        events = []
        for i in range(start, min(n, start + batch)):
            rid = f"{experiment}_{i:06d}"
            failed = i % 7 == 0
            events += [ev.RunSubmitted(run_id=rid, experiment=experiment, parameters={"i": i},
                                       tags={"team": "vision" if i % 5 == 0 else "nlp"},
                                       git={"commit": f"{i:040x}", "dirty": i % 2 == 0}, user="bench"),
                       ev.RunStarted(run_id=rid, host="bench", pid=1),
                       ev.StepStarted(run_id=rid, step_run_id=f"{rid}.a", step_name="a", reuse_key=key),
                       ev.StepCompleted(run_id=rid, step_run_id=f"{rid}.a", step_name="a", reuse_key=key,
                                        duration_s=1.0)]
            if failed:
                events += [ev.StepStarted(run_id=rid, step_run_id=f"{rid}.b", step_name="b", reuse_key=key),
                           ev.StepFailed(run_id=rid, step_run_id=f"{rid}.b", step_name="b", reuse_key=key,
                                         error="exit code 1", exit_code=1),
                           ev.RunFailed(run_id=rid, error="step b failed", failed_steps=["b"])]
            else:
                events += [ev.StepStarted(run_id=rid, step_run_id=f"{rid}.b", step_name="b", reuse_key=key),
                           ev.StepCompleted(run_id=rid, step_run_id=f"{rid}.b", step_name="b", reuse_key=key,
                                            duration_s=2.0),
                           ev.RunCompleted(run_id=rid, duration_s=3.0 + i % 11)]
        ledger.append_many(events)


GATED = """
import os, sys, time
gate = sys.argv[1]
print("started, waiting for", os.path.basename(gate), flush=True)
while not os.path.exists(gate):
    time.sleep(0.05)
print("finished after the gate opened", flush=True)
"""


def submit_gated(ws, root: Path):
    """Submit experiment "live": step one waits for file gate1, then step two for gate2.
    Returns (run, gate1, gate2); the run goes on in its own executor process."""
    from canalis.core import Experiment
    from canalis.pipeline.core import Pipeline
    from canalis.pipeline.steps import PythonScriptStep

    src = root / "gated"
    src.mkdir()
    (src / "gated.py").write_text(textwrap.dedent(GATED))
    gate1, gate2 = root / "gate1", root / "gate2"
    one = PythonScriptStep(name="one", script_name="gated.py", source_directory=str(src), arguments=[str(gate1)],
                           allow_reuse=False)
    two = PythonScriptStep(name="two", script_name="gated.py", source_directory=str(src), arguments=[str(gate2)],
                           allow_reuse=False)
    two.run_after(one)
    run = Experiment(ws, "live").submit(Pipeline(workspace=ws, steps=[one, two]))
    return run, gate1, gate2
