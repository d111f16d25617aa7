"""`azureml.pipeline.core` names."""
from canalis.pipeline.core.graph import PipelineParameter, StepSequence
from canalis.pipeline.core.pipeline import Pipeline
from canalis.pipeline.core.pipeline_data import PipelineData, TrainingOutput
from canalis.pipeline.core.pipeline_endpoint import PipelineEndpoint, PipelineIdVersion
from canalis.pipeline.core.published_pipeline import PublishedPipeline
from canalis.pipeline.core.run import PipelineRun, PortDataReference, StepRun, StepRunOutput
from canalis.pipeline.core.schedule import Schedule, ScheduleRecurrence, TimeZone

__all__ = ["Pipeline", "PipelineData", "PipelineEndpoint", "PipelineIdVersion", "PipelineParameter", "PipelineRun",
           "PortDataReference", "PublishedPipeline", "Schedule", "ScheduleRecurrence", "StepRun", "StepRunOutput",
           "StepSequence", "TimeZone", "TrainingOutput"]
