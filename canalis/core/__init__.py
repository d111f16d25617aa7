"""`azureml.core` names."""
from canalis.core.compute import ComputeTarget
from canalis.core.conda_dependencies import CondaDependencies
from canalis.core.dataset import Dataset
from canalis.core.datastore import Datastore
from canalis.core.environment import Environment
from canalis.core.experiment import Experiment
from canalis.core.model import Model
from canalis.core.run import Run
from canalis.core import run_context as _run_context  # noqa: F401  (installs Run.get_context's step run)
from canalis.core.runconfig import RunConfiguration
from canalis.core.script_run_config import ScriptRunConfig
from canalis.core.workspace import Workspace

#: the Azure ML SDK v1 release whose names this canalis answers (canalis/compat/sdk_v1_names.json)
SDK_V1_RELEASE = "1.62.0"
#: what SDK v1 code prints as `azureml.core.VERSION`: that release, marked as canalis's (a valid PEP 440 version)
VERSION = f"{SDK_V1_RELEASE}+canalis.{__import__('canalis').__version__}"

__all__ = ["ComputeTarget", "CondaDependencies", "Dataset", "Datastore", "Environment", "Experiment", "Keyvault", "Model", "Run",
           "RunConfiguration", "ScriptRunConfig", "Workspace"]


def __getattr__(name: str):
    if name == "Keyvault":  # loaded on first use: most programs never touch secrets
        from canalis.core.keyvault import Keyvault

        return Keyvault
    raise AttributeError(f"module 'canalis.core' has no attribute {name!r}")
