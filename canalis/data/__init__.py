"""`azureml.data` names, each loaded on first use: a pipeline that names an output config does
not load the tabular dataset's module, nor the others it does not use."""
from __future__ import annotations

from canalis.lazy import names as _lazy_names

_LAZY = {
    "DataPath": "canalis.data.data_reference",
    "DataPathComputeBinding": "canalis.data.data_reference",
    "DataReference": "canalis.data.data_reference",
    "DatasetConsumptionConfig": "canalis.data.dataset_consumption_config",
    "FileDataset": "canalis.data.file_dataset",
    "OutputFileDatasetConfig": "canalis.data.output_dataset_config",
    "TabularDataset": "canalis.data.tabular_dataset",
}

__all__ = ["DataPath", "DataPathComputeBinding", "DataReference", "DatasetConsumptionConfig", "FileDataset",
           "OutputFileDatasetConfig", "TabularDataset"]


__getattr__, __dir__ = _lazy_names(globals(), _LAZY)
