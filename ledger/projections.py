"""The list of projections and the dispatch of one recorded event to those that want it.

Each projection is a module with TABLES (name -> TableSpec), TYPES (the event types it
folds) and one pure `apply(rec, tables)`. Adding a projection means adding its module here.
A fold reads the event's `seq`, `time`, `type` and `payload` only: `Ledger.rebuild` hands it
events without `id`, `stream` and hashes (None), which it does not decode, for speed.
"""
from __future__ import annotations

from canalis.ledger import (
    proj_endpoints, proj_experiments, proj_metrics, proj_pipelines, proj_registrations, proj_reuse_index, proj_runs,
    proj_schedules, proj_step_runs, proj_tokens,
)

PROJECTIONS = (
    proj_runs, proj_step_runs, proj_metrics, proj_registrations, proj_pipelines, proj_schedules,
    proj_experiments, proj_reuse_index, proj_endpoints, proj_tokens,
)
SPECS = {name: spec for m in PROJECTIONS for name, spec in m.TABLES.items()}

# Raise when an `apply` changes what it writes without changing a table's columns: the
# ledger then rebuilds every projection of an existing file when it opens it.
# 2: step.canceled; 3: one registration shape (datasets, models, environments); 4: a schedule
# pointed at another folder forgets its last fire's state too
RULES_VERSION = 4


def fingerprint(indexes: dict[str, list[tuple[str, ...]]] | None = None) -> str:
    """Digest of the projection tables' layout and RULES_VERSION, kept in `ledger_meta`.
    A file whose projections were built under another fingerprint is rebuilt on open, unless
    only their indexes differ (`Ledger._ensure_schema`). `indexes`: table -> the indexes to
    digest instead of the spec's (those a file has, `file_indexes`)."""
    import json

    from blake3 import blake3

    layout = [[n, [list(c) for c in s.columns], list(s.pk),
               [list(i) for i in (s.indexes if indexes is None else indexes.get(n, ()))]] for n, s in sorted(SPECS.items())]
    return blake3(json.dumps([RULES_VERSION, layout]).encode()).hexdigest()


def file_indexes(conn) -> dict[str, list[tuple[str, ...]]]:
    """table -> the column lists of the projection indexes a ledger file has (named by
    TableSpec.index_name: idx_TABLE_COLUMNS), in the order they were created."""
    out: dict[str, list[tuple[str, ...]]] = {name: [] for name in SPECS}
    rows = conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx\\_%' ESCAPE '\\' "
                        "ORDER BY rowid").fetchall()
    for name, table in rows:
        if table in out:
            out[table].append(tuple(r[2] for r in conn.execute(f"PRAGMA index_info([{name}])").fetchall()))
    return out


def sync_indexes(conn) -> None:
    """Give a file's projection tables exactly the spec's indexes, in place (without replaying
    the events). A table whose indexes differ has them all made again, in the spec's order, so
    that the file's indexes read back (`file_indexes`) are the spec's, as the next release
    compares them."""
    have = file_indexes(conn)
    for name, spec in SPECS.items():
        if have[name] == list(spec.indexes):
            continue
        for cols in have[name]:
            conn.execute(f"DROP INDEX IF EXISTS [{spec.index_name(cols)}]")
        spec.create_indexes(conn)

_DISPATCH: dict[str, tuple] = {}
for _m in PROJECTIONS:
    for _t in _m.TYPES:
        _DISPATCH[_t] = _DISPATCH.get(_t, ()) + (_m.apply,)


def folds_of(type_: str) -> tuple:
    """The `apply` functions that fold events of `type_` (none for a type no projection wants)."""
    return _DISPATCH.get(type_, ())


#: (table, payload field, event types): rows the folds of those events read by the key in that field;
#: a batch of events reads them together first (`prefetch`)
_READS = tuple((t, field, m.TYPES) for m in PROJECTIONS for t, field in getattr(m, "READS", {}).items())


def prefetch(events, tables) -> None:
    """Before folding a batch of (type, payload) events, read the rows their folds will read
    by a key in the payload (`READS` of a projection module) with one query per table, not one
    per event. Only when more than one event reads a table; what the folds do is unchanged."""
    for table, field, types in _READS:
        keys = [payload.get(field) for type_, payload in events if type_ in types]
        keys = [k for k in keys if k is not None]
        if len(keys) > 1:
            tables.prefetch(table, keys)


def apply_all(rec, tables) -> None:
    """Fold one recorded event (current-version payload) into every projection that wants it."""
    for fn in _DISPATCH.get(rec.type, ()):
        fn(rec, tables)
