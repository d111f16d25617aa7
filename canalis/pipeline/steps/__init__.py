"""`azureml.pipeline.steps` names."""
from canalis.pipeline.steps.python_script_step import CommandStep, PipelineStep, PythonScriptStep

_LAZY = {"AutoMLStep": "automl_step", "AutoMLStepRun": "automl_step",
         "ParallelRunConfig": "parallel_run_config", "ParallelRunStep": "parallel_run_step",
         "DataTransferStep": "data_transfer_step",
         **{n: "cloud_steps" for n in ("AdlaStep", "AzureBatchStep", "DatabricksStep", "EstimatorStep", "HyperDriveStep",
                                       "KustoStep", "MpiStep", "SynapseSparkStep")}}


def __getattr__(name: str):
    """Steps other than PythonScriptStep and CommandStep are loaded on first use: AutoML's run
    class brings in the AutoML package, and a pipeline of script steps (what most submits hold)
    needs none of the others."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"canalis.pipeline.steps.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["ParallelRunConfig", "ParallelRunStep", "PythonScriptStep", "CommandStep", "PipelineStep", "DataTransferStep", "AutoMLStep", "AutoMLStepRun", "AdlaStep",
           "AzureBatchStep", "DatabricksStep", "EstimatorStep", "HyperDriveStep", "KustoStep", "MpiStep", "SynapseSparkStep"]
