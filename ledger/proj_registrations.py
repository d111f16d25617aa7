"""Projections `datasets`, `models`, `environments`: every registered version of each name,
keyed (name, version). The three share the registration event shape (`_Registered` in
ledger/events.py) and so the same columns; datasets add `kind` and `options`,
environments their `definition`."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

_COMMON = (
    ("name", "text"), ("version", "int"), ("id", "text"), ("digest", "text"), ("description", "text"),
    ("tags", "json"), ("properties", "json"), ("lineage", "json"),
)
_STAMP = (("registered_at", "text"), ("seq", "int"))

DATASETS = TableSpec("datasets", _COMMON + (("kind", "text"), ("options", "json")) + _STAMP, pk=("name", "version"))
MODELS = TableSpec("models", _COMMON + _STAMP, pk=("name", "version"))
ENVIRONMENTS = TableSpec("environments", _COMMON + (("definition", "json"),) + _STAMP, pk=("name", "version"))

TABLES = {t.name: t for t in (DATASETS, MODELS, ENVIRONMENTS)}
_TABLE_OF = {"dataset.registered": DATASETS, "model.registered": MODELS, "environment.registered": ENVIRONMENTS}
TYPES = frozenset(_TABLE_OF)


def apply(rec, tables) -> None:
    spec = _TABLE_OF[rec.type]
    p = rec.payload
    tables.put(spec.name, spec.blank(**{c: p.get(c) for c in spec.names if c in p}, registered_at=rec.time, seq=rec.seq))
