"""ParallelRunStep: the entry script over mini-batches of a FileDataset or a TabularDataset,
on the local runner's process pool and on a real Dask cluster, compared with a sequential
loop over the same mini-batches; item-by-item reuse; error_threshold."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from canalis.core import Dataset, Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import ParallelRunConfig, ParallelRunStep
from tests.canalis.conftest import write

ENTRY = """
import argparse, os, time
from azureml_user.parallel_run import EntryScript
from canalis.core import Run

FACTOR = None

def init():
    global FACTOR
    p = argparse.ArgumentParser()
    p.add_argument("--factor", type=int)
    FACTOR = p.parse_args().factor
    EntryScript().logger.info("init in %s", os.getpid())

def run(mini_batch):
    counter = os.environ.get("CANALIS_TEST_COUNTER")
    if hasattr(mini_batch, "columns"):  # a TabularDataset's mini-batch
        if counter:
            with open(counter, "a") as f:
                f.write("".join(f"row {k}\\n" for k in mini_batch["k"]))
        out = mini_batch.copy()
        out["y"] = out["x"] * FACTOR
        return out[["k", "y"]]
    assert Run.get_context().id
    results = []
    for path in mini_batch:
        if counter:
            with open(counter, "a") as f:
                f.write(os.path.basename(path) + "\\n")
        text = open(path).read().strip()
        if text == "boom":
            raise ValueError("cannot read " + os.path.basename(path))
        if text == "skip":
            continue  # not returned: a failed item
        if text == "hang":  # in Python code, for a minute
            t0 = time.monotonic()
            while time.monotonic() - t0 < 60:
                time.sleep(0.05)
        if text == "block":  # in one blocking call, for a minute
            time.sleep(60)
        if text in ("hang", "block"):  # done at last: only the time limit fails it
            results.append(f"{os.path.basename(path)} late")
            continue
        EntryScript().logger.info("did %s", os.path.basename(path))
        results.append(f"{os.path.basename(path)} {int(text) * FACTOR}")
    return results
