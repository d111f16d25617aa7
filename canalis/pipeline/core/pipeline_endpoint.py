"""`PipelineEndpoint`: one name and URL in front of versions of a published pipeline.

Versions are "0", "1", ... in the order pipelines were added; one is the default, which a
run gets unless it names another. Every change is a `pipeline_endpoint.*` event.
"""
from __future__ import annotations

from dataclasses import dataclass

from canalis.exceptions import UserErrorException
from canalis.ignored_keywords import given, warn_ignored
from canalis.pipeline.core._published import base_url, sdk_errors, status_of
from canalis.pipeline.core.published_pipeline import PublishedPipeline, submit_published


@dataclass(frozen=True)
class PipelineIdVersion:
    """One version of an endpoint: the published pipeline's id and the version's text."""

    pipeline_id: str
    version: str


def _pipeline_id(pipeline) -> str:
    if isinstance(pipeline, PublishedPipeline):
        return pipeline.id
    if isinstance(pipeline, str):
        return pipeline
    raise UserErrorException(f"expected a PublishedPipeline (pipeline.publish(...)), got {pipeline!r}")


class PipelineEndpoint:
    def __init__(self, workspace, row):
        self._workspace = workspace
        self._row = row

    # -- SDK v1 properties ---------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._row.endpoint_id

    @property
    def name(self) -> str:
        return self._row.name

    @property
    def description(self):
        return self._row.description

    @property
    def default_version(self) -> str:
        return self._row.default_version

    @property
    def status(self) -> str:
        return status_of(self._row.enabled)

    @property
    def endpoint(self) -> str:
        """The URL a `POST` runs the default version at (or the body's `PipelineVersion`)."""
        from canalis.server.address import endpoint_url

        return endpoint_url(base_url(self._workspace), self.id)

    @property
    def swaggerurl(self) -> str:
        return f"{base_url(self._workspace)}/openapi.json"

    def _refresh(self, row) -> None:
        self._row = row

    # -- SDK v1 class methods ------------------------------------------------------------
    @staticmethod
    def publish(workspace, name, description, pipeline, _workflow_provider=None, _service_endpoint=None):
        """A new endpoint named `name` whose version "0" (the default) is `pipeline`. SDK v1's
        order is (workspace, name, description, pipeline); a call that passes the pipeline
        third and the description fourth means the same and is taken so."""
        if isinstance(description, PublishedPipeline) and not isinstance(pipeline, PublishedPipeline):
            description, pipeline = pipeline, description
        with sdk_errors():
            return PipelineEndpoint(workspace, workspace.session.publish_endpoint(name, _pipeline_id(pipeline), description))

    @staticmethod
    def get(workspace, id=None, name=None, _workflow_provider=None, _service_endpoint=None):
        from canalis.executor import published

        if (id is None) == (name is None):
            raise UserErrorException("PipelineEndpoint.get takes id= or name= (one of them)")
        with sdk_errors():
            return PipelineEndpoint(workspace, published.endpoint(workspace.ledger, endpoint_id=id, name=name))

    @staticmethod
    def list(workspace, active_only=True, _workflow_provider=None, _service_endpoint=None) -> list:
        return [PipelineEndpoint(workspace, r) for r in workspace.ledger.endpoints() if r.enabled or not active_only]

    @staticmethod
    def get_all(workspace, active_only=True, _service_endpoint=None) -> list:
        return PipelineEndpoint.list(workspace, active_only=active_only)

    # -- versions ------------------------------------------------------------------------------
    def get_default_version(self) -> str:
        return self.default_version

    def set_default_version(self, version) -> None:
        with sdk_errors():
            self._refresh(self._workspace.session.set_endpoint_default(self.id, version))

    def get_pipeline(self, version=None) -> PublishedPipeline:
        """The published pipeline of `version` (the default when None)."""
        pipeline_id = self._row.pipeline_of(None if version is None else str(version))
        if pipeline_id is None:
            raise UserErrorException(f"pipeline endpoint {self.name!r} has no version {str(version)!r} "
                                     f"(versions: {', '.join(v['version'] for v in self._row.versions)})")
        return PublishedPipeline.get(self._workspace, pipeline_id)

    def add(self, pipeline) -> None:
        """Add a published pipeline as the next version (the default stays)."""
        with sdk_errors():
            self._refresh(self._workspace.session.add_to_endpoint(self.id, _pipeline_id(pipeline)))

    def add_default(self, pipeline) -> None:
        """Add a published pipeline as the next version and make it the default."""
        with sdk_errors():
            self._refresh(self._workspace.session.add_to_endpoint(self.id, _pipeline_id(pipeline), make_default=True))

    def set_default(self, pipeline) -> None:
        """Make the version holding `pipeline` the default (it is added first when not there)."""
        self.add_default(pipeline)

    def list_versions(self) -> list[PipelineIdVersion]:
        return [PipelineIdVersion(v["pipeline_id"], v["version"]) for v in self._row.versions]

    def list_pipelines(self, active_only=True) -> list[PublishedPipeline]:
        found = [PublishedPipeline.get(self._workspace, v["pipeline_id"]) for v in self._row.versions]
        return [p for p in found if p.status == "Active" or not active_only]

    def set_name(self, name) -> None:
        with sdk_errors():
            self._refresh(self._workspace.session.rename_endpoint(self.id, name))

    def disable(self) -> None:
        with sdk_errors():
            self._refresh(self._workspace.session.set_endpoint_enabled(self.id, False))

    def enable(self) -> None:
        with sdk_errors():
            self._refresh(self._workspace.session.set_endpoint_enabled(self.id, True))

    archive = disable

    def reactivate(self, name) -> None:
        self.set_name(name)
        self.enable()

    # -- runs --------------------------------------------------------------------------------
    def submit(self, experiment_name, pipeline_parameters=None, parent_run_id=None, pipeline_version=None):
        """Run a version (the default when None) in `experiment_name`; returns the PipelineRun."""
        from canalis.core.experiment import Experiment

        warn_ignored("PipelineEndpoint.submit", given(parent_run_id=parent_run_id))
        return Experiment(self._workspace, experiment_name).submit(
            self, pipeline_parameters=pipeline_parameters, pipeline_version=pipeline_version)

    def _submit_to(self, experiment, tags=None, pipeline_parameters=None, pipeline_version=None,
                   continue_on_step_failure=None, allow_secret_values=None, **ignored):
        """What `Experiment.submit(pipeline_endpoint, pipeline_version=...)` does."""
        return submit_published(experiment, pipeline_parameters, tags=tags, endpoint_id=self.id,
                                version=pipeline_version, continue_on_step_failure=continue_on_step_failure,
                                allow_secret_values=allow_secret_values, where="Experiment.submit", ignored=ignored)

    def __repr__(self):
        return f"PipelineEndpoint(name={self.name!r}, id={self.id!r}, default_version={self.default_version!r})"
