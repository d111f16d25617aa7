"""Switching the store's own SQLite files (the pack index, the stat cache) to WAL mode, and
closing them in turn with other processes.

When two processes open a new file at the same moment, both may try to switch it from the
rollback journal to WAL; SQLite then answers one of them "database is locked" at once, without
waiting for the busy timeout (waiting could deadlock them). The switch is tried again for a
while, as the ledger does with its own file; an error that is not a lock is raised as it is.
"""
from __future__ import annotations

import os
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


#: how long a close waits for its turn (`close_in_turn`); another process's close takes milliseconds
CLOSE_TURN_S = 10.0


def close_in_turn(db: sqlite3.Connection, path: str) -> None:
    """Close `db`, a connection to the WAL database at `path`, in turn with the closes of other
    processes, so that the last one to close removes the `-wal` and `-shm` files.

    The last connection to a WAL database to close checkpoints it and removes both files. SQLite
    takes a connection to be the last when it gets the file's exclusive lock, which it tries once,
    without waiting: two processes closing at the same moment can each find the other still
    there, and both leave the files behind. So the close holds an exclusive `flock` on the
    database's folder (`objects/`): closes take turns, each ends whole before the next tries, and
    the last finds no one else. A folder that cannot be opened or locked (a file system without
    `flock`), or whose lock is not free within CLOSE_TURN_S, is closed as before. The ledger
    closes its file the same way (ledger/log.py)."""
    import fcntl

    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        db.close()
        return
    try:
        deadline = time.monotonic() + CLOSE_TURN_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:  # another process is closing: it takes a few milliseconds
                if time.monotonic() > deadline:
                    break
                time.sleep(0.001)
            except OSError:
                break
        db.close()
    finally:
        os.close(fd)  # gives the turn to the next


__all__ = ["CLOSE_TURN_S", "RETRY_FOR_S", "close_in_turn", "is_busy", "set_wal"]
