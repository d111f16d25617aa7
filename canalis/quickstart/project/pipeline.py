"""The quickstart pipeline: prepare -> train -> evaluate, written with SDK v1 names.

Submit it again with `canalis submit pipeline.py --experiment quickstart` (or `python
pipeline.py`, as an SDK v1 script would); change `n_estimators` with `--param n_estimators=50`
and only train and evaluate run again. `canalis plan pipeline.py` says what would run, and why,
without running anything.
"""
import os

from canalis.core import Dataset, Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
raw = Dataset.get_by_name(ws, "wine_raw")

prepared = OutputFileDatasetConfig(name="prepared")
model = OutputFileDatasetConfig(name="model")
report = OutputFileDatasetConfig(name="report", destination=(ws.get_default_datastore(), "reports/{run-id}"))
n_estimators = PipelineParameter("n_estimators", default_value=100)

prepare = PythonScriptStep(name="prepare", script_name="prepare.py", source_directory=here,
                           inputs=[raw.as_named_input("wine_raw")],
                           arguments=["--test-fraction", 0.25, "--out", prepared])
train = PythonScriptStep(name="train", script_name="train.py", source_directory=here,
                         arguments=["--data", prepared.as_input(), "--n-estimators", n_estimators, "--model", model])
evaluate = PythonScriptStep(name="evaluate", script_name="evaluate.py", source_directory=here,
                            arguments=["--data", prepared.as_input(), "--model", model.as_input(), "--report", report])

pipeline = Pipeline(workspace=ws, steps=[prepare, train, evaluate])

if __name__ == "__main__":  # `python pipeline.py` submits, as an SDK v1 script does (not under `canalis submit`)
    from canalis.core import Experiment

    run = Experiment(ws, "quickstart").submit(pipeline)
    run.wait_for_completion(show_output=True)
