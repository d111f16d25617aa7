"""Which SDK v1 name canalis answers, and with what.

`sdk_v1_names.json` (made by `tools/sdk_v1_names.py` from the SDK v1 wheels) lists, for each
public SDK v1 module, the names SDK v1 code can import from it and the module that defines each
one. A name is answered by the canalis module that mirrors the module defining it
(`azureml.core.dataset` -> `canalis.core.dataset`), or, where canalis keeps it one level up
(`azureml.core.compute.amlcompute` -> `canalis.core.compute`) or the SDK defined it in a private
module, by the nearest mirrored package; then by the canalis module mirroring the module it is
imported from. So `from azureml.core.model import Dataset` gives `canalis.core.dataset.Dataset`,
the same object `from azureml.core import Dataset` gives. A name canalis has nowhere is not
offered, and importing it says why (`refusal`).
"""
from __future__ import annotations

import functools
import importlib
import importlib.util
import json
from pathlib import Path

SDK_PREFIX = "azureml"
HOME_PREFIX = "canalis"

#: names SDK v1 code imports that the recorded module listing lacks: private ones (the AutoML
#: article: `from azureml.core.run import _OfflineRun`) and ones the SDK loaded lazily (the same
#: article: `from azureml.train.automl import AutoMLConfig`)
EXTRA = {"azureml.core.run": {"_OfflineRun": "azureml.core.run"},
         "azureml.train.automl": {"AutoMLConfig": "azureml.train.automl.automlconfig"}}

#: why a module (or a module's names) is not offered, by the longest matching prefix
REASONS = {
    "azureml.core.webservice": "deploying models as web services needs Azure; serve a model from your own code",
    "azureml.core.image": "container images of models are built by Azure; canalis builds step images itself",
    "azureml.core.model.InferenceConfig": "deploying models as web services needs Azure",
    "azureml.core.model.ModelPackage": "packaging models for deployment needs Azure",
    "azureml.core.linked_service": "linked services are Azure resources",
    "azureml.core.private_endpoint": "private endpoints are Azure network resources",
    "azureml.core.container_registry": "container registries are configured for Azure",
    "azureml.core.databricks": "Databricks runs in the cloud",
    "azureml.core.compute.aks": "Kubernetes clusters are cloud compute; steps run on this machine",
    "azureml.core.compute.hdinsight": "HDInsight is cloud compute; steps run on this machine",
    "azureml.core.compute.datafactory": "Data Factory is cloud compute; steps run on this machine",
    "azureml.core.compute.synapse": "Synapse is cloud compute; steps run on this machine",
    "azureml.core.compute.remote": "remote VMs are reached through Azure; steps run on this machine",
    "azureml.core.compute.dsvm": "data science VMs are cloud compute; steps run on this machine",
    "azureml.core.compute.kubernetescompute": "Kubernetes clusters are cloud compute; steps run on this machine",
    "azureml.data.azure_sql_database_datastore": "SQL databases are not read offline; export the table to files",
    "azureml.data.azure_my_sql_datastore": "SQL databases are not read offline; export the table to files",
    "azureml.data.azure_postgre_sql_datastore": "SQL databases are not read offline; export the table to files",
    "azureml.data.sql_data_reference": "SQL databases are not read offline; export the table to files",
    "azureml.data.dbfs_datastore": "DBFS belongs to Databricks, which runs in the cloud",
    "azureml.data.hdfs_datastore": "HDFS clusters are not reached offline; copy the data into a datastore folder",
    "azureml.data.datacache": "the data cache is an Azure service",
    "azureml.widgets.parallel_run_step_details": "the ParallelRunStep widget is not offered; its step's stdout "
                                                 "has the progress (`canalis logs RUN STEP`)",
}
GUIDE = "docs/migrating-from-sdk-v1.md lists what canalis offers"


@functools.lru_cache(maxsize=1)
def sdk_modules() -> dict[str, dict[str, str]]:
    """SDK v1 module -> {name: module defining it}, with the private names of `EXTRA`."""
    data = json.loads((Path(__file__).with_name("sdk_v1_names.json")).read_text(encoding="utf-8"))["modules"]
    for module, names in EXTRA.items():
        data.setdefault(module, {}).update(names)
    return data


