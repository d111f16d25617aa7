"""The flows of the three SDK v1 pipeline articles ("Create and run ML pipelines", 2021 and 2019
editions; "Use automated ML in an ML pipeline"), written here with local data and run through
`canalis exec` with `azureml` imports and an SDK v1 config.json: each API call in the order and
shape the articles use it; the AutoML article's flow with its AutoMLStep, on a Titanic-shaped
table made here."""
from __future__ import annotations

import json
import sys

import pytest

from tests.canalis.automl.titanic import titanic
from tests.canalis.test_compat_mapping import canalis_exec, project, run

FLOW_2021 = """
from azureml.core import Workspace, Datastore, Dataset, Environment, Experiment
from azureml.core.compute import ComputeTarget, AmlCompute
from azureml.core.runconfig import RunConfiguration
from azureml.core.conda_dependencies import CondaDependencies
from azureml.data import OutputFileDatasetConfig
from azureml.pipeline.core import Pipeline, PipelineParameter
from azureml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
def_data_store = ws.get_default_datastore()
def_blob_store = Datastore(ws, "workspaceblobstore")
def_file_store = Datastore(ws, "workspacefilestore")
def_blob_store.upload("local_images", target_path="train-images", overwrite=True, show_progress=False)
my_dataset = Dataset.File.from_files([(def_blob_store, 'train-images/')])
datastore = def_data_store
output_data1 = OutputFileDatasetConfig(destination=(datastore, 'outputdataset/{run-id}'))
output_data_dataset = output_data1.register_on_complete(name='prepared_output_data')

compute_name = "aml-compute"
for attempt in range(2):
    if compute_name in ws.compute_targets:
        compute_target = ws.compute_targets[compute_name]
        if compute_target and type(compute_target) is AmlCompute:
            print('Found compute target: ' + compute_name)
    else:
        provisioning_config = AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6", min_nodes=0, max_nodes=4)
        compute_target = ComputeTarget.create(ws, compute_name, provisioning_config)
        compute_target.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)
        print("STATUS", compute_target.status.serialize()["provisioningState"])

aml_run_config = RunConfiguration()
aml_run_config.target = compute_target
curated_environment = Environment.get(workspace=ws, name="AzureML-sklearn-0.24-ubuntu18.04-py37-cpu")
aml_run_config.environment = curated_environment

ds_input = my_dataset.as_named_input('input1')
data_prep_step = PythonScriptStep(script_name="prepare.py", source_directory="./dataprep_src",
                                  arguments=["--input", ds_input.as_download(), "--output", output_data1],
                                  compute_target=compute_target, runconfig=aml_run_config, allow_reuse=True)
training_results = OutputFileDatasetConfig(name="training_results", destination=def_blob_store)
train_step = PythonScriptStep(script_name="train.py", source_directory="./train_src",
                              arguments=["--prepped_data", output_data1.as_input(), "--training_results", training_results],
                              compute_target=compute_target, runconfig=aml_run_config, allow_reuse=True)
iris_tabular_dataset = Dataset.Tabular.from_delimited_files(path=[(def_blob_store, "iris/iris.csv")]) \\
    if def_blob_store.upload_files(["iris.csv"], target_path="iris", overwrite=True, show_progress=False) else None
pipeline_param = PipelineParameter(name="pipeline_arg", default_value="default_val")
compare_step = PythonScriptStep(script_name="iris_train.py", arguments=["--param1", pipeline_param],
                                inputs=[iris_tabular_dataset.as_named_input("iris_data")],
                                target=compute_target, source_directory="./compare_src")
compare_models = [data_prep_step, train_step, compare_step]
pipeline1 = Pipeline(workspace=ws, steps=[compare_models])
pipeline_run1 = Experiment(ws, 'Compare_Models_Exp').submit(pipeline1)
pipeline_run1.wait_for_completion()
print("RUN", pipeline_run1.id, pipeline_run1.get_status())
print("REGISTERED", Dataset.get_by_name(ws, "prepared_output_data").name)
again = Experiment(ws, 'Compare_Models_Exp').submit(pipeline1, pipeline_parameters={"pipeline_arg": "other"})
again.wait_for_completion()
print("AGAIN", sorted((s.name, "Reused" if s.reused else s.get_status()) for s in again.get_steps()))
"""

