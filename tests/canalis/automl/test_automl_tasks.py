"""AutoMLStep on a registered TabularDataset: regression and forecasting on small synthetic
tables, the step's default outputs, and a data problem reported as a message, not a traceback."""
from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest

from canalis.core import Dataset, Experiment
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import AutoMLStep, AutoMLStepRun, PythonScriptStep
from canalis.train.automl import AutoMLConfig
from canalis.train.automl.run import AutoMLRun

pytestmark = pytest.mark.slow


def register(ws, name, df):
    store = ws.get_default_datastore()
    (store.root / name).mkdir(parents=True)
    df.to_csv(store.root / name / "data.csv", index=False)
    return Dataset.Tabular.from_delimited_files(path=(store, f"{name}/data.csv")).register(ws, name)


def submit(ws, step):
    run = Experiment(ws, "automl_tasks").submit(Pipeline(ws, [step]))
    run.wait_for_completion(raise_on_error=False)
    return run


def load(run, step, output):
    """The bytes of a default output: one file written at the output's path (as SDK v1 did)."""
    ref = run.get_step(step).get_outputs()[output]
    store = run.experiment.workspace.store
    entries = [e for e in store.get_tree(ref.tree) if e.type == "file"]
    assert [e.path for e in entries] == [output]
    return store.get_bytes(entries[0].digest)


def test_regression_on_a_registered_dataset_with_default_outputs(ws):
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame({"size": rng.uniform(20, 200, n), "rooms": rng.integers(1, 6, n),
                       "district": rng.choice(["north", "south", "east"], n)})
    df["price"] = 3 * df["size"] + 20 * df["rooms"] + df["district"].map({"north": 100, "south": 0, "east": 50}) \
        + rng.normal(0, 10, n)
    df.loc[rng.random(n) < 0.1, "rooms"] = np.nan
    train, held_out = df.iloc[:240], df.iloc[240:]
    ds = register(ws, "houses", train)
    config = AutoMLConfig(task="regression", primary_metric="r2_score", training_data=ds, label_column_name="price",
                          iterations=3, n_cross_validations=3)
    run = submit(ws, AutoMLStep(name="AutoML_Regression", automl_config=config))
    assert run.get_status() == "Completed", run.get_step("AutoML_Regression").get_stderr_log()[-3000:]
    outputs = run.get_step("AutoML_Regression").get_outputs()
    assert set(outputs) == {"default_metrics_AutoML_Regression", "default_model_AutoML_Regression"}
    entries = json.loads(load(run, "AutoML_Regression", "default_metrics_AutoML_Regression"))
    assert len(entries) == 3 and all({"r2_score", "spearman_correlation", "normalized_root_mean_squared_error",
                                      "normalized_mean_absolute_error"} <= set(e) for e in entries)
    model = pickle.loads(load(run, "AutoML_Regression", "default_model_AutoML_Regression"))
    predicted = model.predict(held_out.drop(columns=["price"]))
    r2 = 1 - ((predicted - held_out["price"]) ** 2).sum() / ((held_out["price"] - held_out["price"].mean()) ** 2).sum()
    assert r2 > 0.5, r2  # three small trials: well above the mean (r2 = 0), not a tuned model
    best, fitted = AutoMLStepRun(run.get_step("AutoML_Regression")).get_output()
    assert best.get_metrics()["r2_score"] == max(e["r2_score"] for e in entries)
    by_id = AutoMLRun(run.experiment, run.get_step("AutoML_Regression").id)  # SDK v1's AutoMLRun(experiment, run_id)
    assert by_id.get_best_child().iteration == best.iteration
    lowest_mae = min(entries, key=lambda e: (e["mean_absolute_error"], e["iteration"]))["iteration"]
    assert by_id.get_best_child(metric="mean_absolute_error").iteration == lowest_mae
    assert np.allclose(fitted.predict(held_out), predicted)


