"""The AutoML flow of SDK v1's article, end to end on a Titanic-shaped table made here:
a data-prep PythonScriptStep writes Parquet, an AutoMLStep searches (FLAML) and writes its
metrics and best model, a register step registers the model under a PipelineParameter's
name. A second submit reuses the search and registers the next version."""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from canalis.core import Dataset, Experiment, Model
from canalis.pipeline.core import Pipeline, PipelineData, PipelineParameter, TrainingOutput
from canalis.pipeline.steps import AutoMLStep, AutoMLStepRun, PythonScriptStep
from canalis.train.automl import AutoMLConfig
from tests.canalis.automl.titanic import titanic
from tests.canalis.conftest import write

pytestmark = pytest.mark.slow

DATAPREP = """
import argparse, os
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
from canalis.core import Run

def prepare_age(df):
    rng = np.random.default_rng(42)
    mean, std = df["Age"].mean(), df["Age"].std()
    missing = df["Age"].isnull()
    df.loc[missing, "Age"] = rng.integers(int(mean - std), int(mean + std), size=int(missing.sum()))
    df["Age_Group"] = pd.qcut(df["Age"].astype(int), 5, labels=False)
    return df.drop(columns=["Age"])

def prepare_fare(df):
    df["Fare_Group"] = pd.qcut(df["Fare"].fillna(0), 5, labels=False)
    return df.drop(columns=["Fare"])

def prepare_genders(df):
    df["Sex"] = df["Sex"].map({"male": 0, "female": 1}).fillna(2).astype(int)
    return df

def prepare_embarked(df):
    df["Embarked"] = df["Embarked"].fillna("U").map({"S": 0, "C": 1, "Q": 2, "U": 3})
    return df

parser = argparse.ArgumentParser()
parser.add_argument("--output_path", required=True)
args = parser.parse_args()
df = Run.get_context().input_datasets["titanic_ds"].to_pandas_dataframe()
df = df.drop(["PassengerId", "Name", "Ticket", "Cabin"], axis=1)
df = prepare_embarked(prepare_genders(prepare_fare(prepare_age(df))))
os.makedirs(args.output_path, exist_ok=True)
pq.write_table(pa.Table.from_pandas(df), os.path.join(args.output_path, "prepped.parquet"))
"""
REGISTER = """
import argparse
from canalis.core import Model, Run, Workspace
parser = argparse.ArgumentParser()
parser.add_argument("--model_name", required=True)
parser.add_argument("--model_path", required=True)
args = parser.parse_args()
run = Run.get_context()
model = Model.register(workspace=run.experiment.workspace, model_path=args.model_path, model_name=args.model_name)
print("Registered version {0} of model {1}".format(model.version, model.name))
"""


def canalis(ws, *args):
    out = subprocess.run([sys.executable, "-m", "canalis", *args, "--workspace", str(ws.root)],
                         capture_output=True, text=True)
    assert out.returncode == 0, f"canalis {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def walk(node):
    yield node
    for c in node.get("children", []):
        yield from walk(c)


def article_pipeline(ws, src, iterations=4):
    titanic_ds = Dataset.get_by_name(ws, "titanic_ds")
    prepped_data_path = PipelineData("titanic_train", ws.get_default_datastore()).as_dataset()
    dataprep_step = PythonScriptStep(name="dataprep", script_name="dataprep.py", source_directory=str(src),
                                     arguments=["--output_path", prepped_data_path],
                                     inputs=[titanic_ds.as_named_input("titanic_ds")], outputs=[prepped_data_path],
                                     allow_reuse=True)
    prepped_data = prepped_data_path.parse_parquet_files(file_extension=None)
    metrics_data = PipelineData(name="metrics_data", pipeline_output_name="metrics_output",
                                training_output=TrainingOutput(type="Metrics"))
    model_data = PipelineData(name="best_model_data", pipeline_output_name="model_output",
                              training_output=TrainingOutput(type="Model"))
    automl_settings = {"iteration_timeout_minutes": 10, "iterations": iterations, "primary_metric": "AUC_weighted"}
    automl_config = AutoMLConfig(task="classification", path=".", debug_log="automated_ml_errors.log",
                                 featurization="auto", training_data=prepped_data, label_column_name="Survived",
                                 n_cross_validations=3, **automl_settings)
    train_step = AutoMLStep(name="AutoML_Classification", automl_config=automl_config,
                            outputs=[metrics_data, model_data], enable_default_model_output=False,
                            enable_default_metrics_output=False, allow_reuse=True)
    model_name = PipelineParameter("model_name", default_value="TitanicSurvivalInitial")
    register_step = PythonScriptStep(script_name="register_model.py", name="register_model", source_directory=str(src),
                                     allow_reuse=False, arguments=["--model_name", model_name, "--model_path", model_data],
                                     inputs=[model_data])
    return Pipeline(ws, [dataprep_step, train_step, register_step])


