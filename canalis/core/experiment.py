"""`Experiment`: a named group of runs; `submit` plans, records and starts a run."""
from __future__ import annotations

import re
import sys
import threading

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
        and max_concurrent_steps (canalis: how many independent steps run at once);
        allow_secret_values=True submits values that look like credentials (docs/secrets.md).
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
                    max_concurrent_steps=None, allow_secret_values=None, **_ignored):
    from canalis.executor.engine import new_run_id, submitted_event
    from canalis.pipeline.core.compile import build_plan, refuse_secret_values

    from canalis.executor.locks import writing

    ws = experiment.workspace
    with writing(ws._layout.locks):  # snapshots are in the ledger before gc may sweep
        plan = build_plan(ws, steps, description, default_source_directory)
        try:
            params = plan.resolve_parameters(pipeline_parameters)
        except PlanError as e:
            raise PipelineValidationError(str(e)) from None
        refuse_secret_values(plan, params, allow_secret_values)
        run_id = new_run_id(experiment.name)
        gits = [s.git for s in plan.steps if s.git]
        ws.ledger.append(submitted_event(run_id, experiment.name, plan, params, tags=tags, git=gits[0] if gits else None,
                                         kind=kind, description=description,
                                         options={"regenerate_outputs": bool(regenerate_outputs),
                                                  "continue_on_step_failure": bool(continue_on_step_failure)}))
    return _start(experiment, plan, run_id, params, regenerate=bool(regenerate_outputs),
                  max_workers=max_concurrent_steps, continue_on_step_failure=bool(continue_on_step_failure))


def resume_run(workspace, run_id, force=False, max_concurrent_steps=None):
    """Finish a run whose executor died; completed steps keep their results."""
    from canalis.executor.resume import RunNotResumable, prepare_resume

    try:
        plan, params, done, submitted = prepare_resume(workspace.ledger, run_id, force=force)
    except RunNotResumable as e:
        raise UserErrorException(str(e)) from None
    _check_recorded(plan, run_id)
    return _start(Experiment(workspace, submitted["experiment"]), plan, run_id, params, done=done, resumed=True,
                  max_workers=max_concurrent_steps)


def reproduce_run(workspace, run_id, max_concurrent_steps=None):
    """Run RUN's recorded plan again from the ledger and the store alone, reuse off, as a
    new run tagged `reproduces=RUN`. Sources and inputs come from their snapshots, so the
    original folders and datastore files are not needed. Outputs are not copied to
    datastore destinations and no dataset is registered."""
    from canalis.executor.engine import new_run_id, submitted_event
    from canalis.executor.plan import Plan

    rec = next(iter(workspace.ledger.events(stream=f"run:{run_id}", type="run.submitted")), None)
    if rec is None:
        raise UserErrorException(f"run {run_id!r} has no run.submitted event in this workspace")
    submitted = rec.payload
    plan = Plan.from_dict(submitted["plan"])
    _check_recorded(plan, run_id)
    experiment = Experiment(workspace, submitted["experiment"])
    new_id = new_run_id(experiment.name)
    workspace.ledger.append(submitted_event(
        new_id, experiment.name, plan, submitted["parameters"], kind=submitted["kind"], git=submitted.get("git"),
        tags={"reproduces": run_id}, description=f"reproduction of {run_id}",
        options={"regenerate_outputs": True, "reproduces": run_id},
    ))
    return _start(experiment, plan, new_id, dict(submitted["parameters"]), regenerate=True, publish=False,
                  max_workers=max_concurrent_steps)


def _check_recorded(plan, run_id) -> None:
    """A plan read back from the ledger gets the checks a submit gives (names and paths stay
    inside their roots), so a recorded plan from an older canalis cannot write elsewhere."""
    try:
        plan.check_paths()
    except PlanError as e:
        raise PipelineValidationError(f"run {run_id}: {e}") from None


def _start(experiment, plan, run_id, params, *, max_workers=None, **options):
    """Run the plan in a thread of this process and return the run, already executing."""
    from canalis.executor.engine import RunExecutor
    from canalis.pipeline.core.run import PipelineRun

    ws = experiment.workspace
    run = PipelineRun(experiment, run_id)
    run._executor = RunExecutor(
        ledger=ws.ledger, store=ws.store, plan=plan, run_id=run_id, parameters=params,
        scratch_dir=ws._layout.runs, locks_dir=ws._layout.locks, experiment=experiment.name,
        workspace_root=ws.root, max_workers=max_workers or ws.settings.get("max_concurrent_steps"),
        secret_values=ws.get_default_keyvault().values_of, **options,
    )
    run._done = threading.Event()  # waited on instead of Thread.join, which Ctrl-C can upset

    def execute():
        from canalis.executor.nospace import RunNotRecorded

        try:
            run._executor.execute()
        except RunNotRecorded as e:  # a full disk: say what to do, without a traceback
            print(f"canalis: {e}", file=sys.stderr, flush=True)
        finally:
            run._done.set()

    run._thread = threading.Thread(target=execute, name=f"canalis-run-{run_id}")
    run._thread.start()
    return run
