"""Projection `datasets`: every registered version of every dataset, keyed (name, version)."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "datasets",
    (
        ("name", "text"), ("version", "int"), ("dataset_id", "text"), ("kind", "text"), ("tree", "text"),
        ("description", "text"), ("tags", "json"), ("source", "json"), ("run_id", "text"),
        ("registered_at", "text"), ("seq", "int"),
    ),
    pk=("name", "version"),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"dataset.registered"})


def apply(rec, tables) -> None:
    p = rec.payload
    tables.put("datasets", TABLE.blank(
        name=p["name"], version=p["version"], dataset_id=p["dataset_id"], kind=p["kind"], tree=p["tree"],
        description=p["description"], tags=p["tags"], source=p["source"], run_id=p["run_id"],
        registered_at=rec.time, seq=rec.seq,
    ))
