"""The narrow table interface projections fold into, with two implementations.

A projection's `apply(rec, tables)` only calls `tables.get(table, key)` (a copy of the
row, or None) and `tables.put(table, row)` (insert or replace the whole row). Rows are
plain dicts; columns typed "json" hold any JSON value, "bool" holds True/False.

- `MemoryTables` keeps rows in dicts (the shared projection test suite uses it as the
  reference, and it documents what a fold means without SQL).
- `SqliteTables` reads through and writes back to SQLite, caching within one
  transaction (or one rebuild chunk) so that a fold over many events costs few statements.
"""
from __future__ import annotations

import functools
import json
import operator

from canalis.ledger.canonical import canonical_json
from canalis.ledger.frozen import Frozen, seal
from canalis.ledger.storage import (
    decode_digests, decode_hash, decode_id, decode_time, encode_digests, encode_hash, encode_id, encode_time,
)

# "uuid", "digest" and "time" hold text that is stored compactly when it has canalis's form
# (16 bytes of a lowercase uuid, 32 bytes of a 64-hex digest, microseconds of an ISO time, as
# the event_log stores them: storage.py) and verbatim otherwise; "digests" holds a JSON object
# of names to digests (a step's outputs) in binary when it is one, else as JSON text. BLOB
# declares no affinity, so each value keeps the storage class it was written with.
_SQL_TYPES = {"text": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "INTEGER", "json": "TEXT",
              "uuid": "BLOB", "digest": "BLOB", "time": "BLOB", "digests": "BLOB"}
_ENCODE = {"uuid": encode_id, "digest": encode_hash, "time": encode_time, "digests": encode_digests}
_DECODE = {"uuid": decode_id, "digest": decode_hash, "time": decode_time, "digests": decode_digests}


def encode_value(kind: str, value):
    """A column value as stored (for SQL parameters compared with a compact column)."""
    fn = _ENCODE.get(kind)
    return value if fn is None or value is None else fn(value)


def decode_value(kind: str, value):
    """A stored column value as read (the inverse of `encode_value`)."""
    fn = _DECODE.get(kind)
    return value if fn is None or value is None else fn(value)


class TableSpec(Frozen):
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, kind) with kind in _SQL_TYPES
    pk: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    # False for insert-only tables whose rows apply() never reads back (metrics): their rows
    # are written out at flush and not kept in the SqliteTables cache.
    recall: bool = True

    @functools.cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(c for c, _ in self.columns)

    @functools.cached_property
    def select_sql(self) -> str:
        return f"SELECT {', '.join(self.names)} FROM [{self.name}] WHERE " + " AND ".join(f"[{c}] = ?" for c in self.pk)

    @functools.cached_property
    def insert_sql(self) -> str:
        # An upsert updates the row in place: indexes whose columns did not change are not touched.
        cols = ", ".join(self.names)
        sets = ", ".join(f"[{c}] = excluded.[{c}]" for c in self.names if c not in self.pk)
        return (f"INSERT INTO [{self.name}] ({cols}) VALUES ({', '.join('?' * len(self.names))}) "
                f"ON CONFLICT ({', '.join(self.pk)}) DO UPDATE SET {sets}")

    @functools.cached_property
    def key_of(self):
        """row -> its primary key: the value of a one-column key, else the tuple of values."""
        return operator.itemgetter(*self.pk)

    def key(self, row: dict):
        return self.key_of(row)

    def blank(self, **values) -> dict:
        row = dict.fromkeys(self.names)
        row.update(values)
        return row

    @functools.cached_property
    def _converted(self) -> tuple[tuple[int, str], ...]:
        """(position, kind) of the columns whose values encode() converts (json, bool, float)."""
        return tuple((i, kind) for i, (_, kind) in enumerate(self.columns) if kind not in ("text", "int"))

    def encode(self, row: dict) -> tuple:
        out = list(map(row.get, self.names))
        for i, kind in self._converted:
            v = out[i]
            if v is not None:
                if kind == "json":
                    out[i] = canonical_json(v)
                elif kind == "bool":
                    out[i] = 1 if v else 0
                elif kind == "float":
                    out[i] = float(v)
                else:
                    out[i] = _ENCODE[kind](v)
        return tuple(out)

    @functools.cached_property
    def _pk_kinds(self) -> tuple[str, ...]:
        kinds = dict(self.columns)
        return tuple(kinds[c] for c in self.pk)

    def encode_key(self, key) -> tuple:
        """The primary key `key` (as `key()` gives it) as SQL parameters."""
        values = key if len(self.pk) > 1 else (key,)
        return tuple(encode_value(k, v) for k, v in zip(self._pk_kinds, values))

    def decode(self, values) -> dict:
        row = {}
        for (c, kind), v in zip(self.columns, values):
            if v is not None:
                if kind == "json":
                    v = json.loads(v)
                elif kind == "bool":
                    v = bool(v)
                elif kind == "float":
                    v = float(v)
                elif kind in _DECODE:
                    v = _DECODE[kind](v)
            row[c] = v
        return row

    def create(self, db, indexes: bool = True) -> None:
        """Create the table (and its indexes) if missing. Tables are WITHOUT ROWID: the primary
        key is the storage order, so an upsert touches one B-tree instead of two."""
        cols = ", ".join(f"[{c}] {_SQL_TYPES[k]}" + (" NOT NULL" if c in self.pk else "") for c, k in self.columns)
        pk = ", ".join(f"[{c}]" for c in self.pk)
        db.execute(f"CREATE TABLE IF NOT EXISTS [{self.name}] ({cols}, PRIMARY KEY ({pk})) WITHOUT ROWID")
        if indexes:
            self.create_indexes(db)

    def index_name(self, cols) -> str:
        """The name of this table's index on `cols` (projections.file_indexes finds them by it)."""
        return f"idx_{self.name}_{'_'.join(cols)}"

    def create_indexes(self, db) -> None:
        for cols_ in self.indexes:
            db.execute(f"CREATE INDEX IF NOT EXISTS [{self.index_name(cols_)}] "
                       f"ON [{self.name}] ({', '.join(f'[{c}]' for c in cols_)})")


