"""The Ledger: an append-only, hash-chained SQLite event log with projections.

Writes take SQLite's write lock up front (`BEGIN IMMEDIATE`), read the chain's tail and
the highest seq ever assigned inside that transaction (other processes append too),
insert the events and fold them into the projections, then commit: the events and the
projections they imply are one atomic change. A per-object lock serialises threads
sharing one `Ledger`. Busy databases are waited for (busy timeout) and retried.
"""
from __future__ import annotations

import json
import os
import sqlite3
import urllib.parse
import threading
import time as _time
from pathlib import Path
from typing import Callable, Iterable, Iterator

from blake3 import blake3

from canalis.ledger import queries
from canalis.ledger.canonical import GENESIS_HASH, canonical_json, hash_message
from canalis.ledger.errors import EventValidationError, LedgerBusy, LedgerFormatError, LedgerFull, PlanDocumentMissing
from canalis.ledger.events import REGISTRY, Event
from canalis.ledger.projections import SPECS, apply_all, folds_of, prefetch
from canalis.ledger.projections import fingerprint as projection_fingerprint
from canalis.ledger.record import Recorded, VerifyResult
from canalis.ledger.record import recorded as make_recorded
from canalis.ledger.redact import redact
from canalis.ledger.rows import (
    DatasetRow, EndpointRow, ExperimentRow, MetricRow, ModelRow, PipelineRow, RegistrationRow, ReuseCandidate, RunRow, ScheduleRow,
    ScheduleDatastoreRow, StepRunRow, TokenRow,
)
from canalis.ledger.storage import (
    FROM_STORED, SCHEMA, STORED_COLUMNS, VIEW, code_of, decode_hash, decode_row, decode_time, encode_id, encode_time,
)
from canalis.ledger.tables import SqliteTables

from canalis.ledger.payloads import Payloads, train, training_due

FORMAT_VERSION = 2
#: formats this canalis upgrades when it opens a file (ledger/migrate.py)
UPGRADABLE_FORMATS = (1,)
EVENT_COLUMNS = "seq, id, time, type, version, stream, payload, prev_hash, hash"

_SCHEMA = (*SCHEMA, VIEW)
#: the previous stored event's hash (the chain's prev_hash), for reads that do not walk the chain
_PREV = "(SELECT p.hash FROM event_log AS p WHERE p.seq < e.seq ORDER BY p.seq DESC LIMIT 1)"


_second_cache: list = [(None, "")]


def utc_now() -> str:
    """UTC time, ISO 8601 with microseconds and 'Z' (e.g. 2026-11-23T18:23:28.123456Z)."""
    s, us = divmod(_time.time_ns() // 1000, 1_000_000)
    cached = _second_cache[0]
    if cached[0] == s:
        text = cached[1]
    else:
        text = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(s))
        _second_cache[0] = (s, text)  # one tuple, replaced whole: no thread pairs two seconds
    return text + ".%06dZ" % us


def new_event_id() -> str:
    """A random (version 4) UUID as text, e.g. 0d5e2c1e-6f0e-4d8e-9a4c-2b0f0f3c8a11."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


_TAIL_SQL = ("SELECT seq, hash, (SELECT seq FROM sqlite_sequence WHERE name = 'event_log') "
             "FROM event_log ORDER BY seq DESC LIMIT 1")
_HIGH_SQL = "SELECT seq FROM sqlite_sequence WHERE name = 'event_log'"


#: how long a close waits for its turn (`close_in_turn`); another process's close takes milliseconds
CLOSE_TURN_S = 10.0


def close_in_turn(conn: sqlite3.Connection, path: Path) -> None:
    """Close `conn`, a connection to the WAL database at `path`, in turn with the closes of other
    processes, so that the last one to close removes the `-wal` and `-shm` files.

    The last connection to a WAL database to close checkpoints it and removes both files. SQLite
    takes a connection to be the last when it gets the file's exclusive lock, which it tries once,
    without waiting. Two processes that close at the same moment (the `canalis` command and its
    run's executor, both ending with the run) can each find the other still there, and both leave
    the files behind until the next process that opens the database closes it. So the close holds
    an exclusive `flock` on the database's folder: closes take turns, each ends whole (its locks
    released) before the next tries, and the last finds no one else. A folder that cannot be
    opened or locked (a file system without `flock`), or whose lock is not free within
    CLOSE_TURN_S, is closed as before. store/sqlite_wal.py does the same for the store's files."""
    import fcntl

    try:
        fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        conn.close()
        return
    try:
        deadline = _time.monotonic() + CLOSE_TURN_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:  # another process is closing: it takes a few milliseconds
                if _time.monotonic() > deadline:
                    break
                _time.sleep(0.001)
            except OSError:
                break
        conn.close()
    finally:
        os.close(fd)  # gives the turn to the next


