"""`azureml.core.compute_target` names."""
from canalis.exceptions import ComputeTargetException

__all__ = ["ComputeTargetException"]
