"""`Dataset` with its SDK v1 factories: `Dataset.File.from_files`, `Dataset.Tabular.from_*`."""
from __future__ import annotations

import warnings

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
        sources = _sources.normalise(ws, path)
        one = _sources.single_file(ws, sources) if validate else None
        # a dataset of one file is that file's path in a step (as_mount, as_download, input_datasets, arguments)
        ds = FileDataset(workspace=ws, sources=sources, options={"file": one} if one else None)
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


def _row(workspace, name, version):
    row = workspace.ledger.dataset(name, None if version in (None, "latest") else int(version))
    if row is None:
        versions = [d.version for d in workspace.ledger.dataset_versions(name)]
        hint = f"known versions: {versions}" if versions else "no dataset of that name is registered"
        raise UserErrorException(f"dataset {name!r} version {version!r} not found ({hint})")
    return row


def _where(sources) -> str:
    return ", ".join(f"{s['datastore']}/{s['path']}" if "datastore" in s else s.get("local", "?") for s in sources)


def warn_if_moved(workspace, row) -> bool:
    """Warn (`DatasetChangedWarning`, one line) when the files a registered version was made
    from now hold other content: the version keeps its registered bytes, and the warning says
    which version is returned and how to register what is there now. True when it warned."""
    from canalis.errors import DatasetChangedWarning
    from canalis.store.compare import compare_files

    sources = (row.lineage or {}).get("sources") or []
    if not sources:
        return False  # made by a step (register_on_complete) or from a tree: nothing to compare with
    try:
        files = _sources.resolve(workspace, sources)
    except UserErrorException:
        now = "are gone"
    else:
        if compare_files(workspace.store, row.digest, files)["same"]:
            return False
        now = "changed"
    warnings.warn(
        f"dataset {row.name!r}: the files at {_where(sources)} {now} since version {row.version} was registered; "
        f"returning version {row.version} (the bytes registered then). To register what is there now: "
        f"Dataset.get_by_name(ws, {row.name!r}).register(ws, {row.name!r}, create_new_version=True)",
        DatasetChangedWarning, stacklevel=3)
    return True


class Dataset(AbstractDataset):
    File = _FileFactory
    Tabular = _TabularFactory

    @staticmethod
    def get_by_name(workspace, name, version="latest"):
        """A registered version (the latest by default). A registered version holds the bytes
        it was registered with; when the datastore files the latest version was made from have
        changed since, a `DatasetChangedWarning` says so (and how to register them)."""
        row = _row(workspace, name, version)
        if version in (None, "latest"):
            warn_if_moved(workspace, row)
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
        """The latest version of every registered dataset, by name (not compared with their files)."""
        return {d.name: registered(workspace, d) for d in workspace.ledger.datasets()}