def _is_busy(e: sqlite3.OperationalError) -> bool:
    msg = str(e).lower()
    return "locked" in msg or "busy" in msg


#: below this much free space, an I/O error of SQLite is taken for a full disk
_LOW_SPACE = 1 << 20


def _no_space(e: sqlite3.OperationalError, path: Path) -> bool:
    """SQLite ran out of disk space: SQLITE_FULL, or an I/O error on a (nearly) full device
    (extending the shared-memory file of a WAL database fails that way)."""
    if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "database or disk is full" in str(e):
        return True
    if "disk i/o error" in str(e).lower():
        try:
            import shutil  # an error's path only

            return shutil.disk_usage(path.parent).free < _LOW_SPACE
        except OSError:
            return False
    return False


def _prepare(event: Event) -> tuple[str, int, str, dict, str]:
    """(type, version, stream, redacted payload, canonical payload text) of a typed event."""
    if not isinstance(event, Event):
        raise EventValidationError(
            f"the ledger records events of canalis.ledger.events, not {type(event).__name__}; "
            "build one with e.g. events.RunSubmitted(...)"
        )
    cls = type(event)
    if REGISTRY.get(cls.type) is not cls:
        raise EventValidationError(f"event class {cls.__name__} is not registered in the catalogue")
    payload = redact(event.payload())
    stream = event.stream
    if not isinstance(stream, str) or not stream:
        raise EventValidationError(f"event {cls.type!r}: its stream must be a non-empty string, got {stream!r}")
    return cls.type, cls.event_version, stream, payload, canonical_json(payload)


