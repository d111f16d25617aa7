"""`ScriptRunConfig`: one script (or command) submitted as a one-step run."""
from __future__ import annotations

from pathlib import Path

from canalis.exceptions import UserErrorException
from canalis.ignored_keywords import given, warn_ignored


class ScriptRunConfig:
    def __init__(self, source_directory=".", script=None, arguments=None, run_config=None, _telemetry_values=None,
                 compute_target=None, environment=None, distributed_job_config=None, resume_from=None,
                 max_run_duration_seconds=None, command=None, docker_runtime_config=None):
        self.source_directory = source_directory
        self.script = script
        self.arguments = list(arguments or [])
        self.run_config = run_config
        self.compute_target = compute_target
        self.environment = environment
        self.command = command  # instead of script and arguments, as in SDK v1: a CommandStep
        self.distributed_job_config = distributed_job_config
        from canalis.core.runconfig import _Distributed, note_single_process

        if isinstance(distributed_job_config, _Distributed):  # MPI / PyTorch / TensorFlow: one process, said once
            note_single_process("ScriptRunConfig", distributed_job_config)
            distributed_job_config = None
        self.docker_runtime_config = docker_runtime_config  # a DockerConfiguration: run in a container
        warn_ignored("ScriptRunConfig", given(
            _telemetry_values=_telemetry_values, distributed_job_config=distributed_job_config, resume_from=resume_from,
            max_run_duration_seconds=max_run_duration_seconds))

    def _submit_to(self, experiment, tags=None, **kwargs):
        """What `Experiment.submit(script_run_config)` does: a one-step pipeline run of kind "script",
        whose step runs every time."""
        from canalis.pipeline.core.pipeline import Pipeline

        return Pipeline(experiment.workspace, [self._as_step()])._submit_to(experiment, tags=tags, kind="script", **kwargs)

    def _run_configuration(self):
        """The RunConfiguration its step runs with: `run_config`, with `environment` and
        `docker_runtime_config` if given."""
        from canalis.core.runconfig import RunConfiguration

        rc = self.run_config
        if self.environment is not None:
            rc = rc or RunConfiguration()
            rc.environment = self.environment
        if self.docker_runtime_config is not None:
            rc = rc or RunConfiguration()
            rc.docker = self.docker_runtime_config
        return rc

    def _as_step(self):
        from canalis.pipeline.steps import CommandStep, PythonScriptStep

        rc = self._run_configuration()
        # a script run always runs: SDK v1 reused pipeline steps only, never script runs
        if self.script is None and self.command is not None:
            return CommandStep(command=self.command, source_directory=self.source_directory, runconfig=rc,
                               compute_target=self.compute_target, allow_reuse=False)
        if self.script is None:
            raise UserErrorException("ScriptRunConfig needs a script (or a command) to run")
        return PythonScriptStep(script_name=self.script, name=Path(self.script).stem, arguments=self.arguments,
                                source_directory=self.source_directory, runconfig=rc, compute_target=self.compute_target,
                                allow_reuse=False)
