"""canalis: a local-first, offline engine for machine-learning pipelines.

The most used SDK v1 names are importable from here; they load on first use so that
`import canalis` stays cheap for the CLI.
"""
from __future__ import annotations

import importlib

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


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'canalis' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
