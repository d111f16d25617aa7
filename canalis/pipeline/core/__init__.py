"""`azureml.pipeline.core` names."""
from canalis.pipeline.core.graph import PipelineParameter, StepSequence
from canalis.pipeline.core.pipeline import Pipeline
from canalis.pipeline.core.run import PipelineRun, PortDataReference, StepRun, StepRunOutput

_LAZY = {"PipelineData": "pipeline_data", "TrainingOutput": "pipeline_data",
         "PipelineEndpoint": "pipeline_endpoint", "PipelineIdVersion": "pipeline_endpoint",
         "PublishedPipeline": "published_pipeline", "Schedule": "schedule", "ScheduleRecurrence": "schedule",
         "TimeZone": "schedule"}


def __getattr__(name: str):
    """PipelineData, published pipelines, endpoints and schedules are loaded on first use:
    submitting a pipeline that uses none of them loads none of them (nor the recurrence rules
    and time zones schedules bring in)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f"canalis.pipeline.core.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Pipeline", "PipelineData", "PipelineEndpoint", "PipelineIdVersion", "PipelineParameter", "PipelineRun",
           "PortDataReference", "PublishedPipeline", "Schedule", "ScheduleRecurrence", "StepRun", "StepRunOutput",
           "StepSequence", "TimeZone", "TrainingOutput"]