seal(TableSpec, kw_only=False)  # a frozen record (ledger/frozen.py), positional or keyword


class MemoryTables:
    """Rows in dicts: the reference implementation of the table interface."""

    def __init__(self, specs: dict[str, TableSpec]):
        self.specs = specs
        self.rows: dict[str, dict] = {name: {} for name in specs}

    def get(self, table: str, key):
        row = self.rows[table].get(key)
        return None if row is None else dict(row)

    def put(self, table: str, row: dict) -> None:
        spec = self.specs[table]
        self.rows[table][spec.key(row)] = spec.decode(spec.encode(row))

    def dump(self) -> dict[str, list[dict]]:
        """Every table's rows sorted by key (for comparisons)."""
        return {t: [rows[k] for k in sorted(rows, key=_sort_key)] for t, rows in self.rows.items()}


def _sort_key(k):
    return tuple(map(str, k)) if isinstance(k, tuple) else (str(k),)


class SqliteTables:
    """Read-through, write-back tables over an open sqlite3 connection (inside a transaction)."""

    def __init__(self, conn, specs: dict[str, TableSpec], max_cached: int = 300_000, complete: bool = False):
        self.conn = conn
        self.specs = specs
        self.max_cached = max_cached
        self.cache: dict[tuple, dict | None] = {}
        self.dirty: dict[str, dict] = {}
        # complete: the tables started empty and every row written since is in the cache, so a
        # cache miss means "no such row" without asking SQLite (rebuild). Cleared with the cache.
        self.complete = complete

    def get(self, table: str, key):
        ck = (table, key)
        try:
            row = self.cache[ck]
        except KeyError:
            if self.complete:
                return None
            spec = self.specs[table]
            found = self.conn.execute(spec.select_sql, spec.encode_key(key)).fetchone()
            row = None if found is None else spec.decode(found)
            self.cache[ck] = row
        return None if row is None else dict(row)

    def prefetch(self, table: str, keys) -> None:
        """Read the rows of `keys` (a one-column primary key) with one query per 500, as `get`
        would read them one by one: found rows and misses (None) are cached alike."""
        if self.complete:
            return
        spec = self.specs[table]
        if len(spec.pk) != 1:
            raise ValueError(f"table {table!r} has a primary key of {len(spec.pk)} columns; prefetch reads one-column keys")
        wanted = list(dict.fromkeys(k for k in keys if (table, k) not in self.cache))
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            params = [spec.encode_key(k)[0] for k in part]
            sql = (f"SELECT {', '.join(spec.names)} FROM [{spec.name}] WHERE [{spec.pk[0]}] IN "
                   f"({', '.join('?' * len(part))})")
            found = {}
            for values in self.conn.execute(sql, params):
                row = spec.decode(values)
                found[spec.key_of(row)] = row
            for k in part:
                self.cache[(table, k)] = found.get(k)

    def put(self, table: str, row: dict) -> None:
        spec = self.specs[table]
        key = spec.key_of(row)
        if spec.recall:
            self.cache[(table, key)] = row
        self.dirty.setdefault(table, {})[key] = row

    def flush(self) -> None:
        for table, rows in self.dirty.items():
            spec = self.specs[table]
            if len(rows) == 1:
                for r in rows.values():
                    self.conn.execute(spec.insert_sql, spec.encode(r))
            else:
                self.conn.executemany(spec.insert_sql, [spec.encode(r) for r in rows.values()])
        self.dirty = {}
        if len(self.cache) > self.max_cached:
            self.cache = {}
            self.complete = False

    def discard(self) -> None:
        self.cache = {}
        self.dirty = {}


def read_all(conn, spec: TableSpec) -> list[dict]:
    """Every row of a projection table, decoded, ordered by primary key."""
    order = ", ".join(f"[{c}]" for c in spec.pk)
    return [spec.decode(r) for r in conn.execute(f"SELECT {', '.join(spec.names)} FROM [{spec.name}] ORDER BY {order}")]