class Ledger:
    """The event log of one workspace (`.canalis/ledger.db`)."""

    def __init__(self, path, busy_timeout: float = 30.0, retry_for: float = 120.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retry_for = retry_for
        self._lock = threading.RLock()
        #: true when the disk was full at opening: the ledger reads but records nothing
        self.readonly = False
        conn = sqlite3.connect(str(self.path), timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            self._retry(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        except sqlite3.OperationalError as e:
            if not _no_space(e, self.path):
                raise
            conn.close()
            conn = self._open_readonly(e)
        self._conn = conn
        self._closed = False
        if not self.readonly:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint=10000")
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        self._utils_db = None  # sqlite-utils' view of the connection, made when tables are created
        #: digest -> the bytes of a plan document (canonical JSON): how `run.submitted` rows that
        #: name their plan by digest get it back (the workspace gives a reader of its store; the
        #: ledger knows no store)
        self.documents = None
        self._plans: dict[str, bytes] = {}
        #: the payload dictionaries' compressors and decompressors (ledger/payloads.py)
        self._payloads = Payloads()
        self._ensure_schema()

    def _open_readonly(self, cause) -> sqlite3.Connection:
        """On a full disk SQLite cannot create the shared-memory file a WAL database is read
        through. When the write-ahead log holds nothing (every event is in the main file),
        the file is read as immutable instead, so that listing and verifying still work."""
        wal = Path(f"{self.path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise LedgerFull(
                f"no space left on device: {self.path} cannot be opened (its write-ahead log needs room to be "
                "read); free some space and try again"
            ) from cause
        self.readonly = True
        uri = f"file:{urllib.parse.quote(str(self.path))}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)

    # -- plumbing ---------------------------------------------------------------------------
    def _retry(self, fn):
        deadline = _time.monotonic() + self.retry_for
        delay = 0.001
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as e:
                if not _is_busy(e) or _time.monotonic() > deadline:
                    if _is_busy(e):
                        raise LedgerBusy(f"{self.path} stayed locked for {self.retry_for:.0f} s; "
                                         "is another process stuck holding it?") from e
                    raise
                import random  # only while another process holds the lock

                _time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.05)

    def _write(self, body):
        """Run body(conn) in one IMMEDIATE transaction, retried while the database is busy.
        A full disk raises `LedgerFull` (nothing of the transaction is recorded)."""
        conn = self._conn
        if self.readonly:
            raise LedgerFull(f"no space left on device: {self.path} was opened read-only and records nothing; "
                             "free some space and try again")

        def attempt():
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        with self._lock:
            try:
                return self._retry(attempt)
            except sqlite3.OperationalError as e:
                if _no_space(e, self.path):
                    raise LedgerFull(f"no space left on device: {self.path} could not record the event; "
                                     "free some space and try again") from e
                raise

    @property
    def _db(self):
        """sqlite-utils on the ledger's connection, for creating projection tables (a new or
        rebuilt file). Imported on first use: opening and appending do not need it."""
        if self._utils_db is None:
            from canalis.ledger.sqlite import import_sqlite_utils

            self._utils_db = import_sqlite_utils().Database(self._conn, execute_plugins=False)
        return self._utils_db

    def _ensure_schema(self) -> None:
        """Create the events table on a new file, refuse a format we do not read, and create
        (and fill, by replaying the events) any projection table that is missing."""

        def state():
            tables = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            fmt = None
            if "ledger_meta" in tables:
                row = self._conn.execute("SELECT value FROM ledger_meta WHERE key = 'format'").fetchone()
                fmt = row[0] if row else None
            return fmt, [n for n in SPECS if n not in tables]

        def built_under():
            row = self._conn.execute("SELECT value FROM ledger_meta WHERE key = 'projections'").fetchone()
            return row[0] if row else None

        def create(conn):
            fmt, missing = state()
            if fmt is None:
                for stmt in _SCHEMA:
                    conn.execute(stmt)
                conn.execute("INSERT OR IGNORE INTO ledger_meta (key, value) VALUES ('format', ?)", (str(FORMAT_VERSION),))
                fmt = str(FORMAT_VERSION)
            elif fmt == "1":
                from canalis.ledger.migrate import upgrade_1_to_2  # once per old file: not loaded otherwise

                upgrade_1_to_2(conn, self.path)
                fmt = str(FORMAT_VERSION)
            if fmt == str(FORMAT_VERSION):
                for name in missing:
                    SPECS[name].create(self._db)
            return fmt, missing

        with self._lock:
            fmt, missing = self._retry(state)
            upgrading = fmt in {str(v) for v in UPGRADABLE_FORMATS}
            if fmt is None or upgrading or (fmt == str(FORMAT_VERSION) and missing):
                fmt, missing = self._write(create)
        if fmt != str(FORMAT_VERSION):
            self._conn.close()
            raise LedgerFormatError(
                f"{self.path} has ledger format {fmt!r}; this canalis reads format {FORMAT_VERSION}. "
                f"Use a canalis release that knows format {fmt!r}."
            )
        current = projection_fingerprint()
        with self._lock:
            stale = self._retry(built_under) != current
        if stale and not missing and self.count():
            stale = not self._write(lambda conn: self._indexes_only(conn, built_under(), current))
        if (missing or stale) and self.count():
            # projections added or changed since the file was written: fold the history into them
            self.rebuild()
        elif stale:
            self._write(lambda conn: self._mark_projections(conn))
        if upgrading:  # after a rebuild the projections' old pages are free too
            with self._lock:
                self._reclaim()

    def _reclaim(self) -> None:
        """Give the pages an upgrade freed back to the file system (VACUUM). Without it the
        file keeps its old size until new events fill the freed pages; a full disk, or
        another process reading the file at that moment, leaves it so (the upgrade itself
        is committed, and new events reuse the freed pages)."""
        try:
            with self._lock:
                self._conn.execute("VACUUM")
        except sqlite3.OperationalError as e:
            if not (_no_space(e, self.path) or _is_busy(e)):
                raise

    def close(self) -> None:
        """Close the connection, in turn with other processes' closes (`close_in_turn`); the last
        connection to close removes the `-wal` and `-shm` files. Closing again does nothing."""
        with self._lock:
            if not self._closed:
                self._closed = True
                close_in_turn(self._conn, self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- writing ------------------------------------------------------------------------------
    def append(self, event: Event) -> Recorded:
        """Record one event (validated, redacted, chained) and fold it into the projections."""
        return self.append_many([event])[0]

    def append_many(self, events: Iterable[Event]) -> list[Recorded]:
        """Record several events in one transaction: all of them, consecutively, or none."""
        prepared = [_prepare(e) for e in events]
        if not prepared:
            return []
        return self._write(lambda conn: self._append_in(conn, prepared))

    def append_computed(self, compute: Callable[[], Iterable[Event]]) -> list[Recorded]:
        """Append the events `compute()` returns, deciding and recording in one write
        transaction: what `compute` reads through this ledger (the latest version of a
        dataset, say) cannot change before its events are recorded, because no other process
        or thread can append in between. `compute` may return no events, must not append
        itself, and may run more than once (when the database is busy)."""

        def body(conn):
            prepared = [_prepare(e) for e in compute()]
            return self._append_in(conn, prepared) if prepared else []

        return self._write(body)

    def _append_in(self, conn, prepared) -> list[Recorded]:
        # The tail and the highest seq ever assigned, read inside the write lock: other
        # processes append too. After a truncated tail, seq continues above the high-water
        # mark, so the gap stays visible to verify().
        tail = conn.execute(_TAIL_SQL).fetchone()
        if tail is None:
            high = conn.execute(_HIGH_SQL).fetchone()
            seq, prev = (high[0] if high else 0), GENESIS_HASH
        else:
            seq, prev = max(tail[0], tail[2] or 0), decode_hash(tail[1])
        tables = SqliteTables(conn, SPECS)
        types: dict[str, int] = {}
        streams: dict[str, int] = {}
        out, rows = [], []
        if training_due(seq, seq + len(prepared)):
            content = train(self._payloads.samples(conn, [p[4] for p in prepared]))
            if content is not None:
                self._payloads.add(conn, content, seq + 1)
        current = self._payloads.compressor(conn)
        code, compress = current if current is not None else (None, None)
        prefetch([(p[0], p[3]) for p in prepared], tables)
        for type_, version, stream, payload, text in prepared:
            seq += 1
            eid, now = new_event_id(), utc_now()
            digest = blake3(hash_message(seq, eid, now, type_, version, stream, text, prev)).digest()
            h = digest.hex()
            rec = make_recorded(seq, eid, now, type_, version, stream, payload, prev, h, version)
            stored, stored_code = text, None
            if compress is not None:
                raw = text.encode("utf-8")
                frame = compress(raw)
                if len(frame) < len(raw):
                    stored, stored_code = frame, code
            rows.append((seq, encode_id(eid), encode_time(now), code_of(conn, "event_types", type_, types), version,
                         code_of(conn, "streams", stream, streams), stored, stored_code, digest))
            apply_all(rec, tables)
            out.append(rec)
            prev = h
        conn.executemany("INSERT INTO event_log (seq, id, time, type, version, stream, payload, dictionary, hash) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        tables.flush()
        return out

    # -- reading --------------------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        """(last seq, its hash); (0, 64 zeros) for an empty ledger."""
        with self._lock:
            row = self._conn.execute("SELECT seq, hash FROM event_log ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], decode_hash(row[1])) if row else (0, GENESIS_HASH)

    def count(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT count(*) FROM event_log").fetchone()[0]

    def events(self, stream: str | None = None, type: str | None = None, since: int | None = None,
               chunk: int = 2000) -> Iterator[Recorded]:
        """Recorded events in seq order, optionally of one stream, of a type (or a type prefix:
        "step." or "step" match every step.* event), with seq > `since`."""
        where, params = [], []
        if stream is not None:
            where.append("e.stream = (SELECT code FROM streams WHERE name = ?)")
            params.append(stream)
        if type is not None:
            if type.endswith("."):
                where.append("substr(t.name, 1, ?) = ?")
                params += [len(type), type]
            else:
                where.append("(t.name = ? OR substr(t.name, 1, ?) = ?)")
                params += [type, len(type) + 1, type + "."]
        from canalis.ledger.upcast import upcast  # for reading events: a process that only appends does without

        last = since or 0
        sql = (f"SELECT {STORED_COLUMNS}, {_PREV} FROM {FROM_STORED} WHERE e.seq > ?"
               + "".join(f" AND {w}" for w in where) + f" ORDER BY e.seq LIMIT {int(chunk)}")
        while True:
            with self._lock:
                rows = self._conn.execute(sql, [last, *params]).fetchall()
                decode = self._payloads.decoder(self._conn) if rows else None
            for row in rows:
                rec = self._recorded(decode_row(row[:9], decode_hash(row[9]) if row[9] is not None else GENESIS_HASH,
                                                decode), upcast)
                if rec.type == "run.submitted" and rec.payload.get("plan_digest") and not rec.payload.get("plan"):
                    rec.payload["plan"] = self._plan_document(rec.payload["plan_digest"], rec.payload.get("run_id"))
                yield rec
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    def _plan_document(self, digest: str, run_id):
        """The plan a `run.submitted` names by digest (read once per digest: no-op re-submits share one)."""
        if digest not in self._plans:
            if self.documents is None:
                raise PlanDocumentMissing(
                    f"run {run_id!r}: its plan is stored by content ({digest[:12]}) and this ledger was opened "
                    "without the workspace's store; open it through the workspace (canalis.layout)")
            try:
                doc = bytes(self.documents(digest))
            except Exception as e:  # the reader's own error (a missing or damaged blob), named
                raise PlanDocumentMissing(f"run {run_id!r}: its plan {digest[:12]} cannot be read from the store: {e}; "
                                          "run `canalis store verify` and `canalis store repair`") from e
            if len(self._plans) >= 256:
                self._plans.clear()
            self._plans[digest] = doc
        return json.loads(self._plans[digest])  # a fresh copy for each reader

    def raw_rows(self, chunk: int = 5000) -> Iterator[tuple]:
        """Stored rows as format 1's text columns (EVENT_COLUMNS: payload as canonical text,
        version as stored, prev_hash the previous stored event's hash), seq order."""
        return self._ordered_rows(chunk)

    @staticmethod
    def _recorded(row, upcast) -> Recorded:
        seq, eid, time, type_, stored, stream, text, prev, h = row
        cls = REGISTRY.get(type_)
        version, payload = upcast(type_, stored, json.loads(text), cls.event_version if cls else None)
        return Recorded(seq, eid, time, type_, version, stream, payload, prev, h, stored)

    # -- integrity ------------------------------------------------------------------------------
    def verify(self) -> VerifyResult:
        """Recompute the chain; name the first event that breaks it (see docs/events.md)."""
        with self._lock:
            high = self._conn.execute(_HIGH_SQL).fetchone()
            high = high[0] if high else None
            types = dict(self._conn.execute("SELECT code, name FROM event_types").fetchall())
            streams = dict(self._conn.execute("SELECT code, name FROM streams").fetchall())
            decompressors = self._payloads.decompressors(self._conn)
        from canalis.ledger.stored_chain import check_stored  # verifying only

        intact = check_stored(self._stored_chunks(), types, streams, decompressors)
        if intact is not None and (high is None or high <= intact[1]):
            return VerifyResult(True, *intact[:1], None, None, *intact[1:])
        # something is wrong (or the file changed meanwhile): the reference walk names it
        from canalis.ledger.chain import verify_rows

        return verify_rows(self._ordered_rows(), high)

    def _stored_chunks(self, chunk: int = 20000) -> Iterator[list]:
        """The stored rows of event_log in seq order, as they are (codes, bytes), in chunks."""
        last = -1
        sql = ("SELECT seq, id, time, type, version, stream, payload, dictionary, hash FROM event_log "
               f"WHERE seq > ? ORDER BY seq LIMIT {int(chunk)}")
        while True:
            with self._lock:
                rows = self._conn.execute(sql, (last,)).fetchall()
            yield rows
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    def _ordered_rows(self, chunk: int = 20000, conn=None) -> Iterator[tuple]:
        # Rows in seq order, unfiltered: a tampered table must be seen as it is. An event whose
        # type or stream code names nothing is shown with type and stream None (and fails to verify).
        last, prev = -1, GENESIS_HASH
        sql = (f"SELECT e.seq, e.id, e.time, t.name, e.version, s.name, e.payload, e.dictionary, e.hash FROM event_log AS e "
               "LEFT JOIN event_types AS t ON t.code = e.type LEFT JOIN streams AS s ON s.code = e.stream "
               f"WHERE e.seq > ? ORDER BY e.seq LIMIT {int(chunk)}")
        while True:
            if conn is None:
                with self._lock:
                    rows = self._conn.execute(sql, (last,)).fetchall()
                    decode = self._payloads.decoder(self._conn)
            else:
                rows = conn.execute(sql, (last,)).fetchall()
                decode = self._payloads.decoder(conn)
            for row in rows:
                text = decode_row(row, prev, decode)
                prev = text[8]
                yield text
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    def rebuild(self, chunk: int = 20000) -> None:
        """Drop every projection table and fold all events into fresh ones, in one transaction."""

        def body(conn):
            for name in SPECS:
                conn.execute(f"DROP TABLE IF EXISTS [{name}]")
            for spec in SPECS.values():
                spec.create(self._db, indexes=False)  # indexes are built once, after the load
            tables = SqliteTables(conn, SPECS, complete=True)
            # Projections fold an event's seq, time, type and payload only (projections.py): the
            # rows are read without id, stream and hash, which a fold never needs decoding.
            # code -> (type, current version, the folds that want it); a type no projection
            # folds is not even decoded
            names = {code: (name, REGISTRY[name].event_version, folds_of(name))
                     for code, name in conn.execute("SELECT code, name FROM event_types")
                     if name in REGISTRY and folds_of(name)}
            loads = json.loads
            decompress = self._payloads.decompressors(conn)
            sql = ("SELECT seq, time, type, version, payload, dictionary FROM event_log WHERE seq > ? "
                   f"ORDER BY seq LIMIT {int(chunk)}")
            last, second, second_text = -1, None, ""
            recorded, make = self._recorded, make_recorded
            while True:
                rows = conn.execute(sql, (last,)).fetchall()
                for seq, time, code, version, payload, dcode in rows:
                    known = names.get(code)
                    if known is None:
                        continue
                    if type(time) is int:  # storage.decode_time, with the second's text kept here
                        s, us = divmod(time, 1_000_000)
                        if s != second:
                            second, second_text = s, decode_time(s * 1_000_000)[:19]
                        time = "%s.%06dZ" % (second_text, us)
                    if dcode is not None:
                        fn = decompress.get(dcode)
                        if fn is None:
                            raise LedgerFormatError(f"{self.path}: event {seq} names payload dictionary {dcode}, "
                                                    "which the file does not hold; `canalis ledger verify` names "
                                                    "the first event it breaks")
                        payload = fn(payload).decode("utf-8")
                    type_, current, folds = known
                    if version == current:
                        rec = make(seq, None, time, type_, version, None, loads(payload), None, None, version)
                    else:
                        from canalis.ledger.upcast import upcast  # an event of an older version

                        rec = recorded((seq, None, time, type_, version, None, payload, None, None), upcast)
                    for fold in folds:
                        fold(rec, tables)
                tables.flush()
                if len(rows) < chunk:
                    break
                last = rows[-1][0]
            for spec in SPECS.values():
                spec.create_indexes(self._db)
            self._mark_projections(conn)

        self._write(body)

    def _indexes_only(self, conn, built: str | None, current: str) -> bool:
        """When the projections were built under the current layout but for their indexes,
        give them the current indexes in place (creating an index takes a fraction of a replay)
        and mark them current; whether they are current now. Inside the write transaction, so
        that a process that did it first is seen."""
        if built == current:
            return True
        from canalis.ledger.projections import file_indexes, sync_indexes

        if built is None or projection_fingerprint(file_indexes(conn)) != built:
            return False
        sync_indexes(conn)
        self._mark_projections(conn)
        return True

    @staticmethod
    def _mark_projections(conn) -> None:
        conn.execute("INSERT OR REPLACE INTO ledger_meta (key, value) VALUES ('projections', ?)", (projection_fingerprint(),))

    def export_jsonl(self, fp) -> int:
        """Write every stored event as one canonical JSON line (see docs/events.md); returns the count."""
        n = 0
        for seq, eid, time, type_, version, stream, text, prev, h in self.raw_rows():
            fp.write(
                '{"hash":' + json.dumps(h) + ',"id":' + json.dumps(eid, ensure_ascii=False)
                + ',"payload":' + text + ',"prev_hash":' + json.dumps(prev) + ',"seq":' + str(seq)
                + ',"stream":' + json.dumps(stream, ensure_ascii=False) + ',"time":' + json.dumps(time)
                + ',"type":' + json.dumps(type_, ensure_ascii=False) + ',"version":' + str(version) + "}\n"
            )
            n += 1
        return n

    # -- queries over projections (canalis/ledger/queries.py): typed rows (ledger/rows.py) --------
    def _read(self, fn, *args, **kwargs):
        with self._lock:
            return fn(self._conn, *args, **kwargs)

    def run(self, run_id: str) -> RunRow | None:
        return self._read(queries.run, run_id)

    def run_plan(self, run_id: str):
        """The plan the run was submitted with (from its run.submitted event), or None."""
        for rec in self.events(stream=f"run:{run_id}", type="run.submitted"):
            return rec.payload["plan"]
        return None

    def runs(self, experiment: str | None = None, limit: int | None = None) -> list[RunRow]:
        return self._read(queries.runs, experiment, limit)

    def run_ids_with_prefix(self, prefix: str, limit: int = 20) -> list[str]:
        return self._read(queries.run_ids_with_prefix, prefix, limit)

    def step_runs(self, run_id: str) -> list[StepRunRow]:
        return self._read(queries.step_runs, run_id)

    def all_step_runs(self) -> list[StepRunRow]:
        return self._read(queries.all_step_runs)

    def step_run(self, step_run_id: str) -> StepRunRow | None:
        return self._read(queries.step_run, step_run_id)

    def last_completed_step_run(self, step_name: str, before: str, exclude: str | None = None) -> StepRunRow | None:
        return self._read(queries.last_completed_step_run, step_name, before, exclude)

    def metrics(self, run_id: str | None = None, step_run_id: str | None = None) -> list[MetricRow]:
        return self._read(queries.metrics, run_id, step_run_id)

    def run_metrics(self, run_id: str) -> list[MetricRow]:
        """Every metric the run answers for, following its reused step runs (queries.run_metrics)."""
        return self._read(queries.run_metrics, run_id)

    def step_metrics(self, step_run_id: str) -> list[MetricRow]:
        """A step run's metrics; a reused one answers with those of the step run it reused."""
        return self._read(queries.step_metrics, step_run_id)

    def registered_by_run(self, kind: str, run_id: str) -> list[RegistrationRow]:
        """Dataset or model versions (`kind`: "datasets", "models") the run answers for."""
        return self._read(queries.registered_by_run, kind, run_id)

    def registered_by_step_run(self, kind: str, step_run_id: str) -> list[RegistrationRow]:
        """Dataset or model versions a step run registered (or the step run it reused)."""
        return self._read(queries.registered_by_step_run, kind, step_run_id)

    def reuse_candidates(self, reuse_key: str) -> list[ReuseCandidate]:
        return self._read(queries.reuse_candidates, reuse_key)

    def reuse_candidates_many(self, reuse_keys) -> dict[str, list[ReuseCandidate]]:
        """`reuse_candidates` of each key, in one query (queries.reuse_candidates_many)."""
        return self._read(queries.reuse_candidates_many, reuse_keys)

    def last_reuse_keys(self, experiment: str) -> list[str]:
        return self._read(queries.last_reuse_keys, experiment)

    def last_run_candidates(self, experiment: str) -> dict[str, list[ReuseCandidate]]:
        """The candidates of the keys of the experiment's latest run, in one query
        (queries.last_run_candidates): a key with none is left out."""
        return self._read(queries.last_run_candidates, experiment)

    def datasets(self) -> list[DatasetRow]:
        return self._read(queries.datasets)

    def dataset_versions(self, name: str) -> list[DatasetRow]:
        return self._read(queries.dataset_versions, name)

    def dataset(self, name: str, version: int | None = None) -> DatasetRow | None:
        return self._read(queries.dataset, name, version)

    def registrations(self, kind: str, name: str | None = None) -> list[RegistrationRow]:
        return self._read(queries.registrations, kind, name)

    def registration(self, kind: str, name: str, version: int | None = None) -> RegistrationRow | None:
        return self._read(queries.registration, kind, name, version)

    def models(self) -> list[ModelRow]:
        return self._read(queries.models)

    def model_versions(self, name: str) -> list[ModelRow]:
        return self._read(queries.model_versions, name)

    def model(self, name: str, version: int | None = None) -> ModelRow | None:
        return self._read(queries.model, name, version)

    def pipelines(self) -> list[PipelineRow]:
        return self._read(queries.pipelines)

    def pipeline(self, pipeline_id: str) -> PipelineRow | None:
        return self._read(queries.pipeline, pipeline_id)

    def schedules(self) -> list[ScheduleRow]:
        return self._read(queries.schedules)

    def schedule(self, schedule_id: str) -> ScheduleRow | None:
        return self._read(queries.schedule, schedule_id)

    def schedule_datastores(self) -> list[ScheduleDatastoreRow]:
        """Each datastore the schedules know of: its last registered path, the schedules watching it."""
        return self._read(queries.schedule_datastores)

    def endpoints(self) -> list[EndpointRow]:
        return self._read(queries.endpoints)

    def endpoint(self, endpoint_id: str | None = None, name: str | None = None) -> EndpointRow | None:
        """A pipeline endpoint by id, or by its current name."""
        return self._read(queries.endpoint, endpoint_id, name)

    def tokens(self) -> list[TokenRow]:
        return self._read(queries.tokens)

    def last_triggered_run(self, schedule_id: str) -> RunRow | None:
        """The newest run the schedule submitted."""
        return self._read(queries.last_triggered_run, schedule_id)

    def experiments(self) -> list[ExperimentRow]:
        return self._read(queries.experiments)

    def runs_page(self, experiment: str | None = None, statuses=(), tags=(), sort: str = "submitted",
                  descending: bool = True, limit: int = 50, offset: int = 0) -> tuple[list[RunRow], int]:
        """A page of runs and the number matching (queries.runs_page): the web UI's runs table."""
        return self._read(queries.runs_page, experiment, statuses, tags, sort, descending, limit, offset)

    def step_counts(self, run_ids: list[str]) -> dict[str, dict[str, int]]:
        """run id -> {step status: count} for the runs given (queries.step_counts)."""
        return self._read(queries.step_counts, run_ids)

    def projection_rows(self) -> dict[str, list[dict]]:
        """Every projection table, decoded, ordered by primary key (for comparisons and audits)."""
        return self._read(queries.all_projections)


__all__ = ["FORMAT_VERSION", "UPGRADABLE_FORMATS", "Ledger", "utc_now"]