@functools.lru_cache(maxsize=None)
def sdk_packages() -> frozenset:
    """SDK v1 modules that are packages (hold other modules), and the packages above them."""
    found = set()
    for module in sdk_modules():
        parts = module.split(".")
        for i in range(1, len(parts)):
            found.add(".".join(parts[:i]))
    return frozenset(found)


def mirror(sdk_module: str) -> str:
    """The canalis module of the same path: azureml.core.run -> canalis.core.run."""
    return HOME_PREFIX + sdk_module[len(SDK_PREFIX):]


def _module(name: str):
    """The canalis module `name` imported, or None when canalis has no such module."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except (ImportError, ValueError):  # a parent is not a package, or missing
        return None
    return importlib.import_module(name)


def _candidates(sdk_module: str) -> list[str]:
    """Where canalis may keep a name the SDK keeps in `sdk_module`: its mirror, and when that is
    missing or the SDK module is private, the mirrors of the packages above it (not the root)."""
    parts = sdk_module.split(".")
    out = [mirror(sdk_module)]
    private = any(p.startswith("_") for p in parts)
    if private or _module(out[0]) is None:
        for i in range(len(parts) - 1, 1, -1):
            out.append(mirror(".".join(parts[:i])))
    return out


@functools.lru_cache(maxsize=None)
def home(sdk_module: str, name: str) -> str | None:
    """The canalis module that answers `name` of `sdk_module`, or None."""
    origin = sdk_modules().get(sdk_module, {}).get(name)
    if origin is None:
        return None
    for candidate in dict.fromkeys(_candidates(origin) + _candidates(sdk_module)):
        mod = _module(candidate)
        if mod is not None and _has(mod, name):
            return candidate
    return None


def _has(mod, name: str) -> bool:
    try:
        getattr(mod, name)
    except AttributeError:
        return False
    return True


def resolve(sdk_module: str, name: str):
    """The object canalis answers for `sdk_module.name`; AttributeError saying why when none."""
    where = home(sdk_module, name)
    if where is None:
        raise AttributeError(refusal(sdk_module, name))
    return getattr(importlib.import_module(where), name)


def offered(sdk_module: str) -> list[str]:
    """The names of `sdk_module` canalis answers."""
    return [n for n in sdk_modules().get(sdk_module, {}) if home(sdk_module, n) is not None]


def is_offered_module(sdk_module: str) -> bool:
    """A module canalis answers: it has names canalis offers, or holds modules that do."""
    if offered(sdk_module):
        return True
    return any(m.startswith(sdk_module + ".") and offered(m) for m in sdk_modules())


def reason(what: str) -> str | None:
    best = ""
    for prefix in REASONS:
        if (what == prefix or what.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return REASONS[best] if best else None


def refusal(sdk_module: str, name: str | None = None) -> str:
    """Why canalis does not answer `sdk_module` (or its `name`), and where to look."""
    what = f"{sdk_module}.{name}" if name else sdk_module
    names = sdk_modules().get(sdk_module, {})
    known = name in names if name else (sdk_module in sdk_modules() or sdk_module in sdk_packages())
    if not known:
        return f"{what} is not a public name of the Azure ML SDK v1, so canalis does not answer it; {GUIDE}"
    why = reason(what) or (reason(f"{names[name]}.{name}") if name else None)
    return f"{what} is an Azure ML SDK v1 name canalis does not offer" + (f" ({why})" if why else "") + f"; {GUIDE}"


def table() -> list[tuple[str, str, str]]:
    """(SDK v1 module, name, canalis object it is) for every name canalis offers, sorted."""
    rows = []
    for module in sorted(sdk_modules()):
        for name in sorted(sdk_modules()[module]):
            where = home(module, name)
            if where is not None:
                obj = getattr(importlib.import_module(where), name)
                defined = getattr(obj, "__module__", None) if not isinstance(obj, (str, int, float)) else None
                qual = getattr(obj, "__qualname__", name) if defined else name
                rows.append((module, name, f"{defined or where}.{qual}"))
    return rows
