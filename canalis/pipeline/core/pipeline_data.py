"""`PipelineData`: intermediate data between steps (the SDK's older name for an output folder)."""
from __future__ import annotations

from canalis.data.output_dataset_config import OutputFileDatasetConfig, OutputInput


class PipelineData(OutputFileDatasetConfig):
    #: as in SDK v1, a PipelineData path is not made in advance: its parent exists, and the step
    #: makes a folder there or writes one file at it (executor/outputs.py)
    _made_in_advance = False

    def __init__(self, name, datastore=None, output_name=None, output_mode="mount", output_path_on_compute=None,
                 output_overwrite=None, data_type=None, is_directory=None, pipeline_output_name=None, training_output=None):
        super().__init__(name=output_name or name)
        from canalis.data import _paths

        _paths.path_on_compute(output_path_on_compute)
        self.datastore = datastore
        self.pipeline_output_name = pipeline_output_name
        self.training_output = training_output
        self.mode = output_mode

    def as_input(self, input_name=None):
        return OutputInput(self, input_name)

    def as_dataset(self):
        return self

    def parse_delimited_files(self, include_path=False, separator=",", header=True, partition_format=None, file_extension="", set_column_types=None, quoted_line_breaks=False):
        return self.read_delimited_files(separator=separator, header=header, set_column_types=set_column_types,
                                         file_extension=file_extension or None)

    def parse_parquet_files(self, include_path=False, partition_format=None, file_extension=".parquet", set_column_types=None):
        """Read as Parquet by the consuming steps: the files ending in `file_extension`, or with
        None every file (an output the step wrote as one file, often without an extension)."""
        return self.read_parquet_files(set_column_types=set_column_types, file_extension=file_extension or None)

    def __repr__(self):
        return f"PipelineData(name={self.name!r})"


class TrainingOutput:
    """Which AutoML artefact a PipelineData carries ('Metrics' or 'Model')."""

    def __init__(self, type, iteration=None, metric=None, model_file=None):
        self.type = type
        self.iteration = iteration
        self.metric = metric
        self.model_file = model_file
