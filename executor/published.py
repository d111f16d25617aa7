"""Published pipelines and pipeline endpoints.

Publishing freezes a plan: the plan (with the digests of every snapshot it reads) is recorded
in `pipeline.published`, and garbage collection keeps those snapshots for as long as the
ledger names them (executor/references.py). A published pipeline is never changed; it is
only disabled and enabled. An endpoint groups published pipelines as versions "0", "1", ...
with one default version.

Runs of a published pipeline are checked here before anything is recorded: the pipeline (and
endpoint) must be enabled, every parameter named must be one of the pipeline's, and each
value must have the type of the parameter's default (`check_parameters`).
"""
from __future__ import annotations

import re
import uuid

from canalis.executor.errors import (
    ParameterTypeError, PublishedDisabled, PublishedNotFound, PublishError, UnknownParameterError,
)
from canalis.executor.plan import Plan
from canalis.ledger import events as ev
from canalis.ledger.rows import EndpointRow, PipelineRow

#: a name given to a published pipeline or an endpoint: shown in listings and URLs' neighbours
_NAME = re.compile(r"^[^\x00-\x1f/\\]{1,255}$")


def check_name(name, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or not name.strip():
        raise PublishError(f"{what} {name!r} must be 1 to 255 characters of text without '/', '\\' or control "
                           "characters; choose another name")
    return name


def snapshots_of(plan: Plan) -> list[str]:
    """Every tree the plan reads from the store: step sources and data inputs (sorted, unique)."""
    found = set()
    for step in plan.steps:
        found.add(step.source_tree)
        found.update(i.tree for i in step.inputs if i.source == "data" and i.tree)
    return sorted(found)


def publish(ledger, store, plan: Plan, name: str, *, description=None, version=None,
            continue_on_step_failure: bool = False, published_from_run: str | None = None) -> PipelineRow:
    """Record `pipeline.published` for `plan` (its snapshots must be in the store); returns its row."""
    check_name(name, "published pipeline name")
    plan.validate()
    snapshots = snapshots_of(plan)
    missing = [d for d in snapshots if not store.exists(d)]
    if missing:
        raise PublishError(f"snapshot {missing[0][:12]} of the pipeline is no longer in the store (garbage-collected?); "
                           "publish the pipeline from its source (Pipeline.publish) instead")
    for step in plan.steps:
        for path, digest in step.hash_paths:
            if not store.exists(digest):
                raise PublishError(f"hash_paths entry {path!r} of step {step.name!r} is no longer in the store; "
                                   "publish the pipeline from its source (Pipeline.publish) instead")
    pipeline_id = str(uuid.uuid4())
    ledger.append(ev.PipelinePublished(
        pipeline_id=pipeline_id, name=name, version=None if version is None else str(version),
        description=description, plan=plan.to_dict(), snapshots=snapshots,
        continue_on_step_failure=bool(continue_on_step_failure), published_from_run=published_from_run))
    return ledger.pipeline(pipeline_id)


def pipeline(ledger, pipeline_id: str) -> PipelineRow:
    row = ledger.pipeline(str(pipeline_id))
    if row is None:
        raise PublishedNotFound(f"no published pipeline has id {pipeline_id!r}; `canalis pipelines` lists them")
    return row


def set_pipeline_enabled(ledger, pipeline_id: str, enabled: bool) -> PipelineRow:
    row = pipeline(ledger, pipeline_id)
    if row.enabled != enabled:
        cls = ev.PipelineEnabled if enabled else ev.PipelineDisabled
        ledger.append(cls(pipeline_id=row.pipeline_id))
    return ledger.pipeline(row.pipeline_id)


# -- endpoints -------------------------------------------------------------------------------


def endpoint(ledger, endpoint_id: str | None = None, name: str | None = None) -> EndpointRow:
    row = ledger.endpoint(endpoint_id=endpoint_id) if endpoint_id is not None else ledger.endpoint(name=name)
    if row is None:
        what = f"id {endpoint_id!r}" if endpoint_id is not None else f"name {name!r}"
        raise PublishedNotFound(f"no pipeline endpoint has {what}; `canalis endpoints` lists them")
    return row


def publish_endpoint(ledger, name: str, pipeline_id: str, description=None) -> EndpointRow:
    check_name(name, "pipeline endpoint name")
    pipeline(ledger, pipeline_id)
    endpoint_id = str(uuid.uuid4())

    def compute():
        if ledger.endpoint(name=name) is not None:
            raise PublishError(f"a pipeline endpoint named {name!r} exists; add the pipeline to it "
                               "(PipelineEndpoint.get(ws, name=...).add(pipeline)) or choose another name")
        return [ev.PipelineEndpointPublished(endpoint_id=endpoint_id, name=name, pipeline_id=pipeline_id,
                                             description=description)]

    ledger.append_computed(compute)
    return ledger.endpoint(endpoint_id=endpoint_id)


def add_to_endpoint(ledger, endpoint_id: str, pipeline_id: str, make_default: bool = False) -> EndpointRow:
    """Add a published pipeline as the endpoint's next version (a pipeline already there keeps its version)."""
    pipeline(ledger, pipeline_id)

    def compute():
        row = endpoint(ledger, endpoint_id)
        known = next((v["version"] for v in row.versions if v["pipeline_id"] == pipeline_id), None)
        if known is not None:
            return [ev.PipelineEndpointDefaultChanged(endpoint_id=endpoint_id, version=known)] \
                if make_default and row.default_version != known else []
        return [ev.PipelineEndpointPipelineAdded(endpoint_id=endpoint_id, pipeline_id=pipeline_id,
                                                 version=str(len(row.versions)), make_default=make_default)]

    ledger.append_computed(compute)
    return ledger.endpoint(endpoint_id=endpoint_id)


def set_default_version(ledger, endpoint_id: str, version) -> EndpointRow:
    row = endpoint(ledger, endpoint_id)
    version = str(version)
    if row.pipeline_of(version) is None:
        raise PublishedNotFound(f"pipeline endpoint {row.name!r} has no version {version!r} "
                                f"(versions: {', '.join(v['version'] for v in row.versions)})")
    if row.default_version != version:
        ledger.append(ev.PipelineEndpointDefaultChanged(endpoint_id=row.endpoint_id, version=version))
    return ledger.endpoint(endpoint_id=row.endpoint_id)


def rename_endpoint(ledger, endpoint_id: str, name: str) -> EndpointRow:
    check_name(name, "pipeline endpoint name")

    def compute():
        row = endpoint(ledger, endpoint_id)
        other = ledger.endpoint(name=name)
        if other is not None and other.endpoint_id != row.endpoint_id:
            raise PublishError(f"a pipeline endpoint named {name!r} exists; choose another name")
        return [] if row.name == name else [ev.PipelineEndpointRenamed(endpoint_id=row.endpoint_id, name=name)]

    ledger.append_computed(compute)
    return ledger.endpoint(endpoint_id=endpoint_id)


def set_endpoint_enabled(ledger, endpoint_id: str, enabled: bool) -> EndpointRow:
    row = endpoint(ledger, endpoint_id)
    if row.enabled != enabled:
        cls = ev.PipelineEndpointEnabled if enabled else ev.PipelineEndpointDisabled
        ledger.append(cls(endpoint_id=row.endpoint_id))
    return ledger.endpoint(endpoint_id=row.endpoint_id)


# -- runs of published pipelines ----------------------------------------------------------------


def runnable(ledger, pipeline_id: str | None = None, endpoint_id: str | None = None,
             version=None) -> tuple[PipelineRow, EndpointRow | None]:
    """The published pipeline a run is asked of (directly, or an endpoint's version, the
    default when None), refusing a disabled pipeline or endpoint."""
    ep = None
    if endpoint_id is not None:
        ep = endpoint(ledger, endpoint_id)
        if not ep.enabled:
            raise PublishedDisabled(f"pipeline endpoint {ep.name!r} ({ep.endpoint_id}) is disabled; enable it "
                                    "(PipelineEndpoint.enable(), POST /endpoints/{id}/enable) to run it")
        pipeline_id = ep.pipeline_of(None if version is None else str(version))
        if pipeline_id is None:
            raise PublishedNotFound(f"pipeline endpoint {ep.name!r} has no version {str(version)!r} "
                                    f"(versions: {', '.join(v['version'] for v in ep.versions)})")
    row = pipeline(ledger, pipeline_id)
    if not row.enabled:
        raise PublishedDisabled(f"published pipeline {row.name!r} ({row.pipeline_id}) is disabled; enable it "
                                "(PublishedPipeline.enable(), POST /pipelines/{id}/enable) to run it")
    return row, ep


def _type_name(value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else type(value).__name__


def _fits(default, value) -> bool:
    if default is None:
        return True
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    if isinstance(default, dict):
        return isinstance(value, dict)
    return True


def check_parameters(plan: Plan, values: dict | None) -> dict:
    """The parameter values a published pipeline runs with: each name must be one of the
    plan's parameters, each value of its default's type (an integer is a number; a default of
    null takes anything). Every problem is named in one error."""
    values = dict(values or {})
    unknown = sorted(set(values) - set(plan.parameters))
    if unknown:
        known = ", ".join(sorted(plan.parameters)) or "none"
        raise UnknownParameterError(f"the pipeline has no parameter named {', '.join(map(repr, unknown))} "
                                    f"(its parameters: {known}); nothing was submitted")
    wrong = [f"{n!r} must be {_type_name(plan.parameters[n])} like its default {plan.parameters[n]!r}, "
             f"got {_type_name(v)} {v!r}" for n, v in sorted(values.items()) if not _fits(plan.parameters[n], v)]
    if wrong:
        raise ParameterTypeError(f"parameter {'; '.join(wrong)}; nothing was submitted")
    return values


__all__ = ["add_to_endpoint", "check_name", "check_parameters", "endpoint", "pipeline", "publish", "publish_endpoint",
           "rename_endpoint", "runnable", "set_default_version", "set_endpoint_enabled", "set_pipeline_enabled",
           "snapshots_of"]
