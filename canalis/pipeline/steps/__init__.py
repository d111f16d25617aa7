"""`azureml.pipeline.steps` names."""
from canalis.lazy import names as _lazy_names
from canalis.pipeline.steps.python_script_step import CommandStep, PipelineStep, PythonScriptStep

_LAZY = {"AutoMLStep": "automl_step", "AutoMLStepRun": "automl_step",
         "ParallelRunConfig": "parallel_run_config", "ParallelRunStep": "parallel_run_step",
         "DataTransferStep": "data_transfer_step",
         **{n: "cloud_steps" for n in ("AdlaStep", "AzureBatchStep", "DatabricksStep", "EstimatorStep", "HyperDriveStep",
                                       "KustoStep", "MpiStep", "SynapseSparkStep")}}


#: steps other than PythonScriptStep and CommandStep are loaded on first use: AutoML's run class
#: brings in the AutoML package, and a pipeline of script steps (what most submits hold) needs
#: none of the others
__getattr__, __dir__ = _lazy_names(globals(), {name: f".{module}" for name, module in _LAZY.items()})


__all__ = ["ParallelRunConfig", "ParallelRunStep", "PythonScriptStep", "CommandStep", "PipelineStep", "DataTransferStep", "AutoMLStep", "AutoMLStepRun", "AdlaStep",
           "AzureBatchStep", "DatabricksStep", "EstimatorStep", "HyperDriveStep", "KustoStep", "MpiStep", "SynapseSparkStep"]
