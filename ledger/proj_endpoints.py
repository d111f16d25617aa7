"""Projection `pipeline_endpoints`: named groups of published pipelines, one version each,
with a default version and whether the endpoint is enabled."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "pipeline_endpoints",
    (
        ("endpoint_id", "text"), ("name", "text"), ("description", "text"), ("default_version", "text"),
        ("versions", "json"), ("enabled", "bool"), ("created_at", "text"), ("updated_at", "text"),
    ),
    pk=("endpoint_id",),
    indexes=(("name",),),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"pipeline_endpoint.published", "pipeline_endpoint.pipeline_added", "pipeline_endpoint.default_changed",
                   "pipeline_endpoint.renamed", "pipeline_endpoint.disabled", "pipeline_endpoint.enabled"})


def apply(rec, tables) -> None:
    p, t = rec.payload, rec.type
    row = tables.get("pipeline_endpoints", p["endpoint_id"])
    if t == "pipeline_endpoint.published":
        row = TABLE.blank(endpoint_id=p["endpoint_id"], name=p["name"], description=p["description"],
                          default_version="0", versions=[{"version": "0", "pipeline_id": p["pipeline_id"]}],
                          enabled=True, created_at=rec.time)
    elif row is None:
        return
    elif t == "pipeline_endpoint.pipeline_added":
        row["versions"] = [*row["versions"], {"version": p["version"], "pipeline_id": p["pipeline_id"]}]
        if p["make_default"]:
            row["default_version"] = p["version"]
    elif t == "pipeline_endpoint.default_changed":
        row["default_version"] = p["version"]
    elif t == "pipeline_endpoint.renamed":
        row["name"] = p["name"]
    else:
        row["enabled"] = t == "pipeline_endpoint.enabled"
    row["updated_at"] = rec.time
    tables.put("pipeline_endpoints", row)
