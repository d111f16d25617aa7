"""`azureml.data.datapath` names."""
from canalis.data.data_reference import DataPath, DataPathComputeBinding

__all__ = ["DataPath", "DataPathComputeBinding"]