def test_forecasting_with_a_time_column_and_horizon(ws):
    rng = np.random.default_rng(1)
    n = 160
    t = np.arange(n)
    df = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                       "promo": rng.integers(0, 2, n)})
    df["sales"] = 50 + 0.1 * t + 5 * np.sin(2 * np.pi * t / 7) + 4 * df["promo"] + rng.normal(0, 0.5, n)
    train, future = df.iloc[:-7], df.iloc[-7:]
    ds = register(ws, "sales", train)
    config = AutoMLConfig(task="forecasting", primary_metric="normalized_root_mean_squared_error", training_data=ds,
                          label_column_name="sales", time_column_name="date", forecast_horizon=7, iterations=3)
    run = submit(ws, AutoMLStep(name="forecast", automl_config=config))
    assert run.get_status() == "Completed", run.get_step("forecast").get_stderr_log()[-3000:]
    automl_run = AutoMLStepRun(run.get_step("forecast"))
    assert len(automl_run.get_children()) == 3
    _, fitted = automl_run.get_output()
    forecast = fitted.forecast(future.drop(columns=["sales"]))
    assert len(forecast) == 7
    error = np.sqrt(np.mean((forecast - future["sales"].to_numpy()) ** 2))
    mean_guess = np.sqrt(np.mean((train["sales"].mean() - future["sales"].to_numpy()) ** 2))
    assert error < mean_guess, (error, mean_guess)


def test_a_missing_label_column_fails_the_step_with_a_message(ws):
    ds = register(ws, "nolabel", pd.DataFrame({"a": range(20), "b": range(20)}))
    config = AutoMLConfig(task="regression", training_data=ds, label_column_name="price", iterations=2)
    run = submit(ws, AutoMLStep(name="automl", automl_config=config))
    assert run.get_status() == "Failed"
    err = run.get_step("automl").get_stderr_log()
    assert "AutoML: the training data has no column 'price' (label_column_name); its columns: a, b" in err
    assert "Traceback" not in err


def test_training_data_from_a_step_written_as_csv_and_validation_data_registered(ws, tmp_path):
    from canalis.data import OutputFileDatasetConfig
    from tests.canalis.automl.titanic import titanic
    from tests.canalis.conftest import write

    data = titanic(360, seed=9)
    register(ws, "raw_titanic", data.iloc[:260])
    valid = register(ws, "titanic_valid", data.iloc[260:])
    write(tmp_path / "src" / "prep.py", """
        import os, sys
        from canalis.core import Run
        df = Run.get_context().input_datasets["raw"].to_pandas_dataframe()
        df.drop(columns=["PassengerId"]).to_csv(os.path.join(sys.argv[1], "train.csv"), index=False)
    """)
    prepped = OutputFileDatasetConfig(name="prepped")
    prep = PythonScriptStep(name="prep", script_name="prep.py", source_directory=str(tmp_path / "src"),
                            inputs=[Dataset.get_by_name(ws, "raw_titanic").as_named_input("raw")], arguments=[prepped])
    config = AutoMLConfig(task="classification", primary_metric="accuracy", label_column_name="Survived",
                          training_data=prepped.read_delimited_files(), validation_data=valid, iterations=2)
    run = Experiment(ws, "automl_tasks").submit(Pipeline(ws, [prep, AutoMLStep(name="automl", automl_config=config)]))
    run.wait_for_completion(raise_on_error=False)
    assert run.get_status() == "Completed", run.get_step("automl").get_stderr_log()[-3000:]
    assert "260 rows" in run.get_step("automl").get_stdout_log()
    best, fitted = AutoMLStepRun(run.get_step("automl")).get_output()
    # the validation rows score the trials: the best trial's accuracy is the fitted model's on them
    # (before the final refit on all training rows, so compared loosely)
    held = data.iloc[260:]
    assert abs((fitted.predict(held) == held["Survived"].to_numpy()).mean() - best.get_metrics()["accuracy"]) < 0.15
