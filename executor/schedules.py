"""Schedules of published pipelines: creating, changing, and recording their fires.

A schedule runs a published pipeline (or an endpoint's default version) on a recurrence
(executor/recurrence.py) or when files change in a datastore folder. What a schedule is and
every time it fired are ledger events; the server's scheduler (canalis/server/scheduler.py)
decides when, and records a fire with `claim` before it submits the run, in one write
transaction that first checks the fire was not recorded already, so one due time fires at
most once even when two processes look at the same schedule.
"""
from __future__ import annotations

import os
import socket
import uuid

from canalis.executor import published, recurrence
from canalis.executor.errors import PublishError, PublishedNotFound
from canalis.executor.plan import Plan
from canalis.ledger import events as ev
from canalis.ledger.proj_schedules import SETTINGS
from canalis.ledger.rows import ScheduleRow


def schedule(ledger, schedule_id: str) -> ScheduleRow:
    row = ledger.schedule(str(schedule_id))
    if row is None:
        raise PublishedNotFound(f"no schedule has id {schedule_id!r}; `canalis schedules` lists them")
    return row


def _target_plan(ledger, pipeline_id, endpoint_id) -> Plan:
    if (pipeline_id is None) == (endpoint_id is None):
        raise PublishError("a schedule runs either a published pipeline (pipeline_id) or a pipeline endpoint "
                           "(pipeline_endpoint_id); give exactly one")
    if endpoint_id is not None:
        pipeline_id = published.endpoint(ledger, endpoint_id).pipeline_of(None)
    return Plan.from_dict(published.pipeline(ledger, pipeline_id).plan)


def _check_polling(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise PublishError(f"polling_interval is minutes between two looks at the folder, a number above 0; got {value!r}")
    return float(value)


def _check_trigger(recur, datastore, path) -> None:
    if (recur is None) == (datastore is None):
        raise PublishError("a schedule fires either on a recurrence (recurrence=ScheduleRecurrence(...)) or when data "
                           "changes (datastore=..., path_on_datastore=...); give exactly one")
    if path is not None and datastore is None:
        raise PublishError("path_on_datastore needs datastore=")


def create(ledger, name: str, experiment: str, *, pipeline_id=None, endpoint_id=None, recur: dict | None = None,
           parameters: dict | None = None, datastore: str | None = None, path_on_datastore: str | None = None,
           polling_interval=None, description=None, continue_on_step_failure=None, store=None,
           folder_listing: bytes | None = None) -> ScheduleRow:
    """Record `schedule.created` after checking its target exists, its parameters fit the
    target's plan, and its recurrence (normalized, start time filled) or datastore settings.
    A data-change schedule's `folder_listing` (the watched folder's listing document when it
    is created, canalis/server/scheduler.py) is put in `store`; its digest is the folder's
    state the event records. Without it the event records none."""
    published.check_name(name, "schedule name")
    plan = _target_plan(ledger, pipeline_id, endpoint_id)
    published.check_parameters(plan, parameters)
    _check_trigger(recur, datastore, path_on_datastore)
    polling = _check_polling(polling_interval if polling_interval is not None else
                             (5 if datastore is not None else None))
    state = store.put_bytes(folder_listing) if datastore is not None and folder_listing is not None else None
    schedule_id = str(uuid.uuid4())
    ledger.append(ev.ScheduleCreated(
        schedule_id=schedule_id, name=name, pipeline_id=pipeline_id, pipeline_endpoint_id=endpoint_id,
        experiment=experiment, recurrence=recurrence.normalize(recur) if recur is not None else None,
        parameters=dict(parameters or {}), datastore=datastore,
        path_on_datastore=path_on_datastore if datastore is not None else None,
        polling_interval=polling,
        description=description,
        continue_on_step_failure=None if continue_on_step_failure is None else bool(continue_on_step_failure),
        state=state))
    return ledger.schedule(schedule_id)


def update(ledger, schedule_id: str, changes: dict) -> ScheduleRow:
    """Record `schedule.updated` with the settings that change (None values are not changes)."""
    row = schedule(ledger, schedule_id)
    changes = {k: v for k, v in changes.items() if v is not None}
    unknown = sorted(set(changes) - set(SETTINGS))
    if unknown:
        raise PublishError(f"a schedule has no setting {', '.join(unknown)} (settings: {', '.join(SETTINGS)})")
    if "name" in changes:
        published.check_name(changes["name"], "schedule name")
    if "recurrence" in changes:
        if row.recurrence is None:
            raise PublishError(f"schedule {row.name!r} fires when data changes; it cannot be given a recurrence")
        changes["recurrence"] = recurrence.normalize(changes["recurrence"])
    if ("datastore" in changes or "path_on_datastore" in changes) and row.datastore is None:
        raise PublishError(f"schedule {row.name!r} fires on a recurrence; it cannot watch a datastore")
    if "polling_interval" in changes:
        changes["polling_interval"] = _check_polling(changes["polling_interval"])
    if "parameters" in changes:
        published.check_parameters(_target_plan(ledger, row.pipeline_id, row.pipeline_endpoint_id), changes["parameters"])
    if "continue_on_step_failure" in changes:
        changes["continue_on_step_failure"] = bool(changes["continue_on_step_failure"])
    if changes:
        ledger.append(ev.ScheduleUpdated(schedule_id=row.schedule_id, changes=changes))
    return ledger.schedule(row.schedule_id)


def set_enabled(ledger, schedule_id: str, enabled: bool) -> ScheduleRow:
    row = schedule(ledger, schedule_id)
    if row.enabled != enabled:
        ledger.append((ev.ScheduleEnabled if enabled else ev.ScheduleDisabled)(schedule_id=row.schedule_id))
    return ledger.schedule(row.schedule_id)


def claim(ledger, schedule_id: str, reason: str, *, due: str | None = None, changes=(), state: str | None = None,
          store=None, listing: bytes | None = None):
    """Record that the schedule fires (`schedule.triggered`) unless it is disabled or this due
    time / folder state was already fired; returns the recorded event or None. A data-change
    fire's `listing` (the folder's listing document, canalis/server/scheduler.py) is put in
    `store` first; its digest is the fire's `state`, and the event says it was stored."""
    changes = sorted(changes)[:100]
    if listing is not None:
        if reason != "data-change":
            raise PublishError(f"a {reason} fire has no folder listing; only a data-change fire records one")
        stored = store.put_bytes(listing)
        if state is not None and state != stored:
            raise PublishError(f"the folder listing given is not the one of state {state} (its digest is {stored})")
        state = stored

    def compute():
        row = ledger.schedule(schedule_id)
        if row is None or not row.enabled:
            return []
        if reason == "recurrence" and due is not None and row.last_due is not None and row.last_due >= due:
            return []
        if reason == "data-change" and state is not None and row.last_state == state:
            return []
        return [ev.ScheduleTriggered(schedule_id=schedule_id, reason=reason, due=due, changes=changes, state=state,
                                     host=socket.gethostname(), pid=os.getpid(), listing_stored=listing is not None)]

    recorded = ledger.append_computed(compute)
    return recorded[0] if recorded else None


def record_failure(ledger, schedule_id: str, error: str, due: str | None = None) -> None:
    ledger.append(ev.ScheduleTriggerFailed(schedule_id=schedule_id, error=error, due=due))


__all__ = ["claim", "create", "record_failure", "schedule", "set_enabled", "update"]
