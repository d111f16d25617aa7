"""`ParallelRunStep`: an entry script's `run(mini_batch)` over a dataset cut into mini-batches.

The step runs canalis's driver (`canalis/pipeline/steps/parallel_driver.py`) in a snapshot of
`source_directory`, which holds the entry script; its settings are one argument, so its reuse
key is made of them, the data and the code, as for any step. The driver runs the mini-batches
in a process pool on this machine, or on the Dask cluster of the config's compute target, and
reuses each mini-batch's result when that mini-batch was already processed (docs/parallel-run.md).
"""
from __future__ import annotations

import json

from canalis.data.abstract_dataset import AbstractDataset
from canalis.data.dataset_consumption_config import DatasetConsumptionConfig
from canalis.data.output_dataset_config import OutputFileDatasetConfig
from canalis.exceptions import UserErrorException
from canalis.pipeline.steps.parallel_run_config import ParallelRunConfig, batch_size
from canalis.pipeline.steps.python_script_step import PipelineStep


class ParallelRunStep(PipelineStep):
    kind = "parallel"

    def __init__(self, name, parallel_run_config, inputs, output=None, side_inputs=None, arguments=None,
                 allow_reuse=True, **kwargs):
        if not isinstance(parallel_run_config, ParallelRunConfig):
            raise UserErrorException(f"ParallelRunStep {name!r} needs parallel_run_config=ParallelRunConfig(...), "
                                     f"got {parallel_run_config!r}")
        inputs = list(inputs or [])
        if len(inputs) != 1:
            raise UserErrorException(f"ParallelRunStep {name!r} takes one input to split into mini-batches (a "
                                     f"FileDataset or TabularDataset, as .as_named_input(NAME)); got {len(inputs)}")
        data = inputs[0]
        if isinstance(data, AbstractDataset):
            data = data.as_named_input(f"{name}_input".replace("-", "_"))
        if not isinstance(data, DatasetConsumptionConfig):
            raise UserErrorException(f"ParallelRunStep {name!r}: the input must be a FileDataset or TabularDataset "
                                     f"(dataset.as_named_input(NAME)), got {data!r}")
        kind = getattr(data.dataset, "kind", "file")
        cfg = parallel_run_config
        if output is not None and not isinstance(output, OutputFileDatasetConfig):
            raise UserErrorException(f"ParallelRunStep {name!r}: output must be a PipelineData or "
                                     f"OutputFileDatasetConfig, got {output!r}")
        target = cfg.compute_target
        settings = {
            "input": data.name, "kind": kind, "batch": list(batch_size(cfg.mini_batch_size, kind)),
            "error_threshold": cfg.error_threshold, "output_action": cfg.output_action,
            "processes": cfg.node_count * (cfg.process_count_per_node or 0) or None,
            "append_row_file_name": cfg.append_row_file_name, "logging_level": str(cfg.logging_level),
            "run_invocation_timeout": cfg.run_invocation_timeout,
            "compute_target": target if isinstance(target, str) or target is None else getattr(target, "name", None),
        }
        words = ["--settings", json.dumps(settings, sort_keys=True)]
        outputs = []
        if output is not None:
            words += ["--output", output]
            outputs.append(output)
        words += ["--", *(arguments or [])]
        from canalis.core.runconfig import RunConfiguration

        runconfig = None
        if cfg.environment is not None:
            runconfig = RunConfiguration()
            runconfig.environment = cfg.environment
        # the driver coordinates from this machine; the mini-batches go to the config's target
        super().__init__(name, inputs=[data, *(side_inputs or [])], outputs=outputs, arguments=words,
                         compute_target=None, runconfig=runconfig, source_directory=cfg.source_directory,
                         allow_reuse=allow_reuse)
        self.script_name = cfg.entry_script
        self.parallel_run_config = cfg
