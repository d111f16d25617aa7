"""`azureml.core` names. Each loads on first use (as `canalis`'s own names do): a program, or
a submit of a pipeline, pays only for the classes it touches."""
import importlib

from canalis.core import run_context as _run_context  # noqa: F401  (installs Run.get_context's step run)

# name -> module that defines it
_LAZY = {
    "ComputeTarget": "canalis.core.compute",
    "CondaDependencies": "canalis.core.conda_dependencies",
    "Dataset": "canalis.core.dataset",
    "Datastore": "canalis.core.datastore",
    "Environment": "canalis.core.environment",
    "Experiment": "canalis.core.experiment",
    "Keyvault": "canalis.core.keyvault",
    "Model": "canalis.core.model",
    "Run": "canalis.core.run",
    "RunConfiguration": "canalis.core.runconfig",
    "ScriptRunConfig": "canalis.core.script_run_config",
    "Workspace": "canalis.core.workspace",
}

#: the Azure ML SDK v1 release whose names this canalis answers (canalis/compat/sdk_v1_names.json)
SDK_V1_RELEASE = "1.62.0"
#: what SDK v1 code prints as `azureml.core.VERSION`: that release, marked as canalis's (a valid PEP 440 version)
VERSION = f"{SDK_V1_RELEASE}+canalis.{__import__('canalis').__version__}"

__all__ = ["ComputeTarget", "CondaDependencies", "Dataset", "Datastore", "Environment", "Experiment", "Keyvault", "Model", "Run",
           "RunConfiguration", "ScriptRunConfig", "Workspace"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        if name != "Keyvault":  # kept as it was: looked up in its module on each use
            globals()[name] = value
        return value
    raise AttributeError(f"module 'canalis.core' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
