"""`DataTransferStep`: copy data from one datastore (or step output) to another.

SDK v1 ran it on Azure Data Factory. canalis runs it as a small Python step (the script in
`transfer/`) that copies its input into its output; an output with a datastore destination
is then written there by content, like any output. Its key is the input's content, so the
same data is not copied twice.
"""
from __future__ import annotations

from pathlib import Path

from canalis.data.data_reference import DataPath, DataReference
from canalis.data.output_dataset_config import OutputFileDatasetConfig
from canalis.ignored_keywords import given, warn_ignored
from canalis.pipeline.steps.python_script_step import PythonScriptStep

SCRIPT_DIR = Path(__file__).resolve().parent / "transfer"


class DataTransferStep(PythonScriptStep):
    def __init__(self, name, source_data_reference=None, destination_data_reference=None, compute_target=None,
                 source_reference_type=None, destination_reference_type=None, allow_reuse=True):
        destination = destination_data_reference
        if isinstance(destination, (DataReference, DataPath)):  # a datastore path: an output published there
            destination = OutputFileDatasetConfig(name=f"{_plain(name)}_destination",
                                                  destination=(destination.datastore, destination.path_on_datastore))
        if not isinstance(destination, OutputFileDatasetConfig):
            from canalis.exceptions import UserErrorException

            raise UserErrorException(f"DataTransferStep {name!r}: destination_data_reference must be a DataReference, "
                                     f"DataPath, PipelineData or OutputFileDatasetConfig, got {destination!r}")
        source = source_data_reference
        super().__init__(script_name="copy_data.py", name=name, source_directory=str(SCRIPT_DIR),
                         arguments=[source, destination], inputs=[source], outputs=[destination],
                         compute_target=compute_target, allow_reuse=allow_reuse)
        self.destination = destination
        warn_ignored("DataTransferStep", given(source_reference_type=source_reference_type,
                                               destination_reference_type=destination_reference_type))


def _plain(name: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in str(name))
