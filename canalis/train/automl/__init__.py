"""`azureml.train.automl` names: `AutoMLConfig` (the search runs on FLAML; see docs/automl.md)."""
from canalis.train.automl.config import AutoMLConfig

__all__ = ["AutoMLConfig"]
