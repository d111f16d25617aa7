"""Upcasters: turn a stored payload of an older event version into the current one.

An upcaster is registered for (type, from_version) and returns the payload of
from_version + 1. Reading applies them in a chain until the class's current version,
so a row written years ago is read as today's event. Stored rows are never rewritten
(their hash covers what was written).
"""
from __future__ import annotations

from typing import Callable

from canalis.ledger.errors import EventValidationError

UPCASTERS: dict[tuple[str, int], Callable[[dict], dict]] = {}


def upcaster(type_: str, from_version: int):
    """Decorator: register `fn(payload) -> payload` lifting `type_` from `from_version` by one."""

    def wrap(fn):
        key = (type_, from_version)
        if key in UPCASTERS:
            raise TypeError(f"two upcasters for {type_!r} v{from_version}")
        UPCASTERS[key] = fn
        return fn

    return wrap


def upcast(type_: str, version: int, payload: dict, current: int | None) -> tuple[int, dict]:
    """(current version, payload) for a stored (type, version, payload).

    `current` is the registered class's version, or None for a type no class knows
    (such rows are passed through untouched, so an old reader can still list them)."""
    if current is None or version == current:
        return version, payload
    if version > current:
        raise EventValidationError(
            f"event {type_!r} is stored as version {version} but this canalis knows only up to "
            f"version {current}; use a newer canalis to read this ledger"
        )
    while version < current:
        fn = UPCASTERS.get((type_, version))
        if fn is None:
            raise EventValidationError(
                f"event {type_!r} version {version} has no upcaster to version {version + 1}; "
                "register one in canalis/ledger/upcast.py"
            )
        payload = fn(dict(payload))
        version += 1
    return version, payload


# -- the catalogue's history ------------------------------------------------------------------


@upcaster("metric.logged", 1)
def _metric_logged_v1_to_v2(p: dict) -> dict:
    """v1 logged only scalars and had no `kind`; v2 adds `kind` ("scalar" for every v1 row)."""
    p.setdefault("kind", "scalar")
    p.setdefault("step_run_id", None)
    p.setdefault("description", None)
    return p


@upcaster("metric.logged", 2)
def _metric_logged_v2_to_v3(p: dict) -> dict:
    """v3 names the step run whose process logged the metric (`by_step_run_id`); a v2 row does
    not say (a null `step_run_id` was a step's `run.parent.log` or a log on the run itself): null."""
    p.setdefault("by_step_run_id", None)
    return p


@upcaster("step.started", 1)
def _step_started_v1_to_v2(p: dict) -> dict:
    """v2 records the input trees a step reads; v1 rows did not (empty: look at the key document)."""
    p.setdefault("inputs", [])
    return p


@upcaster("dataset.registered", 1)
def _dataset_registered_v1_to_v2(p: dict) -> dict:
    """v2 shares the registration shape: `id` (was `dataset_id`), `digest` (was `tree`), and
    `lineage` / `options` instead of `source` and `run_id`."""
    source = p.pop("source", None) or {}
    lineage = {k: source[k] for k in ("run_id", "step_run_id", "output", "sources") if source.get(k) is not None}
    if p.get("run_id") is not None:
        lineage["run_id"] = p["run_id"]
    p.pop("run_id", None)
    return {**p, "id": p.pop("dataset_id"), "digest": p.pop("tree"), "properties": {}, "lineage": lineage,
            "options": source.get("options") or {}}


@upcaster("model.registered", 1)
def _model_registered_v1_to_v2(p: dict) -> dict:
    """v2 shares the registration shape: `id` (was `model_id`), `digest` (was `tree`), and
    `lineage` holding `run_id` and the `datasets` it was made from."""
    lineage = {"datasets": p.pop("datasets", None) or []}
    if p.get("run_id") is not None:
        lineage["run_id"] = p["run_id"]
    p.pop("run_id", None)
    return {**p, "id": p.pop("model_id"), "digest": p.pop("tree"), "lineage": lineage}


@upcaster("environment.registered", 1)
def _environment_registered_v1_to_v2(p: dict) -> dict:
    """v2 shares the registration shape; v1 had no id, description, tags, properties or lineage."""
    return {"id": f"{p['name']}:{p['version']}", "description": None, "tags": {}, "properties": {}, "lineage": {}, **p}


@upcaster("run.failed", 1)
def _run_failed_v1_to_v2(p: dict) -> dict:
    """v2 says whether the run can be resumed; no v1 failure could be."""
    p.setdefault("resumable", False)
    return p


@upcaster("run.cancel_requested", 1)
def _run_cancel_requested_v1_to_v2(p: dict) -> dict:
    """v2 names the user who asked; v1 rows did not record it (null)."""
    p.setdefault("user", None)
    return p


@upcaster("store.collected", 1)
def _store_collected_v1_to_v2(p: dict) -> dict:
    """v2 ties a removal to the intent it completes; v1 removals had no intent."""
    p.setdefault("batch", None)
    p.setdefault("finished_by", None)
    p.setdefault("spared", [])
    return p


@upcaster("run.submitted", 1)
def _run_submitted_v1_to_v2(p: dict) -> dict:
    """v2 says what triggered the run (a REST call, a schedule); v1 runs were submitted directly."""
    p.setdefault("trigger", None)
    return p


@upcaster("run.submitted", 2)
def _run_submitted_v2_to_v3(p: dict) -> dict:
    """v3 may name the plan by the digest of its document in the store; v2 rows hold it inline."""
    p.setdefault("plan_digest", None)
    return p


@upcaster("pipeline.published", 1)
def _pipeline_published_v1_to_v2(p: dict) -> dict:
    """v2 records `continue_on_step_failure` and the run a pipeline was published from."""
    p.setdefault("continue_on_step_failure", False)
    p.setdefault("published_from_run", None)
    return p


@upcaster("schedule.created", 1)
def _schedule_created_v1_to_v2(p: dict) -> dict:
    """v2 adds pipeline endpoints, a description, data-change schedules and
    continue_on_step_failure; a v1 schedule had none of them."""
    for name in ("pipeline_endpoint_id", "description", "datastore", "path_on_datastore", "polling_interval",
                 "continue_on_step_failure"):
        p.setdefault(name, None)
    return p


@upcaster("schedule.created", 2)
def _schedule_created_v2_to_v3(p: dict) -> dict:
    """v3 records the watched folder's state at creation (`state`, also the digest of its
    listing in the store); a v2 schedule did not (null: the scheduler infers it from the
    files' modification times)."""
    p.setdefault("state", None)
    return p


@upcaster("schedule.triggered", 1)
def _schedule_triggered_v1_to_v2(p: dict) -> dict:
    """v2 says whether the fire's folder listing was stored (`listing_stored`); a v1 fire's
    was not (false: a restarted scheduler cannot name the files that changed since it)."""
    p.setdefault("listing_stored", False)
    return p
