"""`Pipeline`: steps whose order follows from the data they exchange."""
from __future__ import annotations

from canalis.exceptions import PipelineValidationError
from canalis.ignored_keywords import given, warn_ignored
from canalis.pipeline.core.graph import StepSequence  # noqa: F401  (SDK v1 also exports it from here)


class Pipeline:
    def __init__(self, workspace, steps, description=None, default_datastore=None, default_source_directory=None,
                 resolve_closure=True, _workflow_provider=None, _service_endpoint=None, **kwargs):
        self._workspace = workspace
        self._steps = list(steps) if isinstance(steps, (list, tuple)) else [steps]
        self.description = description
        self._default_source_directory = default_source_directory
        ignored = given(default_datastore=default_datastore, _workflow_provider=_workflow_provider,
                        _service_endpoint=_service_endpoint) + list(kwargs)
        warn_ignored("Pipeline", ignored + ([] if resolve_closure else ["resolve_closure"]))

    @property
    def workspace(self):
        return self._workspace

    def plan(self, data_parameters=None):
        """The executor plan: snapshots taken now (sources, datasets, datastore paths, and the
        values of data-valued parameters: `data_parameters` {name: DataPath or dataset})."""
        from canalis.pipeline.core.compile import build_plan

        return build_plan(self._workspace, self._steps, self.description, self._default_source_directory,
                          data_parameters)

    def validate(self, pipeline_parameters=None) -> list:
        """Problems that stop this pipeline from running, as messages (empty when it can run).
        When it can run, the plan is printed as `canalis submit --dry-run` prints it: each step,
        reused (from which run) or run, and why (SDK v1's validate also printed its steps)."""
        try:
            result = self.preview(pipeline_parameters)
        except PipelineValidationError as e:
            return [str(e)]
        from canalis.plan_report import lines

        print("\n".join(lines(result)), flush=True)
        return []

    def preview(self, pipeline_parameters=None, regenerate_outputs=False, allow_secret_values=None) -> dict:
        """What a submit would do, running and recording nothing (a dry run): {"plan",
        "parameters", "steps", "snapshots"}, one entry per step with its decision ("reuse",
        "run", or "depends" on a step that will run) and the reason (executor/preview.py).
        Compiling takes the snapshots the plan needs; they go to the store, not the ledger."""
        from canalis.executor.errors import PlanError

        try:
            return self._preview(pipeline_parameters, regenerate_outputs, allow_secret_values)
        except PlanError as e:
            raise PipelineValidationError(str(e)) from None

    def _preview(self, pipeline_parameters=None, regenerate_outputs=False, allow_secret_values=None) -> dict:
        """`preview`, letting the executor's PlanError through (the CLI tells an unknown
        parameter, a usage error, from a pipeline that cannot run)."""
        from canalis.executor.session import SubmitOptions
        from canalis.pipeline.core.compile import refuse_secret_values

        return self._workspace.session.preview(
            lambda store: self.plan(), pipeline_parameters,
            options=SubmitOptions(regenerate_outputs=bool(regenerate_outputs)),
            vet=lambda plan, values: refuse_secret_values(plan, values, allow_secret_values))

    def submit(self, experiment_name, pipeline_parameters=None, continue_on_step_failure=False, regenerate_outputs=False, parent_run_id=None, credential_passthrough=None, **kwargs):
        from canalis.core.experiment import Experiment

        unused = {n: True for n in given(parent_run_id=parent_run_id, credential_passthrough=credential_passthrough)}
        return Experiment(self._workspace, experiment_name).submit(  # what it cannot honour is named in one warning
            self, pipeline_parameters=pipeline_parameters, continue_on_step_failure=continue_on_step_failure,
            regenerate_outputs=regenerate_outputs, _where="Pipeline.submit", **unused, **kwargs
        )

    def publish(self, name=None, description=None, version=None, continue_on_step_failure=None):
        """Freeze the pipeline (its snapshots are taken now and kept) for others to run over
        REST, from Python, behind a PipelineEndpoint or on a Schedule; returns the PublishedPipeline."""
        from canalis.exceptions import UserErrorException
        from canalis.pipeline.core._published import sdk_errors
        from canalis.pipeline.core.published_pipeline import PublishedPipeline

        if not name:
            raise UserErrorException("Pipeline.publish needs name=: the name the published pipeline is listed under")
        with sdk_errors():
            row = self._workspace.session.publish(name, lambda store: self.plan(), description=description or self.description,
                                                  version=version, continue_on_step_failure=bool(continue_on_step_failure))
        return PublishedPipeline(self._workspace, row)

    def _submit_to(self, experiment, tags=None, kind="pipeline", pipeline_parameters=None, regenerate_outputs=False,
                   continue_on_step_failure=False, max_concurrent_steps=None, allow_secret_values=None,
                   _where="Experiment.submit", **ignored):
        """What `Experiment.submit(pipeline)` does: plan (taking snapshots), record and start the
        run through the workspace's Session; returns the PipelineRun, already executing in its
        executor process. Other keywords are named in a warning (`_where`: the API the user called)."""
        from canalis.exceptions import ExperimentExecutionException
        from canalis.executor.errors import ExecutorError, PlanError
        from canalis.executor.session import SubmitOptions
        from canalis.pipeline.core.compile import refuse_secret_values
        from canalis.pipeline.core.run import watch

        from canalis.data.kinds import is_data_value

        warn_ignored(_where, ignored)
        given = dict(pipeline_parameters or {})
        data = {n: v for n, v in given.items() if is_data_value(v)}  # snapshotted while the plan is built
        values = {n: v for n, v in given.items() if n not in data}
        options = SubmitOptions(regenerate_outputs=bool(regenerate_outputs),
                                continue_on_step_failure=bool(continue_on_step_failure),
                                max_concurrent_steps=max_concurrent_steps)
        try:
            handle = experiment.workspace.session.submit(experiment.name, lambda store: self._plan_with(data), values,
                                                         options=options, tags=tags, kind=kind,
                                                         description=self.description,
                                                         vet=lambda plan, values: refuse_secret_values(
                                                             plan, values, allow_secret_values))
        except PlanError as e:
            raise PipelineValidationError(str(e)) from None
        except ExecutorError as e:  # its executor process could not start
            raise ExperimentExecutionException(str(e)) from None
        return watch(experiment, handle)

    def _plan_with(self, data: dict):
        """The plan with data-valued parameters' submitted values; a data value for a parameter
        the pipeline has not, or that is not data-valued, is refused."""
        plan = self.plan(data)
        known = set(plan.data_parameters())
        wrong = sorted(set(data) - known)
        if wrong:
            what = ("is not data-valued: its default is " + repr(plan.parameters[wrong[0]])
                    if wrong[0] in plan.parameters else "is not a parameter of this pipeline")
            raise PipelineValidationError(f"pipeline parameter {wrong[0]!r} was given data ({data[wrong[0]]!r}) but "
                                          f"{what}; declare it with PipelineParameter({wrong[0]!r}, "
                                          "default_value=DataPath(...) or a dataset)")
        return plan

    def __repr__(self):
        return f"Pipeline(steps={[getattr(s, 'name', s) for s in self._steps]})"
