"""`azureml.pipeline.steps` names."""
from canalis.pipeline.steps.cloud_steps import (AdlaStep, AzureBatchStep, DatabricksStep, EstimatorStep, HyperDriveStep,
                                                KustoStep, MpiStep, SynapseSparkStep)
from canalis.pipeline.steps.data_transfer_step import DataTransferStep
from canalis.pipeline.steps.python_script_step import CommandStep, PipelineStep, PythonScriptStep

_LAZY = {"AutoMLStep": "automl_step", "AutoMLStepRun": "automl_step",
         "ParallelRunConfig": "parallel_run_config", "ParallelRunStep": "parallel_run_step"}


def __getattr__(name: str):
    """AutoML's and ParallelRun's steps are loaded on first use: AutoML's run class brings in
    the AutoML package, which a pipeline without an AutoML step (and every command) does without."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"canalis.pipeline.steps.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ParallelRunConfig", "ParallelRunStep", "PythonScriptStep", "CommandStep", "PipelineStep", "DataTransferStep", "AutoMLStep", "AutoMLStepRun", "AdlaStep",
           "AzureBatchStep", "DatabricksStep", "EstimatorStep", "HyperDriveStep", "KustoStep", "MpiStep", "SynapseSparkStep"]