"""


def sequential(src: Path, batches, argv):
    """The same entry script, imported here, init() once, run() over the mini-batches in order."""
    spec = importlib.util.spec_from_file_location("entry_under_test", src / "entry.py")
    mod = importlib.util.module_from_spec(spec)
    saved, counter = sys.argv, os.environ.pop("CANALIS_TEST_COUNTER", None)  # only the step's items are counted
    sys.argv = ["entry.py", *argv]
    try:
        spec.loader.exec_module(mod)
        mod.init()
        lines = []
        for b in batches:
            out = mod.run(b)
            lines += out.to_csv(sep=" ", header=False, index=False).splitlines() if hasattr(out, "to_csv") else list(out)
        return lines
    finally:
        sys.argv = saved
        if counter is not None:
            os.environ["CANALIS_TEST_COUNTER"] = counter


@pytest.fixture
def entry(src, monkeypatch):
    from canalis.compat.steps import SHIM

    write(src / "entry.py", ENTRY)
    monkeypatch.syspath_prepend(str(SHIM))
    monkeypatch.setenv("CANALIS_TEST_COUNTER", str(src.parent / "items.txt"))
    return src


def processed(src) -> list[str]:
    path = src.parent / "items.txt"
    items = path.read_text().splitlines() if path.exists() else []
    path.unlink(missing_ok=True)
    return sorted(items)


def files(ws, names_values: dict):
    store = ws.get_default_datastore()
    for name, value in names_values.items():
        write(store.root / "imgs" / name, f"{value}\n")
    return Dataset.File.from_files(path=(store, "imgs"))


def prs_pipeline(ws, src, dataset, *, size=4, threshold=-1, target=None, name="prs", timeout=60):
    out = OutputFileDatasetConfig(name="scores")
    cfg = ParallelRunConfig(source_directory=str(src), entry_script="entry.py", mini_batch_size=size,
                            error_threshold=threshold, output_action="append_row", compute_target=target,
                            node_count=1, process_count_per_node=2, run_invocation_timeout=timeout)
    step = ParallelRunStep(name=name, parallel_run_config=cfg, inputs=[dataset.as_named_input("data")], output=out,
                           arguments=["--factor", 3], allow_reuse=True)
    return Pipeline(ws, [step])


def submit(ws, pipeline, expect="Completed"):
    run = Experiment(ws, "prs").submit(pipeline)
    assert run.wait_for_completion(raise_on_error=False) == expect, run.get_details()
    return run


def output_lines(ws, run) -> list[str]:
    import uuid

    folder = Path(ws.root).parent / f"out-{uuid.uuid4().hex}"
    ws.store.checkout(ws.ledger.step_runs(run.id)[0].outputs["scores"], folder)
    return (folder / "parallel_run_step.txt").read_text().splitlines()


def metrics(ws, run) -> dict:
    row = ws.ledger.step_runs(run.id)[0]
    return {m.name: m.value for m in ws.ledger.step_metrics(row.step_run_id)}


def file_batches(ws, names, size):
    root = ws.get_default_datastore().root / "imgs"
    paths = [str(root / n) for n in sorted(names)]
    return [paths[i:i + size] for i in range(0, len(paths), size)]


def test_file_dataset_gives_the_sequential_output_and_reruns_only_new_mini_batches(ws, entry):
    values = {f"f{i:02d}.txt": i for i in range(10)}
    run = submit(ws, prs_pipeline(ws, entry, files(ws, values)))
    expected = sequential(entry, file_batches(ws, values, 4), ["--factor", "3"])
    assert output_lines(ws, run) == expected == [f"f{i:02d}.txt {i * 3}" for i in range(10)]
    assert processed(entry) == sorted(values)
    assert metrics(ws, run)["mini_batches"] == 3 and metrics(ws, run)["mini_batches_reused"] == 0
    stdout = run.get_steps()[0].get_stdout_log()
    assert "[mini-batch 1] INFO did f00.txt" in stdout and "parallel run done: 10 item(s) succeeded" in stdout

    more = {f"f{i:02d}.txt": i for i in range(10, 15)}
    again = submit(ws, prs_pipeline(ws, entry, files(ws, more)))
    assert processed(entry) == sorted(more)  # only the new files ran
    assert metrics(ws, again)["mini_batches_reused"] == 3
    everything = {**values, **more}
    assert output_lines(ws, again) == [f"f{i:02d}.txt {i * 3}" for i in range(15)]
    assert output_lines(ws, again) == sequential(entry, file_batches(ws, everything, 4), ["--factor", "3"])


def test_tabular_dataset_gives_the_sequential_output(ws, entry):
    import pandas as pd

    store = ws.get_default_datastore()
    df = pd.DataFrame({"k": [f"r{i}" for i in range(23)], "x": list(range(23))})
    write(store.root / "t" / "data.csv", df.to_csv(index=False))
    tab = Dataset.Tabular.from_delimited_files(path=(store, "t/data.csv"))
    run = submit(ws, prs_pipeline(ws, entry, tab, size=5))
    expected = sequential(entry, [df.iloc[i:i + 5].reset_index(drop=True) for i in range(0, 23, 5)],
                          ["--factor", "3"])
    assert output_lines(ws, run) == expected == [f"r{i} {i * 3}" for i in range(23)]
    assert metrics(ws, run)["mini_batches"] == 5 and metrics(ws, run)["items_succeeded"] == 23


def test_error_threshold_counts_failed_items(ws, entry):
    values = {f"f{i:02d}.txt": i for i in range(8)}
    values["f02.txt"] = "skip"  # one item not returned
    values["f05.txt"] = "boom"  # its whole mini-batch of 4 (f04..f07) fails
    data = files(ws, values)
    tolerant = submit(ws, prs_pipeline(ws, entry, data, threshold=5))
    assert metrics(ws, tolerant)["items_failed"] == 5
    assert output_lines(ws, tolerant) == ["f00.txt 0", "f01.txt 3", "f03.txt 9"]
    strict = submit(ws, prs_pipeline(ws, entry, data, threshold=4, name="strict"), expect="Failed")
    error = ws.ledger.step_runs(strict.id)[0].error
    assert "5 item(s) failed, more than error_threshold=4" in error
    assert "ValueError: cannot read f05.txt" in strict.get_steps()[0].get_stderr_log()


@pytest.mark.dask
def test_on_a_dask_cluster_the_output_is_the_same(ws, entry, dask_cluster):
    from canalis.core.compute import ComputeTarget, DaskCompute

    target = ComputeTarget.attach(ws, "dask", DaskCompute.attach_configuration(scheduler_address=dask_cluster.address))
    values = {f"f{i:02d}.txt": i for i in range(9)}
    run = submit(ws, prs_pipeline(ws, entry, files(ws, values), size=2, target=target))
    assert output_lines(ws, run) == sequential(entry, file_batches(ws, values, 2), ["--factor", "3"])
    stdout = run.get_steps()[0].get_stdout_log()
    ran_on = {line.split(" on ")[1].split(":")[0] for line in stdout.splitlines() if line.startswith("mini-batch ")}
    assert ran_on <= {"w1", "w2"} and ran_on


def _timed_out(ws, entry, how, target=None):
    """Ten files in mini-batches of 4; run() of the second mini-batch does not return in time."""
    values = {f"f{i:02d}.txt": i for i in range(10)}
    values["f05.txt"] = how
    data = files(ws, values)
    tolerant = submit(ws, prs_pipeline(ws, entry, data, threshold=4, target=target, timeout=2))
    assert metrics(ws, tolerant)["items_failed"] == 4 and metrics(ws, tolerant)["items_succeeded"] == 6
    assert output_lines(ws, tolerant) == [f"f{i:02d}.txt {i * 3}" for i in (0, 1, 2, 3, 8, 9)]
    assert "run_invocation_timeout=2 s" in tolerant.get_steps()[0].get_stderr_log()
    strict = submit(ws, prs_pipeline(ws, entry, data, threshold=3, target=target, timeout=2, name="strict"),
                    expect="Failed")
    assert "4 item(s) failed, more than error_threshold=3" in ws.ledger.step_runs(strict.id)[0].error


@pytest.mark.parametrize("how", ["hang", "block"])
def test_run_invocation_timeout_stops_run_and_fails_its_items(ws, entry, how):
    _timed_out(ws, entry, how)


@pytest.mark.dask
def test_run_invocation_timeout_on_a_dask_cluster(ws, entry, dask_cluster):
    from canalis.core.compute import ComputeTarget, DaskCompute

    target = ComputeTarget.attach(ws, "dask", DaskCompute.attach_configuration(scheduler_address=dask_cluster.address))
    _timed_out(ws, entry, "hang", target)


def test_run_invocation_timeout_must_be_a_positive_number(src):
    from canalis.exceptions import UserErrorException

    for bad in (0, -5, "60", True):
        with pytest.raises(UserErrorException, match="run_invocation_timeout must be a number of seconds"):
            ParallelRunConfig(entry_script="e.py", run_invocation_timeout=bad)
    assert ParallelRunConfig(entry_script="e.py", run_invocation_timeout=None).run_invocation_timeout is None


MODEL_ENTRY = """
import os
from azureml.core import Model

