"""Projection `schedules`: pipeline schedules, whether they are enabled, and their last fire.

`created_state` is the watched folder's state recorded when a data-change schedule was
created (`schedule.created` v3): what the folder is compared with until the schedule first
fires. `last_state` is the folder's state at the last data-change fire, and `last_listing`
the same digest when that fire stored the folder's listing (`schedule.triggered` v2), null
when it did not. The three describe that folder only: an update that points the schedule at
another datastore or folder clears them (the scheduler then infers the folder as it was from
the files' modification times, as for schedules recorded before v3), and so does a datastore
registered again at another path (`datastore.registered`), for every schedule watching it.

`schedule_datastores` is how that fold finds them: for each datastore name, the path it was
last registered at (null while no event registered it: the workspace's own datastores) and
the schedules watching it."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "schedules",
    (
        ("schedule_id", "text"), ("name", "text"), ("pipeline_id", "text"), ("experiment", "text"),
        ("recurrence", "json"), ("parameters", "json"), ("enabled", "bool"), ("created_at", "text"),
        ("updated_at", "text"), ("pipeline_endpoint_id", "text"), ("description", "text"), ("datastore", "text"),
        ("path_on_datastore", "text"), ("polling_interval", "float"), ("continue_on_step_failure", "bool"),
        ("last_triggered_at", "text"), ("last_due", "text"), ("last_state", "text"), ("trigger_count", "int"),
        ("last_error", "text"), ("created_state", "text"), ("last_listing", "text"),
    ),
    pk=("schedule_id",),
)
WATCHERS = TableSpec("schedule_datastores", (("datastore", "text"), ("path", "text"), ("schedule_ids", "json")),
                     pk=("datastore",))
TABLES = {TABLE.name: TABLE, WATCHERS.name: WATCHERS}
TYPES = frozenset({"schedule.created", "schedule.disabled", "schedule.enabled", "schedule.updated",
                   "schedule.triggered", "schedule.trigger_failed", "datastore.registered"})
#: what a schedule knows of the folder it watches, cleared when that folder is another one
FOLDER_STATES = ("created_state", "last_state", "last_listing")
#: settings `schedule.updated` may change (its `changes` keys), each a column
SETTINGS = ("name", "description", "recurrence", "parameters", "datastore", "path_on_datastore", "polling_interval",
            "continue_on_step_failure")


def _watchers(tables, datastore: str) -> dict:
    return tables.get(WATCHERS.name, datastore) or WATCHERS.blank(datastore=datastore, schedule_ids=[])


def _watch(tables, datastore: str | None, schedule_id: str, watching: bool) -> None:
    """Add `schedule_id` to (or with `watching` false remove it from) the schedules watching `datastore`."""
    if datastore is None:
        return
    w = _watchers(tables, datastore)
    ids = set(w["schedule_ids"]) - {schedule_id}
    w["schedule_ids"] = sorted(ids | {schedule_id} if watching else ids)
    tables.put(WATCHERS.name, w)


def _registered(p, tables) -> None:
    """A datastore registered at a path other than the one known (or at all, when none is
    known): the schedules watching it forget what they recorded of its old folder."""
    w = _watchers(tables, p["name"])
    if w["path"] != p["path"]:
        for schedule_id in w["schedule_ids"]:
            row = tables.get("schedules", schedule_id)
            if row is not None and any(row[k] is not None for k in FOLDER_STATES):
                row.update(dict.fromkeys(FOLDER_STATES))
                tables.put("schedules", row)
    w["path"] = p["path"]
    tables.put(WATCHERS.name, w)


def apply(rec, tables) -> None:
    p, t = rec.payload, rec.type
    if t == "datastore.registered":
        _registered(p, tables)
        return
    row = tables.get("schedules", p["schedule_id"])
    if t == "schedule.created":
        row = TABLE.blank(
            schedule_id=p["schedule_id"], name=p["name"], pipeline_id=p["pipeline_id"], experiment=p["experiment"],
            recurrence=p["recurrence"], parameters=p["parameters"], enabled=True, created_at=rec.time,
            pipeline_endpoint_id=p["pipeline_endpoint_id"], description=p["description"], datastore=p["datastore"],
            path_on_datastore=p["path_on_datastore"], polling_interval=p["polling_interval"],
            continue_on_step_failure=p["continue_on_step_failure"], trigger_count=0, created_state=p["state"],
        )
        _watch(tables, row["datastore"], row["schedule_id"], True)
    elif row is None:
        return
    elif t == "schedule.updated":
        changes = {k: v for k, v in p["changes"].items() if k in SETTINGS}
        if any(k in changes and changes[k] != row[k] for k in ("datastore", "path_on_datastore")):
            row.update(dict.fromkeys(FOLDER_STATES))  # recorded for the folder watched before
        if "datastore" in changes and changes["datastore"] != row["datastore"]:
            _watch(tables, row["datastore"], row["schedule_id"], False)
            _watch(tables, changes["datastore"], row["schedule_id"], True)
        row.update(changes)
    elif t == "schedule.triggered":
        if p["state"]:  # a data-change fire: the folder as it fired, and whether its listing is in the store
            row.update(last_state=p["state"], last_listing=p["state"] if p["listing_stored"] else None)
        row.update(last_triggered_at=rec.time, last_due=p["due"] or row["last_due"],
                   trigger_count=(row["trigger_count"] or 0) + 1, last_error=None)
        tables.put("schedules", row)
        return  # a fire is not a change of the schedule's settings
    elif t == "schedule.trigger_failed":
        row["last_error"] = p["error"]
        tables.put("schedules", row)
        return
    else:
        row["enabled"] = t == "schedule.enabled"
    row["updated_at"] = rec.time
    tables.put("schedules", row)
