"""`azureml.pipeline.steps` names."""
from canalis.pipeline.steps.python_script_step import CommandStep, PipelineStep, PythonScriptStep
from canalis.pipeline.steps.automl_step import AutoMLStep, AutoMLStepRun

__all__ = ["PythonScriptStep", "CommandStep", "PipelineStep", "AutoMLStep", "AutoMLStepRun"]
