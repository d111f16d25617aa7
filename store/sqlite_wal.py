"""Switching the store's own SQLite files (the pack index, the stat cache) to WAL mode.

When two processes open a new file at the same moment, both may try to switch it from the
rollback journal to WAL; SQLite then answers one of them "database is locked" at once, without
waiting for the busy timeout (waiting could deadlock them). The switch is tried again for a
while, as the ledger does with its own file; an error that is not a lock is raised as it is.
"""
from __future__ import annotations

import sqlite3
import time

#: how long a lock on a new file's switch to WAL is waited out
RETRY_FOR_S = 30.0


def is_busy(error: sqlite3.OperationalError) -> bool:
    """Whether SQLite's error says another connection holds the file."""
    msg = str(error).lower()
    return "locked" in msg or "busy" in msg


def set_wal(db: sqlite3.Connection, retry_for: float = RETRY_FOR_S) -> None:
    """`PRAGMA journal_mode=WAL` on `db`, tried again while another process holds the file."""
    deadline = time.monotonic() + retry_for
    delay = 0.001
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if not is_busy(e) or time.monotonic() > deadline:
                raise
            import random  # loaded only when a switch has to wait

            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.05)


__all__ = ["RETRY_FOR_S", "is_busy", "set_wal"]
