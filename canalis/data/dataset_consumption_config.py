"""`DatasetConsumptionConfig`: how a step consumes a dataset (name and mode)."""
from __future__ import annotations

from canalis.data import _paths


class DatasetConsumptionConfig:
    def __init__(self, name, dataset, mode="direct", path_on_compute=None):
        self.name = _paths.input_name(name)
        self.dataset = dataset
        self.mode = mode
        self.path_on_compute = _paths.path_on_compute(path_on_compute)

    def as_download(self, path_on_compute=None):
        return DatasetConsumptionConfig(self.name, self.dataset, "download", path_on_compute)

    def as_mount(self, path_on_compute=None):
        return DatasetConsumptionConfig(self.name, self.dataset, "mount", path_on_compute)

    def __repr__(self):
        return f"DatasetConsumptionConfig(name={self.name!r}, mode={self.mode!r})"
