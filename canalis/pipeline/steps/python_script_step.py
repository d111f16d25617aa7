"""`PythonScriptStep` and `CommandStep`: a script or command run in a snapshot of its source folder."""
from __future__ import annotations

import re

from canalis.data.output_dataset_config import OutputFileDatasetConfig
from canalis.exceptions import UserErrorException
from canalis.ignored_keywords import given, warn_ignored


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
                 allow_reuse=True, version=None, hash_paths=None, target=None):
        # `target=` is how SDK v1's pipelines article writes compute_target (steps run on this machine either way)
        compute_target = compute_target if compute_target is not None else target
        super().__init__(name or script_name, inputs=inputs, outputs=outputs, arguments=arguments,
                         compute_target=compute_target, runconfig=runconfig, source_directory=source_directory,
                         allow_reuse=allow_reuse, hash_paths=hash_paths, params=params)
        self.script_name = script_name
        self.version = version
        warn_ignored("PythonScriptStep", given(runconfig_pipeline_params=runconfig_pipeline_params, version=version))


class CommandStep(PipelineStep):
    """A command run in a snapshot of `source_directory`. Given as a string it runs through
    the shell (`/bin/sh -c`), as SDK v1 ran it, with each input and output folder in the
    variable `$AZUREML_DATAREFERENCE_<name>` and each `params=` value in `$AML_PARAMETER_<name>`;
    given as a list it runs without a shell, data objects and PipelineParameters standing
    for their folders and values as words."""

    kind = "command"

    def __init__(self, command=None, name=None, compute_target=None, runconfig=None, runconfig_pipeline_params=None,
                 inputs=None, outputs=None, params=None, source_directory=None, allow_reuse=True, version=None):
        if hasattr(runconfig, "_run_configuration"):  # SDK v1: CommandStep(runconfig=ScriptRunConfig(command=[...]))
            src = runconfig
            source_directory = source_directory if source_directory is not None else src.source_directory
            compute_target = compute_target if compute_target is not None else src.compute_target
            runconfig = src._run_configuration()
            command = command if command is not None else src.command
        if command is None and runconfig is not None:
            command = getattr(runconfig, "command", None)  # SDK v1: the command may come with the runconfig
        if isinstance(command, str):
            if not command.strip():
                raise UserErrorException("CommandStep needs a command; got an empty string")
            _refuse_objects_in_text(command, name)
            self.shell, self.command = True, command
            first = command.split()[0]
        elif command is not None and not isinstance(command, (bytes, dict)) and list(command):
            self.shell, self.command = False, list(command)
            first = str(self.command[0])
        else:
            raise UserErrorException("CommandStep needs a command: a string (run by /bin/sh -c) or a non-empty list "
                                     f"(run without a shell); got {command!r}")
        super().__init__(name or first, inputs=inputs, outputs=outputs, arguments=[],
                         compute_target=compute_target, runconfig=runconfig, source_directory=source_directory,
                         allow_reuse=allow_reuse, params=params)
        if not self.shell:
            _claim_outputs(self, self.command)
        warn_ignored("CommandStep", given(runconfig_pipeline_params=runconfig_pipeline_params, version=version))


# what a data object or parameter looks like when formatted into a string with str() or an f-string
# (compiled, and kept by `re`, when a command step is made, not at import)
_OBJECT_TEXT = (r"\b(OutputFileDatasetConfig|PipelineData|DatasetConsumptionConfig|FileDataset|TabularDataset"
                r"|DataReference|DataPath|PipelineParameter)\(|<canalis\.[\w.]+ object at 0x[0-9a-fA-F]+>")


def _refuse_objects_in_text(command: str, name) -> None:
    """A shell string cannot carry data references or parameters: an object formatted into it
    would reach the shell as its Python text. Say what to write instead."""
    m = re.search(_OBJECT_TEXT, command)
    if m:
        raise UserErrorException(
            f"CommandStep {name or command.split()[0]!r}: the command string holds the text of a Python object "
            f"({m.group(0)}...), not its folder or value; a shell string cannot carry data or parameters. List the "
            "data in inputs=/outputs= and write its folder as $AZUREML_DATAREFERENCE_<name> in the string, pass "
            "values with params= ($AML_PARAMETER_<name>), or give the command as a list (data objects and "
            "PipelineParameters as words, no shell)"
        )
