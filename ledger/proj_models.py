"""Projection `models`: every registered version of every model, keyed (name, version)."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "models",
    (
        ("name", "text"), ("version", "int"), ("model_id", "text"), ("tree", "text"), ("tags", "json"),
        ("properties", "json"), ("description", "text"), ("run_id", "text"), ("datasets", "json"),
        ("registered_at", "text"), ("seq", "int"),
    ),
    pk=("name", "version"),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"model.registered"})


def apply(rec, tables) -> None:
    p = rec.payload
    tables.put("models", TABLE.blank(
        name=p["name"], version=p["version"], model_id=p["model_id"], tree=p["tree"], tags=p["tags"],
        properties=p["properties"], description=p["description"], run_id=p["run_id"], datasets=p["datasets"],
        registered_at=rec.time, seq=rec.seq,
    ))
