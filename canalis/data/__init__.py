"""`azureml.data` names."""
from canalis.data.data_reference import DataPath, DataPathComputeBinding, DataReference
from canalis.data.dataset_consumption_config import DatasetConsumptionConfig
from canalis.data.file_dataset import FileDataset
from canalis.data.output_dataset_config import OutputFileDatasetConfig
from canalis.data.tabular_dataset import TabularDataset

__all__ = ["DataPath", "DataPathComputeBinding", "DataReference", "DatasetConsumptionConfig", "FileDataset",
           "OutputFileDatasetConfig", "TabularDataset"]
