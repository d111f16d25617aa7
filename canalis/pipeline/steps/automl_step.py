"""`AutoMLStep`: an AutoML search (FLAML) as a pipeline step, and `AutoMLStepRun`, its run.

The step runs `canalis/train/automl/step_source/automl_step.py` like a PythonScriptStep:
its settings are one argument, its training (and validation) data are inputs, and its
metrics and model are outputs. Its reuse key is therefore made of the settings, the data's
content and the step's code, as for any step. Outputs are the `PipelineData` /
`OutputFileDatasetConfig` objects in `outputs=` that carry a `TrainingOutput`, plus the
default outputs `default_metrics_<step>` and `default_model_<step>` (made when
`enable_default_*_output=True`, or when no output of that type is given).
"""
from __future__ import annotations

import json
from pathlib import Path

from canalis.data.abstract_dataset import AbstractDataset
from canalis.data.dataset_consumption_config import DatasetConsumptionConfig
from canalis.data.output_dataset_config import OutputFileDatasetConfig, OutputInput
from canalis.exceptions import UserErrorException
from canalis.pipeline.steps.python_script_step import PythonScriptStep
from canalis.train.automl.run import AutoMLRun

STEP_SOURCE = Path(__file__).resolve().parents[2] / "train" / "automl" / "step_source"
TYPES = ("Metrics", "Model")


class AutoMLStep(PythonScriptStep):
    def __init__(self, name, automl_config, inputs=None, outputs=None, script_repl_params=None, allow_reuse=True,
                 version=None, hash_paths=None, enable_default_model_output=True, enable_default_metrics_output=True,
                 **kwargs):
        from canalis.train.automl.config import AutoMLConfig
        from canalis.train.automl.errors import require_flaml

        if not isinstance(automl_config, AutoMLConfig):
            raise UserErrorException(f"AutoMLStep {name!r} needs automl_config=AutoMLConfig(...), got {automl_config!r}")
        require_flaml()
        self.automl_config = automl_config
        typed = {"Metrics": [], "Model": []}
        for out in outputs or []:
            kind = getattr(getattr(out, "training_output", None), "type", None)
            if not isinstance(out, OutputFileDatasetConfig) or kind not in TYPES:
                raise UserErrorException(
                    f"AutoMLStep {name!r}: each output must be a PipelineData or OutputFileDatasetConfig with "
                    f"training_output=TrainingOutput(type='Metrics' or 'Model'); got {out!r}")
            typed[kind].append(out)
        from canalis.executor.paths import safe_name
        from canalis.pipeline.core.pipeline_data import PipelineData, TrainingOutput

        if enable_default_metrics_output or not typed["Metrics"]:
            typed["Metrics"].append(PipelineData(safe_name(f"default_metrics_{name}"),
                                                 training_output=TrainingOutput("Metrics")))
        if enable_default_model_output or not typed["Model"]:
            typed["Model"].append(PipelineData(safe_name(f"default_model_{name}"), training_output=TrainingOutput("Model")))
        data_inputs, arguments = [], ["--settings", json.dumps(automl_config.settings(), sort_keys=True)]
        for flag, data in (("training", automl_config.training_data), ("validation", automl_config.validation_data)):
            if data is None:
                continue
            item, input_name = _as_input(name, flag, data)
            data_inputs.append(item)
            arguments += [f"--{flag}-data", item]
            if input_name:
                arguments += [f"--{flag}-input", input_name]
        for kind, flag in (("Metrics", "--metrics-output"), ("Model", "--model-output")):
            for out in typed[kind]:
                arguments += [flag, out]
        super().__init__("automl_step.py", name=name, arguments=arguments, inputs=[*data_inputs, *(inputs or [])],
                         outputs=[*typed["Metrics"], *typed["Model"]], source_directory=str(STEP_SOURCE),
                         compute_target=automl_config.compute_target, runconfig=automl_config.run_configuration,
                         allow_reuse=allow_reuse, hash_paths=hash_paths, version=version)
        self.metrics_outputs = typed["Metrics"]
        self.model_outputs = typed["Model"]


def _as_input(step_name, flag, data):
    """The input object for `data` and the name the step sees it under (for tabular data)."""
    if isinstance(data, OutputFileDatasetConfig):
        return data, data.name if data._kind == "tabular" else None
    if isinstance(data, OutputInput):
        return data, data.input_name or (data.output.name if data.output._kind == "tabular" else None)
    if isinstance(data, AbstractDataset):
        consumed = data.as_named_input(f"{flag}_data")
        return consumed, consumed.name
    if isinstance(data, DatasetConsumptionConfig):
        return data, data.name
    raise UserErrorException(f"AutoMLStep {step_name!r}: {flag}_data must be a TabularDataset or a step's output "
                             f"(PipelineData / OutputFileDatasetConfig, read with .parse_parquet_files() or "
                             f".read_delimited_files()); got {data!r}")


class AutoMLStepRun(AutoMLRun):
    """SDK v1's `AutoMLStepRun(step_run)`: the AutoML view of an AutoMLStep's StepRun
    (`get_output()` gives the best trial and its fitted pipeline)."""

    def __init__(self, step_run):
        super().__init__(step_run)
