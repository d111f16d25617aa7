"""`azureml.pipeline.steps` names."""
from canalis.pipeline.steps.python_script_step import CommandStep, PipelineStep, PythonScriptStep

__all__ = ["PythonScriptStep", "CommandStep", "PipelineStep"]
