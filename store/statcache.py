"""The stat cache: (absolute path, size, mtime_ns, inode) -> digest, in objects/statcache.db.

It lets a re-snapshot of an unchanged folder cost one `stat` per file instead of a read.
An entry is trusted only when the file's mtime is older than the moment the entry was
made by more than the filesystem's timestamp granularity ("racy mtime", as in git):
a file written in the same clock tick as it was cached could change again without its
mtime moving. Such entries are re-hashed next time and then become trusted.

The cache is only a hint: a wrong or missing entry costs a re-hash, never a wrong tree,
as long as files are not modified while keeping size, mtime and inode (tools that
restore mtimes on purpose, like `touch -r`, defeat it, as they defeat git and make).
"""
from __future__ import annotations

import os
import sqlite3

from canalis.store.sqlite_wal import close_in_turn, set_wal

SCHEMA = """
CREATE TABLE IF NOT EXISTS stat_cache (
    path      TEXT PRIMARY KEY,   -- absolute path of the file, as the OS spells it
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    inode     INTEGER NOT NULL,
    digest    TEXT NOT NULL,      -- BLAKE3 hex of the content
    cached_ns INTEGER NOT NULL    -- wall clock (ns) taken before the file was stat'ed
) WITHOUT ROWID;
"""
#: window for filesystems with sub-second timestamps (kernel coarse clock ticks are <= 10 ms)
FINE_WINDOW_NS = 100_000_000
#: window for filesystems that store whole or even seconds (FAT, some network mounts)
COARSE_WINDOW_NS = 2_000_000_000


def trusted(mtime_ns: int, cached_ns: int) -> bool:
    window = COARSE_WINDOW_NS if mtime_ns % 1_000_000_000 == 0 else FINE_WINDOW_NS
    return mtime_ns + window < cached_ns


class StatCache:
    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            set_wal(db)  # another process may be making the same new file (store/sqlite_wal.py)
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    def load(self, root: str) -> dict[str, tuple[int, int, int, str, int]]:
        """Every entry under folder `root` (absolute): path -> (size, mtime_ns, inode, digest, cached_ns)."""
        lo = root.rstrip(os.sep) + os.sep
        hi = lo[:-1] + chr(ord(os.sep) + 1)
        rows = self._conn().execute(
            "SELECT path, size, mtime_ns, inode, digest, cached_ns FROM stat_cache WHERE path >= ? AND path < ?",
            (lo, hi),
        )
        return {r[0]: r[1:] for r in rows.fetchall()}

    def update(self, rows: list[tuple[str, int, int, int, str, int]], forget: list[str] = ()) -> None:
        if not rows and not forget:
            return
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR REPLACE INTO stat_cache VALUES (?, ?, ?, ?, ?, ?)", rows)
            db.executemany("DELETE FROM stat_cache WHERE path = ?", [(p,) for p in forget])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @staticmethod
    def read_entries(path: str) -> list[tuple[str, int, str, int]]:
        """`entries()` of the cache at `path` without writing anything: a verify on a full disk
        must still read it. Falls back to an immutable read when SQLite cannot open it for
        writing (it would need to create its -wal and -shm files)."""
        cache = StatCache(path)
        try:
            return cache.entries()
        except sqlite3.OperationalError:
            pass
        finally:
            cache.close()
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
        try:
            return [tuple(r) for r in db.execute("SELECT path, size, digest, cached_ns FROM stat_cache")]
        except sqlite3.OperationalError:  # no table yet
            return []
        finally:
            db.close()

    def entries(self) -> list[tuple[str, int, str, int]]:
        """Every entry as (path, size, digest, cached_ns), for `verify`."""
        return self._conn().execute("SELECT path, size, digest, cached_ns FROM stat_cache").fetchall()

    def forget_made_at(self, cached_ns: set[int]) -> int:
        """Delete every entry one of the snapshots that started at `cached_ns` wrote (the
        snapshot's start time is each of its entries' `cached_ns`). Returns how many."""
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            n = sum(db.execute("DELETE FROM stat_cache WHERE cached_ns = ?", (ns,)).rowcount for ns in sorted(cached_ns))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return n

    def close(self) -> None:
        """Close the database, in turn with other processes' closes (store/sqlite_wal.py)."""
        if self._db is not None:
            db, self._db = self._db, None
            close_in_turn(db, self.path)