PREPARE = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--input"); p.add_argument("--output"); a = p.parse_args()
names = sorted(os.listdir(a.input))
with open(os.path.join(a.output, "prepared.txt"), "w") as f:
    f.write("\\n".join(names))
"""

TRAIN = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--prepped_data"); p.add_argument("--training_results"); a = p.parse_args()
n = len(open(os.path.join(a.prepped_data, "prepared.txt")).read().split())
with open(os.path.join(a.training_results, "result.txt"), "w") as f:
    f.write(f"trained on {n}")
"""

IRIS_TRAIN = """
import argparse
from azureml.core import Run, Dataset
p = argparse.ArgumentParser(); p.add_argument("--param1"); a = p.parse_args()
run_context = Run.get_context()
dataframe = run_context.input_datasets['iris_data'].to_pandas_dataframe()
ws = Run.get_context().experiment.workspace
print("rows", len(dataframe), "param", a.param1, "workspace", ws.name)
"""


def test_create_and_run_ml_pipelines_2021(tmp_path):
    folder = project(tmp_path, {"flow.py": FLOW_2021, "dataprep_src/prepare.py": PREPARE, "train_src/train.py": TRAIN,
                                "compare_src/iris_train.py": IRIS_TRAIN, "local_images/a.png": "a",
                                "local_images/b.png": "b", "iris.csv": "sepal,species\n1.0,setosa\n2.0,virginica\n"})
    done = canalis_exec(folder, "flow.py")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "STATUS Succeeded" in out and "Found compute target: aml-compute" in out
    assert " Completed" in out.split("RUN ", 1)[1].splitlines()[0]
    assert "REGISTERED prepared_output_data" in out
    assert ("AGAIN [('iris_train.py', 'Completed'), ('prepare.py', 'Reused'), ('train.py', 'Reused')]" in out), out
    blob = folder / ".canalis" / "datastores" / "workspaceblobstore"
    published = list(blob.glob("outputdataset/*/prepared.txt"))
    assert published and published[0].read_text() == "a.png\nb.png"
    results = list(blob.glob("*/training_results/result.txt"))  # destination=def_blob_store alone
    assert results and results[0].read_text() == "trained on 2"
    run_id = out.split("RUN ", 1)[1].split()[0]
    logs = run([sys.executable, "-m", "canalis", "logs", run_id], folder)
    assert "rows 2 param default_val workspace mlws" in logs.stdout


FLOW_2019 = """
from azureml.core import Workspace, Datastore, Experiment
from azureml.core.compute import ComputeTarget, AmlCompute
from azureml.data.data_reference import DataReference
from azureml.exceptions import ComputeTargetException
from azureml.pipeline.core import Pipeline, PipelineData
from azureml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
def_blob_store = Datastore(ws, "workspaceblobstore")
def_blob_store.upload_files(["./data/20news.pkl"], target_path="20newsgroups", overwrite=True)
blob_input_data = DataReference(datastore=def_blob_store, data_reference_name="test_data",
                                path_on_datastore="20newsgroups/20news.pkl")
output_data1 = PipelineData("output_data1", datastore=def_blob_store, output_name="output_data1")
try:
    ComputeTarget(workspace=ws, name="databricks")
except ComputeTargetException as e:
    print("compute not found")
compute_target = ComputeTarget.create(ws, "aml-compute", AmlCompute.provisioning_configuration(vm_size="STANDARD_NC6"))
print(compute_target.status.serialize()["allocationState"])
project_folder = "project"
trainStep = PythonScriptStep(script_name="train.py", arguments=["--input", blob_input_data, "--output", output_data1],
                             inputs=[blob_input_data], outputs=[output_data1], compute_target=compute_target,
                             source_directory=project_folder)
extractStep = PythonScriptStep(script_name="extract.py", arguments=["--model", output_data1], inputs=[output_data1],
                               compute_target=compute_target, source_directory=project_folder)
step = PythonScriptStep(name="Hello World", script_name="hello_world.py", compute_target=compute_target,
                        source_directory=project_folder, allow_reuse=False, hash_paths=['hello_world.ipynb'])
compareModels = [trainStep, extractStep, step]
pipeline1 = Pipeline(workspace=ws, steps=[compareModels])
pipeline_run1 = Experiment(ws, 'Compare_Models_Exp').submit(pipeline1)
pipeline_run1.wait_for_completion()
print("DONE", pipeline_run1.get_status())
from azureml.pipeline.steps import DatabricksStep
try:
    DatabricksStep(name="databricksmodule", inputs=[], outputs=[], num_workers=1, notebook_path="nb",
                   run_name='demo run name', allow_reuse=False)
except Exception as e:
    print("REFUSED", type(e).__name__, e)
"""

