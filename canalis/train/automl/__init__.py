"""`azureml.train.automl` names: `AutoMLConfig` (the search runs on FLAML; see docs/automl.md)."""
from canalis.train.automl.config import AutoMLConfig
from canalis.train.automl.featurization_config import FeaturizationConfig

__all__ = ["AutoMLConfig", "FeaturizationConfig"]
