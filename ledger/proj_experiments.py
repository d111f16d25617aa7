"""Projection `experiments`: each experiment's run count and first/last submission time."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "experiments",
    (("name", "text"), ("run_count", "int"), ("first_run_at", "text"), ("last_run_at", "text"), ("last_run_id", "text")),
    pk=("name",),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"run.submitted"})


def apply(rec, tables) -> None:
    p = rec.payload
    row = tables.get("experiments", p["experiment"]) or TABLE.blank(name=p["experiment"], run_count=0, first_run_at=rec.time)
    row.update(run_count=row["run_count"] + 1, last_run_at=rec.time, last_run_id=p["run_id"])
    tables.put("experiments", row)
