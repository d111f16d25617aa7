"""Projection `reuse_index`: every completed step run by reuse key.

Only step.completed enters it (a reused step points at the run that did the work). The
executor still checks that the outputs are in the store before reusing one. Ids, the reuse
key, outputs and time are stored compactly (tables.py); reads give the text.
"""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "reuse_index",
    (
        ("step_run_id", "uuid"), ("reuse_key", "digest"), ("run_id", "text"), ("step_name", "text"),
        ("outputs", "digests"), ("allow_reuse", "bool"), ("completed_at", "time"), ("seq", "int"),
    ),
    pk=("step_run_id",),
    indexes=(("reuse_key", "seq"),),
    recall=False,  # apply() only writes rows: a rebuild keeps none of them in its cache
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"step.completed"})


def apply(rec, tables) -> None:
    p = rec.payload
    tables.put("reuse_index", TABLE.blank(
        step_run_id=p["step_run_id"], reuse_key=p["reuse_key"], run_id=p["run_id"], step_name=p["step_name"],
        outputs=p["outputs"], allow_reuse=p["allow_reuse"], completed_at=rec.time, seq=rec.seq,
    ))
