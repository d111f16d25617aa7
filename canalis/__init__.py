"""canalis: a local-first, offline engine for machine-learning pipelines.

The most used SDK v1 names are importable from here; they load on first use so that
`import canalis` stays cheap for the CLI.
"""
from __future__ import annotations

from canalis.lazy import names as _lazy_names

__version__ = "0.1.0"

# name -> module that defines it (filled in as the SDK modules land)
_LAZY: dict[str, str] = {
    "Workspace": "canalis.core",
    "Datastore": "canalis.core",
    "Dataset": "canalis.core",
    "Experiment": "canalis.core",
    "Environment": "canalis.core",
    "Run": "canalis.core",
    "RunConfiguration": "canalis.core",
    "ScriptRunConfig": "canalis.core",
    "Model": "canalis.core",
    "ComputeTarget": "canalis.core",
    "CondaDependencies": "canalis.core",
    "OutputFileDatasetConfig": "canalis.data",
    "DataReference": "canalis.data",
    "Pipeline": "canalis.pipeline.core",
    "PipelineData": "canalis.pipeline.core",
    "PipelineParameter": "canalis.pipeline.core",
    "PipelineRun": "canalis.pipeline.core",
    "StepSequence": "canalis.pipeline.core",
    "TrainingOutput": "canalis.pipeline.core",
    "PythonScriptStep": "canalis.pipeline.steps",
    "CommandStep": "canalis.pipeline.steps",
}


__getattr__, __dir__ = _lazy_names(globals(), _LAZY)
