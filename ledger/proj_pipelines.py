"""Projection `pipelines`: published pipelines and whether they are enabled."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "pipelines",
    (
        ("pipeline_id", "text"), ("name", "text"), ("version", "text"), ("description", "text"),
        ("plan", "json"), ("snapshots", "json"), ("endpoint_id", "text"), ("enabled", "bool"),
        ("published_at", "text"), ("updated_at", "text"), ("continue_on_step_failure", "bool"),
        ("published_from_run", "text"),
    ),
    pk=("pipeline_id",),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"pipeline.published", "pipeline.disabled", "pipeline.enabled"})


def apply(rec, tables) -> None:
    p, t = rec.payload, rec.type
    row = tables.get("pipelines", p["pipeline_id"])
    if t == "pipeline.published":
        row = TABLE.blank(
            pipeline_id=p["pipeline_id"], name=p["name"], version=p["version"], description=p["description"],
            plan=p["plan"], snapshots=p["snapshots"], endpoint_id=p["endpoint_id"], enabled=True,
            published_at=rec.time, continue_on_step_failure=p["continue_on_step_failure"],
            published_from_run=p["published_from_run"],
        )
    elif row is None:
        return  # enabling or disabling a pipeline never published changes nothing
    else:
        row["enabled"] = t == "pipeline.enabled"
    row["updated_at"] = rec.time
    tables.put("pipelines", row)
