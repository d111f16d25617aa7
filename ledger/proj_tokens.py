"""Projection `tokens`: bearer tokens of the REST API, by id: name, the digest of the token's
text (never the text), who made it, and when it was revoked (null while valid)."""
from __future__ import annotations

from canalis.ledger.tables import TableSpec

TABLE = TableSpec(
    "tokens",
    (
        ("id", "text"), ("name", "text"), ("digest", "text"), ("user", "text"), ("host", "text"),
        ("created_at", "text"), ("revoked_at", "text"),
    ),
    pk=("id",),
)
TABLES = {TABLE.name: TABLE}
TYPES = frozenset({"token.created", "token.revoked"})


def apply(rec, tables) -> None:
    p = rec.payload
    if rec.type == "token.created":
        tables.put("tokens", TABLE.blank(id=p["id"], name=p["name"], digest=p["digest"], user=p["user"],
                                         host=p["host"], created_at=rec.time))
        return
    row = tables.get("tokens", p["id"])
    if row is not None and row["revoked_at"] is None:
        row["revoked_at"] = rec.time
        tables.put("tokens", row)
