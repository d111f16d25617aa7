"""`azureml.pipeline.steps` names."""
from canalis.pipeline.steps.cloud_steps import (AdlaStep, AzureBatchStep, DatabricksStep, EstimatorStep, HyperDriveStep,
                                                KustoStep, MpiStep, SynapseSparkStep)
from canalis.pipeline.steps.data_transfer_step import DataTransferStep
from canalis.pipeline.steps.python_script_step import CommandStep, PipelineStep, PythonScriptStep
from canalis.pipeline.steps.automl_step import AutoMLStep, AutoMLStepRun
from canalis.pipeline.steps.parallel_run_config import ParallelRunConfig
from canalis.pipeline.steps.parallel_run_step import ParallelRunStep

__all__ = ["ParallelRunConfig", "ParallelRunStep", "PythonScriptStep", "CommandStep", "PipelineStep", "DataTransferStep", "AutoMLStep", "AutoMLStepRun", "AdlaStep",
           "AzureBatchStep", "DatabricksStep", "EstimatorStep", "HyperDriveStep", "KustoStep", "MpiStep", "SynapseSparkStep"]
