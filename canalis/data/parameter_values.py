"""Data as a pipeline parameter's value: a `DataPath` (or DataReference) or a dataset.

SDK v1 let a `PipelineParameter` default to a DataPath or a dataset and take another one at
submit (`pipeline_parameters={"name": DataPath(...)}`). canalis snapshots the chosen value's
content at submit, like any input, so it is part of the reading steps' reuse keys, and
records the parameter as what it named plus the tree it gave (`recorded`).
"""
from __future__ import annotations

from canalis.data.abstract_dataset import AbstractDataset
from canalis.data.data_reference import DataPath, DataReference
from canalis.data.kinds import is_data_value  # noqa: F401  (asked without loading this module's imports)


def recorded(value, tree: str) -> dict:
    """How a data value is recorded in the plan and the run's parameters (JSON)."""
    if isinstance(value, (DataPath, DataReference)):
        return {"datapath": {"datastore": value.datastore.name, "path": value.path_on_datastore}, "tree": tree}
    named = {"name": value.name, "version": value.version} if value.name else {"sources": value._sources}
    return {"dataset": named, "kind": value.kind, "tree": tree}
