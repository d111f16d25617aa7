"""`PublishedPipeline`: a pipeline frozen for others to run, over REST or from Python.

A published pipeline is its plan with every snapshot it reads, recorded in the ledger
(`pipeline.published`); it never changes (garbage collection keeps its snapshots). Runs of
it are started as `Experiment.submit` starts any run (`Session.submit_published`), with the
parameter values checked against the pipeline's parameters first.
"""
from __future__ import annotations

from canalis.exceptions import UserErrorException
from canalis.ignored_keywords import given, warn_ignored
from canalis.pipeline.core._published import base_url, sdk_errors, status_of


class PublishedPipeline:
    def __init__(self, workspace, row):
        self._workspace = workspace
        self._row = row

    # -- SDK v1 properties ---------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._row.pipeline_id

    @property
    def name(self) -> str:
        return self._row.name

    @property
    def description(self):
        return self._row.description

    @property
    def version(self):
        return self._row.version

    @property
    def status(self) -> str:
        """"Active" or "Disabled" (as SDK v1 says it)."""
        return status_of(self._row.enabled)

    @property
    def continue_on_step_failure(self) -> bool:
        return bool(self._row.continue_on_step_failure)

    @property
    def endpoint(self) -> str:
        """The URL a `POST` runs this pipeline at (docs/rest-api.md)."""
        from canalis.server.address import pipeline_url

        return pipeline_url(base_url(self._workspace), self.id)

    @property
    def graph_id(self) -> str:
        return self.id

    @property
    def published_from_run(self):
        return self._row.published_from_run

    @property
    def parameters(self) -> dict:
        """The pipeline's parameters and their defaults."""
        return dict(self._row.plan.get("parameters") or {})

    def get_step_names(self) -> list[str]:
        return [s["name"] for s in self._row.plan.get("steps", [])]

    def get_graph(self, _workflow_provider=None) -> dict:
        return self._row.plan

    # -- SDK v1 class methods ------------------------------------------------------------
    @staticmethod
    def get(workspace, id, _workflow_provider=None, _service_endpoint=None):
        from canalis.executor import published

        with sdk_errors():
            return PublishedPipeline(workspace, published.pipeline(workspace.ledger, id))

    @staticmethod
    def list(workspace, active_only=True, _service_endpoint=None) -> list:
        return [PublishedPipeline(workspace, r) for r in workspace.ledger.pipelines() if r.enabled or not active_only]

    @staticmethod
    def get_all(workspace, active_only=True, _service_endpoint=None) -> list:
        return PublishedPipeline.list(workspace, active_only=active_only)

    # -- changes ---------------------------------------------------------------------------
    def _set_enabled(self, enabled: bool) -> None:
        with sdk_errors():
            self._row = self._workspace.session.set_pipeline_enabled(self.id, enabled)

    def disable(self) -> None:
        """Refuse runs from now on (REST calls get 409, schedules record a failed fire)."""
        self._set_enabled(False)

    def enable(self) -> None:
        self._set_enabled(True)

    # -- runs --------------------------------------------------------------------------------
    def submit(self, workspace, experiment_name, pipeline_parameters=None, _workflow_provider=None,
               _service_endpoint=None, parent_run_id=None, continue_on_step_failure=None):
        """Run the published pipeline in `experiment_name`; returns the PipelineRun, already
        executing in its executor process (as `Experiment.submit` does)."""
        from canalis.core.experiment import Experiment

        warn_ignored("PublishedPipeline.submit", given(parent_run_id=parent_run_id))
        return Experiment(workspace, experiment_name).submit(
            self, pipeline_parameters=pipeline_parameters, continue_on_step_failure=continue_on_step_failure)

    def _submit_to(self, experiment, tags=None, pipeline_parameters=None, continue_on_step_failure=None,
                   allow_secret_values=None, **ignored):
        """What `Experiment.submit(published_pipeline)` does."""
        return submit_published(experiment, pipeline_parameters, tags=tags, pipeline_id=self.id,
                                continue_on_step_failure=continue_on_step_failure,
                                allow_secret_values=allow_secret_values, where="Experiment.submit", ignored=ignored)

    def __repr__(self):
        return f"PublishedPipeline(name={self.name!r}, id={self.id!r}, status={self.status!r})"


def submit_published(experiment, pipeline_parameters, *, tags=None, pipeline_id=None, endpoint_id=None, version=None,
                     continue_on_step_failure=None, allow_secret_values=None, where="Experiment.submit", ignored=None):
    """Run a published pipeline or an endpoint version from Python: the PipelineRun."""
    from canalis.core.run import Run
    from canalis.pipeline.core.compile import refuse_secret_values

    warn_ignored(where, ignored or {})
    if pipeline_parameters is not None and not isinstance(pipeline_parameters, dict):
        raise UserErrorException(f"pipeline_parameters must be a dict of name -> value, got {pipeline_parameters!r}")
    with sdk_errors():
        handle = experiment.workspace.session.submit_published(
            experiment.name, pipeline_parameters, pipeline_id=pipeline_id, endpoint_id=endpoint_id, version=version,
            tags=tags, continue_on_step_failure=continue_on_step_failure,
            vet=lambda plan, values: refuse_secret_values(plan, values, allow_secret_values))
    run = Run._rehydrate(experiment, handle.run_id, "pipeline")  # a PipelineRun (canalis.pipeline.core.run)
    run._handle = handle  # as `watch` does; importing it here would tie this module and run.py in a loop
    return run
