"""Which objects are datasets, DataPaths, DataReferences or datastores, asked without loading their classes.

An object of a class exists only once the class's module has run. While
`canalis.data.abstract_dataset` (or `data_reference`, `dataset_consumption_config`,
`canalis.core.datastore`) is not loaded, nothing is an instance of its classes: `loaded`
gives the classes whose modules are loaded, as a tuple for `isinstance` (`()` matches
nothing). A pipeline that uses no dataset, DataPath or datastore is compiled and submitted
without loading those modules.
"""
from __future__ import annotations

import sys

#: the module of each data class asked about
MODULES = {
    "AbstractDataset": "canalis.data.abstract_dataset",
    "DataPath": "canalis.data.data_reference",
    "DataReference": "canalis.data.data_reference",
    "DatasetConsumptionConfig": "canalis.data.dataset_consumption_config",
    "Datastore": "canalis.core.datastore",
}


def loaded(*names: str) -> tuple:
    """The classes named (keys of `MODULES`) whose modules are loaded, for `isinstance`."""
    found = []
    for name in names:
        cls = getattr(sys.modules.get(MODULES[name]), name, None)
        if cls is not None:
            found.append(cls)
    return tuple(found)


def is_data_value(value) -> bool:
    """A DataPath, DataReference or dataset: data a pipeline parameter can hold."""
    return isinstance(value, loaded("DataPath", "DataReference", "AbstractDataset"))