TRAIN_2019 = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--input"); p.add_argument("--output"); a = p.parse_args()
assert os.path.isfile(a.input), a.input  # one file on the datastore: its path
os.makedirs(a.output, exist_ok=True)
open(os.path.join(a.output, "model.txt"), "w").write("model of " + open(a.input).read())
"""

EXTRACT_2019 = """
import argparse, os
p = argparse.ArgumentParser(); p.add_argument("--model"); a = p.parse_args()
print("extracted:", open(os.path.join(a.model, "model.txt")).read())
"""


def test_create_run_track_ml_pipelines_2019(tmp_path):
    folder = project(tmp_path, {"flow.py": FLOW_2019, "data/20news.pkl": "news", "project/train.py": TRAIN_2019,
                                "project/extract.py": EXTRACT_2019, "project/hello_world.py": "print('hello')\n",
                                "project/hello_world.ipynb": "{}"})
    done = canalis_exec(folder, "flow.py")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "compute not found" in done.stdout and "Steady" in done.stdout
    assert "DONE Completed" in done.stdout
    assert "REFUSED NotSupportedOfflineError DatabricksStep runs on an Azure service" in done.stdout


FLOW_AUTOML = """
import json, os
from azureml.core import Workspace, Dataset, Datastore, Environment, Experiment
from azureml.core.compute import AmlCompute, ComputeTarget
from azureml.core.runconfig import RunConfiguration
from azureml.pipeline.core import Pipeline, PipelineData, TrainingOutput
from azureml.pipeline.core.graph import PipelineParameter
from azureml.pipeline.steps import PythonScriptStep

ws = Workspace.from_config()
if not 'titanic_ds' in ws.datasets.keys():
    titanic_ds = Dataset.Tabular.from_delimited_files(path=["titanic.csv"])
    titanic_ds.register(workspace=ws, name='titanic_ds', description='Titanic baseline data', create_new_version=True)
titanic_ds = Dataset.get_by_name(ws, 'titanic_ds')
datastore = ws.get_default_datastore()
compute_name = 'cpu-cluster'
if not compute_name in ws.compute_targets:
    provisioning_config = AmlCompute.provisioning_configuration(vm_size='STANDARD_D2_V2', min_nodes=0, max_nodes=1)
    compute_target = ComputeTarget.create(ws, compute_name, provisioning_config)
    compute_target.wait_for_completion(show_output=True, min_node_count=None, timeout_in_minutes=20)
    print(json.dumps(compute_target.get_status().serialize()))
compute_target = ws.compute_targets[compute_name]
aml_run_config = RunConfiguration()
aml_run_config.target = compute_target
aml_run_config.environment = Environment.get(workspace=ws, name="AzureML-Tutorial")

prepped_data_path = PipelineData("titanic_train", datastore).as_dataset()
dataprep_step = PythonScriptStep(name="dataprep", script_name="dataprep.py", compute_target=compute_target,
                                 runconfig=aml_run_config, arguments=["--output_path", prepped_data_path],
                                 inputs=[titanic_ds.as_named_input("titanic_ds")], outputs=[prepped_data_path],
                                 allow_reuse=True)
prepped_data = prepped_data_path.parse_parquet_files(file_extension=None)
metrics_data = PipelineData(name='metrics_data', datastore=datastore, pipeline_output_name='metrics_output',
                            training_output=TrainingOutput(type='Metrics'))
model_data = PipelineData(name='best_model_data', datastore=datastore, pipeline_output_name='model_output',
                          training_output=TrainingOutput(type='Model'))
from azureml.train.automl import AutoMLConfig
from azureml.pipeline.steps import AutoMLStep
automl_settings = {
    "iteration_timeout_minutes" : 10,
    "iterations" : 2,
    "experiment_timeout_hours" : 0.25,
    "primary_metric" : 'AUC_weighted'
}
automl_config = AutoMLConfig(task = 'classification',
                             path = '.',
                             debug_log = 'automated_ml_errors.log',
                             compute_target = compute_target,
                             run_configuration = aml_run_config,
                             featurization = 'auto',
                             training_data = prepped_data,
                             label_column_name = 'Survived',
                             **automl_settings)
