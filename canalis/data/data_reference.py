"""`DataReference` / `DataPath`: a path in a datastore, consumed by a step as a folder."""
from __future__ import annotations

from canalis.data import _paths


class DataReference:
    def __init__(self, datastore, data_reference_name=None, path_on_datastore=None, mode="mount", path_on_compute=None, overwrite=False):
        self.datastore = datastore
        self.path_on_datastore = _paths.datastore_path(path_on_datastore, datastore.name)
        self.data_reference_name = _paths.input_name(data_reference_name or _default_name(datastore.name, self.path_on_datastore),
                                                     "data_reference_name")
        self.mode = mode
        self.path_on_compute = _paths.path_on_compute(path_on_compute)
        self.overwrite = overwrite

    def as_download(self, path_on_compute=None, overwrite=False):
        return DataReference(self.datastore, self.data_reference_name, self.path_on_datastore, "download", path_on_compute, overwrite)

    def as_mount(self):
        return DataReference(self.datastore, self.data_reference_name, self.path_on_datastore, "mount")

    def path(self, path=None, data_reference_name=None):
        joined = "/".join(p for p in (self.path_on_datastore.rstrip("/"), path or "") if p)
        return DataReference(self.datastore, data_reference_name, joined, self.mode)

    def __str__(self):
        return f"$AZUREML_DATAREFERENCE_{self.data_reference_name}"

    def __repr__(self):
        return f"DataReference(datastore={self.datastore.name!r}, path={self.path_on_datastore!r}, mode={self.mode!r})"


def _default_name(datastore: str, path: str) -> str:
    import re

    tail = re.sub(r"[^A-Za-z0-9_]+", "_", path.strip("/")) or "root"
    return _paths.safe_name(f"{datastore}_{tail}")


class DataPath:
    def __init__(self, datastore=None, path_on_datastore=None, name=None):
        self.datastore = datastore
        self.path_on_datastore = _paths.datastore_path(path_on_datastore, getattr(datastore, "name", "?"))
        self.name = None if name is None else _paths.input_name(name, "DataPath name")

    def create_data_reference(self, data_reference_name=None, datapath_compute_binding=None):
        mode = getattr(datapath_compute_binding, "mode", "mount")
        return DataReference(self.datastore, data_reference_name or self.name, self.path_on_datastore, mode)


class DataPathComputeBinding:
    def __init__(self, mode="mount", path_on_compute=None, overwrite=False):
        self.mode = mode
        self.path_on_compute = _paths.path_on_compute(path_on_compute)
        self.overwrite = overwrite
