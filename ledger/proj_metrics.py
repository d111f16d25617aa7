"""Projection `metrics`: one row per metric.logged event, keyed by (run_id, seq).

The table is clustered by run (WITHOUT ROWID, primary key run_id then seq), so a run's
metrics are one range in logged order and an append touches a single B-tree. A run that
reused a step reads that step's metrics in the run that did the work (ledger/queries.py):
nothing is copied.
"""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "metrics",
    (
        ("seq", "int"), ("run_id", "text"), ("step_run_id", "text"), ("name", "text"), ("kind", "text"),
        ("value", "json"), ("description", "text"), ("logged_at", "text"), ("by_step_run_id", "text"),
    ),
    pk=("run_id", "seq"),
    recall=False,
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"metric.logged"})


def apply(rec, tables) -> None:
    p = rec.payload
    tables.put("metrics", TABLE.blank(
        seq=rec.seq, run_id=p["run_id"], step_run_id=p["step_run_id"], name=p["name"], kind=p["kind"],
        value=p["value"], description=p["description"], logged_at=rec.time, by_step_run_id=p["by_step_run_id"],
    ))