WEIGHT = None

def init():
    global WEIGHT
    path = Model.get_model_path("clf")  # a model of one file: the path of that file, as in SDK v1
    WEIGHT = int(open(path if os.path.isfile(path) else os.path.join(path, "weight.txt")).read())

def run(mini_batch):
    return [f"{os.path.basename(p)} {WEIGHT}" for p in mini_batch]
"""


@pytest.mark.dask
def test_get_model_path_in_init_on_a_dask_cluster(ws, src, dask_cluster, tmp_path):
    from canalis.core import Model
    from canalis.core.compute import ComputeTarget, DaskCompute

    write(tmp_path / "model" / "weight.txt", "7\n")
    Model.register(ws, model_path=str(tmp_path / "model"), model_name="clf")
    write(src / "entry.py", MODEL_ENTRY)
    target = ComputeTarget.attach(ws, "dask", DaskCompute.attach_configuration(scheduler_address=dask_cluster.address))
    values = {f"f{i:02d}.txt": i for i in range(6)}
    run = submit(ws, prs_pipeline(ws, src, files(ws, values), size=2, target=target))
    assert output_lines(ws, run) == [f"f{i:02d}.txt 7" for i in range(6)], run.get_steps()[0].get_stderr_log()
    stdout = run.get_steps()[0].get_stdout_log()
    ran_on = {line.split(" on ")[1].split(":")[0] for line in stdout.splitlines() if line.startswith("mini-batch ")}
    assert ran_on and ran_on <= {"w1", "w2"}
