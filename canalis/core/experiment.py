"""`Experiment`: a named group of runs; `submit` plans, records and starts a run."""
from __future__ import annotations

import re

from canalis.exceptions import PipelineValidationError, UserErrorException
from canalis.executor.errors import PlanError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,254}$")


class Experiment:
    def __init__(self, workspace, name, _skip_name_validation=False, **kwargs):
        if not _NAME.match(name or ""):
            raise UserErrorException(
                f"experiment name {name!r} must start with a letter or digit and hold only letters, digits, '_' and '-'"
            )
        self.workspace = workspace
        self.name = name

    def submit(self, config, tags=None, **kwargs):
        """Submit a Pipeline (or a ScriptRunConfig) and return its run, already executing.

        Pipeline keywords: pipeline_parameters, regenerate_outputs, continue_on_step_failure,
        and max_concurrent_steps (canalis: how many independent steps run at once).
        """
        from canalis.core.script_run_config import ScriptRunConfig
        from canalis.pipeline.core.pipeline import Pipeline

        if isinstance(config, Pipeline):
            return submit_pipeline(self, config._steps, tags=tags, description=config.description,
                                   default_source_directory=config._default_source_directory, **kwargs)
        if isinstance(config, ScriptRunConfig):
            return submit_pipeline(self, [config._as_step()], tags=tags, kind="script", **kwargs)
        raise UserErrorException(f"cannot submit {config!r}; submit a Pipeline or a ScriptRunConfig")

    def get_runs(self, type=None, tags=None, properties=None, include_children=False):
        from canalis.pipeline.core.run import PipelineRun

        for row in self.workspace.ledger.runs(experiment=self.name):
            yield PipelineRun(self, row["run_id"])

    @staticmethod
    def list(workspace, experiment_name=None, view_type=None, tags=None):
        return [Experiment(workspace, e["name"]) for e in workspace.ledger.experiments()
                if experiment_name in (None, e["name"])]

    def __repr__(self):
        return f"Experiment(name={self.name!r}, workspace={self.workspace.name!r})"


def submit_pipeline(experiment, steps, *, tags=None, kind="pipeline", description=None, default_source_directory=None,
                    pipeline_parameters=None, regenerate_outputs=False, continue_on_step_failure=False,
                    max_concurrent_steps=None, **_ignored):
    from canalis.executor.session import SubmitOptions
    from canalis.pipeline.core.compile import build_plan

    ws = experiment.workspace
    options = SubmitOptions(regenerate_outputs=bool(regenerate_outputs),
                            continue_on_step_failure=bool(continue_on_step_failure),
                            max_concurrent_steps=max_concurrent_steps)
    try:
        handle = ws.session.submit(experiment.name, lambda store: build_plan(ws, steps, description, default_source_directory),
                                   pipeline_parameters, options=options, tags=tags, kind=kind, description=description)
    except PlanError as e:
        raise PipelineValidationError(str(e)) from None
    return watch(experiment, handle)


def resume_run(workspace, run_id, force=False, max_concurrent_steps=None):
    """Finish a run whose executor died; completed steps keep their results."""
    from canalis.executor.resume import RunNotResumable

    try:
        handle = workspace.session.resume(run_id, force=force, max_concurrent_steps=max_concurrent_steps)
    except RunNotResumable as e:
        raise UserErrorException(str(e)) from None
    return watch(Experiment(workspace, workspace.ledger.run(run_id)["experiment"]), handle)


def reproduce_run(workspace, run_id, max_concurrent_steps=None):
    """Run RUN's recorded plan again from the ledger and the store alone, reuse off, as a
    new run tagged `reproduces=RUN` (see `Session.reproduce`)."""
    from canalis.executor.errors import ExecutorError

    try:
        handle = workspace.session.reproduce(run_id, max_concurrent_steps=max_concurrent_steps)
    except ExecutorError as e:
        raise UserErrorException(str(e)) from None
    return watch(Experiment(workspace, workspace.ledger.run(handle.run_id)["experiment"]), handle)


def watch(experiment, handle):
    """The PipelineRun of a run this process started (`Session.submit`, `resume`, `reproduce`):
    waiting on it streams its steps' output."""
    from canalis.pipeline.core.run import PipelineRun

    run = PipelineRun(experiment, handle.run_id)
    run._handle = handle
    return run
