"""`Dataset` with its SDK v1 factories: `Dataset.File.from_files`, `Dataset.Tabular.from_*`."""
from __future__ import annotations

from canalis.data import _sources
from canalis.data.abstract_dataset import AbstractDataset
from canalis.data.file_dataset import FileDataset
from canalis.data.tabular_dataset import TabularDataset
from canalis.exceptions import UserErrorException


def _workspace_of(path):
    items = path if isinstance(path, list) else [path]
    for item in items:
        if isinstance(item, tuple):
            return item[0].workspace
        if hasattr(item, "datastore"):
            return item.datastore.workspace
    return None


def _checked(ds, validate):
    if validate and ds._workspace is not None:
        _sources.resolve(ds._workspace, ds._sources)  # raises naming the path that matches nothing
    return ds


class _FileFactory:
    @staticmethod
    def from_files(path, validate=True, partition_format=None, is_file=False):
        ws = _workspace_of(path)
        ds = FileDataset(workspace=ws, sources=_sources.normalise(ws, path))
        return _checked(ds, validate)


class _TabularFactory:
    @staticmethod
    def from_delimited_files(path, validate=True, include_path=False, infer_column_types=True, set_column_types=None,
                             separator=",", header=True, partition_format=None, support_multi_line=False,
                             empty_as_string=False, encoding="utf8"):
        ws = _workspace_of(path)
        header_flag = header not in (False, 0, "NO_HEADERS", "no_headers")
        opts = {"format": "delimited", "separator": separator, "header": header_flag,
                "infer_column_types": bool(infer_column_types),
                "set_column_types": {k: str(v) for k, v in (set_column_types or {}).items()}}
        return _checked(TabularDataset(workspace=ws, sources=_sources.normalise(ws, path), options=opts), validate)

    @staticmethod
    def from_parquet_files(path, validate=True, include_path=False, set_column_types=None, partition_format=None):
        ws = _workspace_of(path)
        opts = {"format": "parquet", "set_column_types": {k: str(v) for k, v in (set_column_types or {}).items()}}
        return _checked(TabularDataset(workspace=ws, sources=_sources.normalise(ws, path), options=opts), validate)

    @staticmethod
    def from_sql_query(*args, **kwargs):
        from canalis.exceptions import NotSupportedOfflineError

        raise NotSupportedOfflineError("SQL datasets are not supported offline; export the table to CSV or parquet and use from_delimited_files")


def registered(workspace, row):
    """A registered dataset version as the dataset class its kind calls for."""
    return (TabularDataset if row.kind == "tabular" else FileDataset)._of_row(workspace, row)


class Dataset(AbstractDataset):
    File = _FileFactory
    Tabular = _TabularFactory

    @staticmethod
    def get_by_name(workspace, name, version="latest"):
        row = workspace.ledger.dataset(name, None if version in (None, "latest") else int(version))
        if row is None:
            versions = [d.version for d in workspace.ledger.dataset_versions(name)]
            hint = f"known versions: {versions}" if versions else "no dataset of that name is registered"
            raise UserErrorException(f"dataset {name!r} version {version!r} not found ({hint})")
        return registered(workspace, row)

    @staticmethod
    def get_by_id(workspace, id):
        for d in workspace.ledger.datasets():
            for row in workspace.ledger.dataset_versions(d.name):
                if row.id == id:
                    return registered(workspace, row)
        raise UserErrorException(f"no dataset version with id {id!r}")

    @staticmethod
    def get_all(workspace):
        return {d.name: Dataset.get_by_name(workspace, d.name) for d in workspace.ledger.datasets()}
