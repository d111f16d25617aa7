"""`OutputFileDatasetConfig`: a folder a step writes, which later steps read by content."""
from __future__ import annotations

from canalis.data import _paths
from canalis.exceptions import UserErrorException


class OutputFileDatasetConfig:
    """An output folder. `destination=(datastore, 'path/{run-id}')` also copies the result
    into that datastore path when the step completes."""

    def __init__(self, name=None, destination=None, source=None, partition_format=None):
        if name is not None and not str(name).replace("_", "").replace("-", "").isalnum():
            raise UserErrorException(f"output name {name!r} may hold only letters, digits, '_' and '-'")
        self.name = name
        self.destination = destination
        check_destination(destination, name)
        self.source = source
        self._register = None
        self._kind = "file"
        self._options = {}
        self.mode = "mount"
        self._producer = None  # the step that lists it as an output, set by the step

    # -- consuming it ----------------------------------------------------------------------
    def as_input(self, name=None):
        return OutputInput(self, name)

    def as_named_input(self, name):
        """SDK v1's PipelineOutputFileDataset / PipelineOutputTabularDataset spelling of `as_input(name)`."""
        return OutputInput(self, name)

    def as_mount(self, disable_metadata_cache=False):
        self.mode = "mount"
        return self

    def as_upload(self, overwrite=False, source_globs=None):
        self.mode = "upload"
        return self

    def register_on_complete(self, name, description=None, tags=None):
        self._register = {"name": name, "description": description, "tags": dict(tags or {})}
        return self

    def read_delimited_files(self, include_path=False, separator=",", header=True, partition_format=None, path_glob=None,
                             set_column_types=None, file_extension=None):
        """Read as a table by the steps that consume it (SDK v1's OutputTabularDatasetConfig): this
        object, now tabular, with `keep_columns` / `drop_columns` / `random_split` etc."""
        self._kind = "tabular"
        self._options = {"format": "delimited", "separator": separator, "header": bool(header),
                         "infer_column_types": True,
                         "set_column_types": {k: str(v) for k, v in (set_column_types or {}).items()},
                         **({"file_extension": file_extension} if file_extension else {})}
        return self

    def read_parquet_files(self, include_path=False, partition_format=None, path_glob=None, set_column_types=None,
                           file_extension=None):
        """Read as Parquet by the steps that consume it; `file_extension` (e.g. ".parquet") keeps
        only the files with it; None reads every file, also an output written as one file."""
        self._kind = "tabular"
        self._options = {"format": "parquet", "set_column_types": {k: str(v) for k, v in (set_column_types or {}).items()},
                         **({"file_extension": file_extension} if file_extension else {})}
        return self

    # -- what the consumers of a tabular output read (as TabularDataset does) -----------------
    def _transform(self, op):
        if self._kind != "tabular":
            raise UserErrorException(f"output {self.name!r} is read as files; call read_parquet_files() or "
                                     f"read_delimited_files() (PipelineData: parse_...) before {op[0]}_columns")
        self._options = {**self._options, "transforms": [*self._options.get("transforms", []), op]}
        return self

    def keep_columns(self, columns, validate=False):
        return self._transform(["keep", [columns] if isinstance(columns, str) else list(columns)])

    def drop_columns(self, columns):
        return self._transform(["drop", [columns] if isinstance(columns, str) else list(columns)])

    def take(self, count):
        return self._transform(["take", int(count)])

    def skip(self, count):
        return self._transform(["skip", int(count)])

    def __repr__(self):
        return f"OutputFileDatasetConfig(name={self.name!r})"


class OutputInput:
    """An output consumed by a later step, under `name` (default: the output's name)."""

    def __init__(self, output, name=None, mode="mount"):
        self.output = output
        self.input_name = None if name is None else _paths.input_name(name)
        self.mode = mode

    def as_download(self, path_on_compute=None):
        _paths.path_on_compute(path_on_compute)
        return OutputInput(self.output, self.input_name, "download")

    def as_mount(self):
        return OutputInput(self.output, self.input_name, "mount")

    def __repr__(self):
        return f"{self.output!r}.as_input({self.input_name!r})"


def check_destination(destination, output_name=None) -> None:
    """A `(datastore, path)` destination must stay inside the datastore; `{run-id}` and
    `{output-name}` stand for single folder names, so the check holds once they are filled in."""
    if isinstance(destination, tuple) and len(destination) == 2:
        store, path = destination
        name = getattr(store, "name", "?")
        _paths.relative(path if path is not None else "", f"destination path of output {output_name!r}",
                        f"datastore {name!r}", hint="use a path inside the datastore, such as 'outputs/{run-id}'")
