"""`azureml.pipeline.core` names."""
from canalis.pipeline.core.graph import PipelineParameter, StepSequence
from canalis.pipeline.core.pipeline import Pipeline
from canalis.pipeline.core.pipeline_data import PipelineData, TrainingOutput
from canalis.pipeline.core.run import PipelineRun, PortDataReference, StepRun, StepRunOutput

__all__ = ["Pipeline", "PipelineData", "PipelineParameter", "PipelineRun", "PortDataReference", "StepRun",
           "StepRunOutput", "StepSequence", "TrainingOutput"]
