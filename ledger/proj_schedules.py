"""Projection `schedules`: pipeline schedules and whether they are enabled."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "schedules",
    (
        ("schedule_id", "text"), ("name", "text"), ("pipeline_id", "text"), ("experiment", "text"),
        ("recurrence", "json"), ("parameters", "json"), ("enabled", "bool"), ("created_at", "text"),
        ("updated_at", "text"),
    ),
    pk=("schedule_id",),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"schedule.created", "schedule.disabled", "schedule.enabled"})


def apply(rec, tables) -> None:
    p, t = rec.payload, rec.type
    row = tables.get("schedules", p["schedule_id"])
    if t == "schedule.created":
        row = TABLE.blank(
            schedule_id=p["schedule_id"], name=p["name"], pipeline_id=p["pipeline_id"], experiment=p["experiment"],
            recurrence=p["recurrence"], parameters=p["parameters"], enabled=True, created_at=rec.time,
        )
    elif row is None:
        return
    else:
        row["enabled"] = t == "schedule.enabled"
    row["updated_at"] = rec.time
    tables.put("schedules", row)
