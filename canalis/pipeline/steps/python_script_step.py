"""`PythonScriptStep` and `CommandStep`: a script or command run in a snapshot of its source folder."""
from __future__ import annotations

import shlex

from canalis.data.output_dataset_config import OutputFileDatasetConfig
from canalis.exceptions import UserErrorException


class PipelineStep:
    """What every step kind has: a name, its data, its arguments, reuse."""

    kind = "python"

    def __init__(self, name, inputs=None, outputs=None, arguments=None, compute_target=None, runconfig=None,
                 source_directory=None, allow_reuse=True, hash_paths=None, params=None):
        if not name or not isinstance(name, str):
            raise UserErrorException("every step needs a name (a non-empty string)")
        self.name = name
        self.inputs = list(inputs or [])
        self.outputs = list(outputs or [])
        self.arguments = list(arguments or [])
        self.compute_target = compute_target
        self.runconfig = runconfig
        self.source_directory = source_directory
        self.allow_reuse = allow_reuse
        self.hash_paths = list(hash_paths or [])
        self.params = dict(params or {})
        self._after = []
        _claim_outputs(self, (*self.outputs, *self.arguments))

    def run_after(self, step):
        """Run this step only after `step` has finished, even with no data between them."""
        self._after.append(step)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _claim_outputs(step, items) -> None:
    """Remember which step writes each output object, so that a pipeline listing only
    the last step still finds the steps that produce its inputs (as SDK v1 did). A second
    writer is reported when the pipeline is planned."""
    for item in items:
        if isinstance(item, OutputFileDatasetConfig) and not any(i is item for i in step.inputs):
            if item._producer is None:
                item._producer = step


class PythonScriptStep(PipelineStep):
    kind = "python"

    def __init__(self, script_name, name=None, arguments=None, compute_target=None, runconfig=None,
                 runconfig_pipeline_params=None, inputs=None, outputs=None, params=None, source_directory=None,
                 allow_reuse=True, version=None, hash_paths=None):
        super().__init__(name or script_name, inputs=inputs, outputs=outputs, arguments=arguments,
                         compute_target=compute_target, runconfig=runconfig, source_directory=source_directory,
                         allow_reuse=allow_reuse, hash_paths=hash_paths, params=params)
        self.script_name = script_name
        self.version = version


class CommandStep(PipelineStep):
    kind = "command"

    def __init__(self, command=None, name=None, compute_target=None, runconfig=None, runconfig_pipeline_params=None,
                 source_directory=None, inputs=None, outputs=None, allow_reuse=True, version=None):
        if command is None:
            raise UserErrorException("CommandStep needs a command (a string or a list)")
        self.command = shlex.split(command) if isinstance(command, str) else list(command)
        super().__init__(name or str(self.command[0]), inputs=inputs, outputs=outputs, arguments=[],
                         compute_target=compute_target, runconfig=runconfig, source_directory=source_directory,
                         allow_reuse=allow_reuse)
        _claim_outputs(self, self.command)