def test_article_flow_prep_automl_register(ws, tmp_path):
    data = titanic(n=600, seed=3)
    train_rows, held_out = data.iloc[:450], data.iloc[450:]
    store = ws.get_default_datastore()
    (store.root / "titanic").mkdir(parents=True)
    train_rows.to_csv(store.root / "titanic" / "Titanic.csv", index=False)
    Dataset.Tabular.from_delimited_files(path=(store, "titanic/Titanic.csv")).register(ws, "titanic_ds")
    src = tmp_path / "src"
    write(src / "dataprep.py", DATAPREP)
    write(src / "register_model.py", REGISTER)

    run = Experiment(ws, "titanic_automl").submit(article_pipeline(ws, src))
    assert run.wait_for_completion(raise_on_error=False) == "Completed", \
        {s.name: s.get_stderr_log()[-3000:] for s in run.get_steps()}

    # the pipeline outputs, downloaded as the article does
    metrics_dir = run.get_pipeline_output("metrics_output").download(str(tmp_path / "dl"), show_progress=False)
    model_dir = run.get_pipeline_output("model_output").download(str(tmp_path / "dl"), show_progress=False)
    # SDK v1's layout: <local_path>/azureml/<step run id>/<output name>
    assert metrics_dir.endswith("metrics_data") and model_dir.endswith("best_model_data")
    assert Path(metrics_dir).parent.parent == tmp_path / "dl" / "azureml"
    entries = json.loads(Path(metrics_dir).read_text())  # one file at the output's path, as SDK v1 wrote it
    assert [e["iteration"] for e in entries] == [0, 1, 2, 3]  # one entry per iteration
    for e in entries:
        assert e["model"] in {"lgbm", "xgboost", "rf", "extra_tree", "lrl1"} and isinstance(e["hyperparameters"], dict)
        assert 0 <= e["AUC_weighted"] <= 1 and 0 <= e["accuracy"] <= 1 and e["duration_s"] > 0
        assert {"norm_macro_recall", "precision_score_weighted", "log_loss"} <= set(e)
    assert sum(e["best"] for e in entries) == 1
    best_entry = next(e for e in entries if e["best"])
    assert best_entry["AUC_weighted"] == max(e["AUC_weighted"] for e in entries)

    # the registered model loads with pickle and beats the majority class on held-out rows
    model = Model(ws, "TitanicSurvivalInitial")
    assert model.version == 1
    downloaded = model.download(str(tmp_path / "registered"))  # one file: the path of that file, as SDK v1 gave
    assert downloaded.endswith("best_model_data") and Path(downloaded).is_file()
    with open(downloaded, "rb") as f:
        best_model = pickle.load(f)
    prepped = held_out.drop(columns=["PassengerId", "Name", "Ticket", "Cabin"]).copy()
    # rows as the prep step writes them (the model was trained on its output)
    prepped["Sex"] = prepped["Sex"].map({"male": 0, "female": 1}).fillna(2).astype(int)
    prepped["Embarked"] = prepped["Embarked"].fillna("U").map({"S": 0, "C": 1, "Q": 2, "U": 3})
    prepped["Age_Group"] = prepped["Age"].fillna(prepped["Age"].mean()).rank(pct=True).mul(5).clip(0, 4.99).astype(int)
    prepped["Fare_Group"] = prepped["Fare"].fillna(0).rank(pct=True).mul(5).clip(0, 4.99).astype(int)
    prepped = prepped.drop(columns=["Age", "Fare"])
    predicted = best_model.predict(prepped.drop(columns=["Survived"]))
    accuracy = (predicted == held_out["Survived"].to_numpy()).mean()
    majority = max(held_out["Survived"].mean(), 1 - held_out["Survived"].mean())
    assert accuracy > majority, (accuracy, majority)

    # the step run as SDK v1's AutoMLStepRun: best trial and fitted pipeline, every trial recorded
    automl_run = AutoMLStepRun(run.get_step("AutoML_Classification"))
    best_run, fitted_model = automl_run.get_output()
    assert best_run.iteration == best_entry["iteration"] and best_run.model == best_entry["model"]
    assert best_run.get_metrics()["AUC_weighted"] == pytest.approx(best_entry["AUC_weighted"])
    assert (fitted_model.predict(prepped) == predicted).all()
    assert [t.iteration for t in automl_run.get_children()] == [0, 1, 2, 3]
    assert automl_run.get_metrics()["AUC_weighted"] == pytest.approx(best_entry["AUC_weighted"])
    assert "logs/automated_ml_errors.log" in automl_run.get_file_names()
    metrics_cli = canalis(ws, "metrics", run.id, "--json")
    assert "AUC_weighted" in metrics_cli and "trials" in metrics_cli

    # `canalis models show` tells the best trial's metrics
    shown = json.loads(canalis(ws, "models", "show", "TitanicSurvivalInitial:1", "--json"))["automl"]
    assert shown["step"] == "AutoML_Classification" and shown["trials"] == 4
    assert shown["best_trial"]["iteration"] == best_entry["iteration"]
    assert shown["best_trial"]["metrics"]["AUC_weighted"] == pytest.approx(best_entry["AUC_weighted"])
    text = canalis(ws, "models", "show", "TitanicSurvivalInitial")
    assert f"best of 4 trials is iteration {best_entry['iteration']}" in text and "AUC_weighted=" in text

    # second submit: prep and AutoML are reused; the register step runs again, and the same model
    # content keeps its version (a version is its content)
    again = Experiment(ws, "titanic_automl").submit(article_pipeline(ws, src))
    assert again.wait_for_completion(raise_on_error=False) == "Completed"
    assert again.get_step("AutoML_Classification").reused and again.get_step("dataprep").reused
    assert not again.get_step("register_model").reused
    assert Model(ws, "TitanicSurvivalInitial").version == 1
    reused = AutoMLStepRun(again.get_step("AutoML_Classification"))
    assert reused.get_output()[0].iteration == best_run.iteration and len(reused.get_children()) == 4

    # a longer search makes a new model: registered as version 2
    third = Experiment(ws, "titanic_automl").submit(article_pipeline(ws, src, iterations=5))
    assert third.wait_for_completion(raise_on_error=False) == "Completed"
    assert third.get_step("dataprep").reused and not third.get_step("AutoML_Classification").reused
    assert len(AutoMLStepRun(third.get_step("AutoML_Classification")).get_children()) == 5
    assert [m.version for m in Model.list(ws, name="TitanicSurvivalInitial")] == [1, 2]
    assert json.loads(canalis(ws, "models", "show", "TitanicSurvivalInitial:2", "--json"))["automl"]["trials"] == 5

    # lineage: the model back through the AutoML step and the prep step to the registered dataset
    lineage = json.loads(canalis(ws, "lineage", "model:TitanicSurvivalInitial", "--json"))
    nodes = list(walk(lineage["upstream"]))
    assert "dataset:titanic_ds:1" in {n["id"] for n in nodes}
    assert {"AutoML_Classification", "dataprep", "register_model"} <= {n.get("name") for n in nodes if n["kind"] == "step"}
