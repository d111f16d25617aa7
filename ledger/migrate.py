"""Upgrading a ledger file of format 1 to format 2 (docs/events.md, "Changes").

Format 1 kept every event column as text, and `prev_hash` on every row. Format 2 stores
the same values compactly (ledger/storage.py). The upgrade copies each row, re-encoded,
into `event_log` (same seq, same AUTOINCREMENT high-water mark), and replaces the old table
by the view `events`, in one transaction: a ledger is wholly in one format or the other.
What is hashed does not change, so every stored hash stays valid, and a ledger damaged
before the upgrade (an edited event, a deleted one, a cut tail) verifies with the same
result after it. The one thing format 2 cannot hold is a `prev_hash` that differs from the
hash of the event before it (seq - 1): the upgrade refuses such a ledger, naming the event.
"""
from __future__ import annotations

from canalis.ledger.canonical import GENESIS_HASH
from canalis.ledger.errors import LedgerFormatError
from canalis.ledger.payloads import FIRST_TRAINING, Payloads, train
from canalis.ledger.storage import SCHEMA, VIEW, insert_text_rows

_V1_COLUMNS = "seq, id, time, type, version, stream, payload, prev_hash, hash"


def _v1_rows(conn, table: str, chunk: int = 20000):
    last = -1
    while True:
        rows = conn.execute(f"SELECT {_V1_COLUMNS} FROM [{table}] WHERE seq > ? ORDER BY seq LIMIT {chunk}",
                            (last,)).fetchall()
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1][0]


def upgrade_1_to_2(conn, path) -> int:
    """Rewrite a format-1 events table as format 2, inside the caller's write transaction.
    Returns the number of events copied."""
    high_row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    high = high_row[0] if high_row else None
    conn.execute("ALTER TABLE events RENAME TO events_format1")
    conn.execute("DROP TRIGGER IF EXISTS events_no_update")
    conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
    conn.execute("DROP INDEX IF EXISTS events_stream")
    for stmt in SCHEMA:
        conn.execute(stmt)
    last_seq, last_hash = 0, GENESIS_HASH
    batch = []
    n = 0
    for seq, id_, time, type_, version, stream, payload, prev, h in _v1_rows(conn, "events_format1"):
        if seq == last_seq + 1 and prev != last_hash:
            raise LedgerFormatError(
                f"{path}: event {seq} stores prev_hash {str(prev)[:16]}…, not the hash of event {last_seq} "
                f"({str(last_hash)[:16]}…); ledger format 2 does not store prev_hash, so this damage would be "
                "lost by upgrading. Restore the ledger from a backup, or inspect it with the canalis release "
                "that wrote it (`canalis ledger verify`)"
            )
        last_seq, last_hash = seq, h
        batch.append((seq, id_, time, type_, version, stream, payload, h))
        n += 1
        if len(batch) >= 5000:
            insert_text_rows(conn, batch)
            batch = []
    insert_text_rows(conn, batch)
    conn.execute("DROP TABLE events_format1")
    if high is not None:  # keep the high-water mark: a truncated tail stays visible
        if conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'event_log'", (high,)).rowcount == 0:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('event_log', ?)", (high,))
    conn.execute(VIEW)
    if last_seq >= FIRST_TRAINING:  # events appended from now on are compressed (payloads.py)
        store = Payloads()
        content = train(store.samples(conn, []))
        if content is not None:
            store.add(conn, content, last_seq + 1)
    conn.execute("INSERT OR REPLACE INTO ledger_meta (key, value) VALUES ('format', '2')")
    return n