train_step = AutoMLStep(name='AutoML_Classification',
    automl_config=automl_config,
    outputs=[metrics_data,model_data],
    enable_default_model_output=False,
    enable_default_metrics_output=False,
    allow_reuse=True)
model_name = PipelineParameter("model_name", default_value="TitanicSurvivalInitial")
register_step = PythonScriptStep(script_name="register_model.py", name="register_model", allow_reuse=False,
                                 arguments=["--model_name", model_name, "--model_path", model_data],
                                 inputs=[model_data], compute_target=compute_target, runconfig=aml_run_config)
pipeline = Pipeline(ws, [dataprep_step, train_step, register_step])
experiment = Experiment(workspace=ws, name='titanic_automl')
run = experiment.submit(pipeline, show_output=True)
run.wait_for_completion()
metrics_output_port = run.get_pipeline_output('metrics_output')
model_output_port = run.get_pipeline_output('model_output')
metrics_output_port.download('.', show_progress=True)
model_output_port.download('.', show_progress=True)
metrics_output = metrics_output_port
model_output = model_output_port
import pandas as pd
metrics_filename = metrics_output._path_on_datastore
with open(metrics_filename) as f:
   metrics_output_result = f.read()
deserialized_metrics_output = json.loads(metrics_output_result)
df = pd.DataFrame(deserialized_metrics_output)
print("METRICS", len(df), sorted(df.columns))
import pickle
model_filename = model_output._path_on_datastore
with open(model_filename, "rb" ) as f:
    best_model = pickle.load(f)
print("PREDICTED", len(best_model.predict(pd.read_csv("titanic.csv").drop(columns=["Survived"]))))
from azureml.core.model import Model
print("REGISTERED", Model(ws, "TitanicSurvivalInitial").version)
"""

DATAPREP = """
from azureml.core import Run
import os, argparse
import pyarrow as pa
import pyarrow.parquet as pq
parser = argparse.ArgumentParser()
parser.add_argument('--output_path', dest='output_path', required=True)
args = parser.parse_args()
titanic_ds = Run.get_context().input_datasets['titanic_ds']
df = titanic_ds.to_pandas_dataframe().drop(['Name'], axis=1)
os.makedirs(os.path.dirname(args.output_path), exist_ok=True)
pq.write_table(pa.Table.from_pandas(df), args.output_path)
"""

REGISTER = """
from azureml.core.model import Model, Dataset
from azureml.core.run import Run, _OfflineRun
from azureml.core import Workspace
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--model_name", required=True)
parser.add_argument("--model_path", required=True)
args = parser.parse_args()
run = Run.get_context()
ws = Workspace.from_config() if type(run) == _OfflineRun else run.experiment.workspace
model = Model.register(workspace=ws, model_path=args.model_path, model_name=args.model_name)
print("Registered version {0} of model {1}".format(model.version, model.name))
"""


@pytest.mark.slow
def test_automl_in_a_pipeline_article_flow(tmp_path):
    csv = titanic(n=240, seed=5).to_csv(index=False)
    folder = project(tmp_path, {"flow.py": FLOW_AUTOML, "dataprep.py": DATAPREP, "register_model.py": REGISTER,
                                "titanic.csv": csv})
    done = canalis_exec(folder, "flow.py")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert json.loads(next(line for line in out.splitlines() if line.startswith("{")))["provisioningState"] == "Succeeded"
    metrics_line = next(line for line in out.splitlines() if line.startswith("METRICS "))
    count, columns = metrics_line.split(" ", 2)[1:]
    assert int(count) == 2  # "iterations": 2, one entry each
    assert {"AUC_weighted", "accuracy", "model", "hyperparameters"} <= set(eval(columns))
    assert "PREDICTED 240" in out  # the best model predicts raw rows of the training schema
    assert "REGISTERED 1" in out
    assert "no source_directory" in done.stderr  # said, as SDK v1 snapshotted the current folder silently
    downloaded = list((folder / "azureml").glob("*/metrics_data"))
    assert len(downloaded) == 1 and downloaded[0].is_file()
