"""`azureml.pipeline.core` names."""
from canalis.lazy import names as _lazy_names
from canalis.pipeline.core.graph import PipelineParameter, StepSequence
from canalis.pipeline.core.pipeline import Pipeline
from canalis.pipeline.core.run import PipelineRun, PortDataReference, StepRun, StepRunOutput

_LAZY = {"PipelineData": "pipeline_data", "TrainingOutput": "pipeline_data",
         "PipelineEndpoint": "pipeline_endpoint", "PipelineIdVersion": "pipeline_endpoint",
         "PublishedPipeline": "published_pipeline", "Schedule": "schedule", "ScheduleRecurrence": "schedule",
         "TimeZone": "schedule"}


#: PipelineData, published pipelines, endpoints and schedules are loaded on first use: submitting
#: a pipeline that uses none of them loads none of them (nor the recurrence rules and time zones
#: schedules bring in)
__getattr__, __dir__ = _lazy_names(globals(), {name: f".{module}" for name, module in _LAZY.items()})

__all__ = ["Pipeline", "PipelineData", "PipelineEndpoint", "PipelineIdVersion", "PipelineParameter", "PipelineRun",
           "PortDataReference", "PublishedPipeline", "Schedule", "ScheduleRecurrence", "StepRun", "StepRunOutput",
           "StepSequence", "TimeZone", "TrainingOutput"]
