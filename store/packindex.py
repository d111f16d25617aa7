"""Where each packed blob lies: digest -> (pack, offset, length), in objects/packindex.db.

The packs are the truth; this SQLite file is a derived index, like the stat cache. It also
holds hints that are not derived from the packs and need not be complete: `chunk_heads`, the
chunk lists stored here by their first chunk, where storing a new version of a large file
looks for its earlier version (store/earlier.py). A hint is only ever a candidate, checked
against the bytes; a lost or stale one costs time, never correctness. A writer
adds a pack's entries right after renaming the pack into place. A process that crashed in
between, a pack written by another process, a pack removed by garbage collection, or a
deleted `packindex.db` are all caught by `refresh`, which lists `objects/packs/` and reads
the trailer of every pack the index does not know. Readers refresh when a digest is not
found and the folder changed since their last look.

`refresh` trusts the rows of packs it already knows. Rows that disagree with their pack
(a wrong offset, a missing or extra row: a damaged or hand-edited database) are found by
`verify` and fixed by `rebuild`, which forgets every row and reads every pack's own index
again. Rebuilding touches no pack, so it cannot lose a blob.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time

from canalis.store.errors import CorruptPackError
from canalis.store.pack import SUFFIX, Entry, is_pack_name, read_index
from canalis.store.sqlite_wal import close_in_turn, is_busy, set_wal
from canalis.store.statcache import trusted

SCHEMA = """
CREATE TABLE IF NOT EXISTS packs (
    name   TEXT PRIMARY KEY,      -- the pack's file name without .pack
    blobs  INTEGER NOT NULL,
    bytes  INTEGER NOT NULL       -- size of the pack file
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (
    digest TEXT NOT NULL,
    pack   TEXT NOT NULL,
    offset INTEGER NOT NULL,      -- of the record in the pack
    length INTEGER NOT NULL,      -- of the record (16-byte header + body)
    PRIMARY KEY (digest, pack)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blobs_by_pack ON blobs (pack);
CREATE TABLE IF NOT EXISTS compress_checked (
    pack   TEXT PRIMARY KEY       -- a pack compress_packs has looked at: nothing in it to compress
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunk_heads (
    head   TEXT NOT NULL,         -- the first chunk of a chunked file
    list   TEXT NOT NULL,         -- that file's chunk list (its digest)
    noted  INTEGER NOT NULL,      -- when it was stored last (ns): the latest is tried first
    PRIMARY KEY (head, list)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunk_heads_by_list ON chunk_heads (list);
"""
_CHUNK = 500  # digests per IN (...) query, below SQLite's variable limit


def _in_memory() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    db.executescript(SCHEMA)
    return db


def _no_space(e: sqlite3.DatabaseError, path: str) -> bool:
    """SQLite ran out of disk space (SQLITE_FULL, or an I/O error on a nearly full device)."""
    if "database or disk is full" in str(e):
        return True
    if "disk i/o error" in str(e).lower():
        try:
            import shutil  # an error's path only

            return shutil.disk_usage(os.path.dirname(path) or ".").free < (1 << 20)
        except OSError:
            return False
    return False


class PackIndex:
    def __init__(self, db_path: str, packs_dir: str):
        self.db_path, self.packs_dir = db_path, packs_dir
        self._db: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, wall ns) of packs/ at the last refresh
        self.damaged: dict[str, str] = {}  # pack path -> why its index could not be read

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            with self._lock:  # snapshot workers may all arrive here first
                if self._db is None:
                    self._db = self._open()
                    self.refresh(force=True)
        return self._db

    def _open(self) -> sqlite3.Connection:
        for attempt in (1, 2):
            db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None, check_same_thread=False)
            try:
                set_wal(db)  # another process may be making the same new index (store/sqlite_wal.py)
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(SCHEMA)
                return db
            except sqlite3.DatabaseError as e:
                db.close()
                if isinstance(e, sqlite3.OperationalError) and is_busy(e):
                    raise  # held by another process for longer than its wait: the file is not damaged
                if _no_space(e, self.db_path):  # a full disk: keep the index in memory (refresh fills it from the packs)
                    self.db_path = ":memory:"
                    return _in_memory()
                if attempt == 2:
                    raise
                for suffix in ("", "-wal", "-shm"):  # derived data: rebuild it from the packs
                    try:
                        os.unlink(self.db_path + suffix)
                    except FileNotFoundError:
                        pass
        raise AssertionError("unreachable")

    def _write(self, fn) -> None:
        db = self._conn()
        with self._lock:
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    fn(db)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as e:
                if self.db_path == ":memory:" or not _no_space(e, self.db_path):
                    raise
                # a full disk: the index is derived data, so carry on with a copy in memory,
                # built again from the packs on disk (which include what `fn` recorded)
                self._db.close()
                self._db, self._seen, self.db_path = _in_memory(), None, ":memory:"
                self.refresh(force=True)

    # -- keeping up with the packs folder ---------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Index packs the index does not know, forget packs that are gone. Without `force`,
        skipped when `objects/packs/` has not changed since the last refresh. True if run."""
        try:
            mtime = os.stat(self.packs_dir).st_mtime_ns
        except FileNotFoundError:
            mtime = 0
        with self._lock:
            if not force and self._seen is not None and self._seen[0] == mtime and trusted(*self._seen):
                return False
            seen = (mtime, time.time_ns())
            db = self._db if self._db is not None else self._conn()
            on_disk = self._on_disk()
            known = {r[0] for r in db.execute("SELECT name FROM packs")}
            new = self._read_packs(on_disk - known)
            gone = known - on_disk
            if new or gone:
                self._write(lambda db: self._apply(db, new, gone))
            self._seen = seen
            return True

    def _read_packs(self, names) -> list:
        """(name, entries, size) of each pack read from its own index; damaged packs are noted
        in `damaged`, packs gone meanwhile are skipped."""
        new = []
        for name in sorted(names):
            path = self.path_of(name)
            try:
                new.append((name, read_index(path), os.path.getsize(path)))
            except FileNotFoundError:
                continue
            except CorruptPackError as e:
                self.damaged[path] = e.reason
        return new

    @staticmethod
    def _apply(db, new, gone) -> None:
        for name in gone:
            db.execute("DELETE FROM blobs WHERE pack = ?", (name,))
            db.execute("DELETE FROM packs WHERE name = ?", (name,))
            db.execute("DELETE FROM compress_checked WHERE pack = ?", (name,))
        for name, entries, size in new:
            db.execute("INSERT OR REPLACE INTO packs VALUES (?, ?, ?)", (name, len(entries), size))
            db.executemany(
                "INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?)",
                [(e.digest, name, e.offset, e.length) for e in entries],
            )

    def rebuild(self) -> tuple[int, int]:
        """Forget every row and index every pack in `objects/packs/` again from the pack's own
        index, in one transaction (the listing is taken inside it, so a pack renamed into
        place meanwhile is either read here or added by its writer afterwards). A database
        SQLite cannot read is deleted and made anew. Returns (packs, blobs) indexed."""
        counts = [0, 0]

        def body(db):
            self.damaged.clear()
            db.execute("DELETE FROM blobs")
            db.execute("DELETE FROM packs")
            new = self._read_packs(self._on_disk())
            self._apply(db, new, ())
            counts[:] = [len(new), sum(len(entries) for _, entries, _ in new)]

        with self._lock:
            try:
                self._write(body)
            except sqlite3.DatabaseError:
                self.close()
                for suffix in ("", "-wal", "-shm"):
                    try:
                        os.unlink(self.db_path + suffix)
                    except FileNotFoundError:
                        pass
                self._db = self._open()
                self._write(body)
            self._seen = None
        return counts[0], counts[1]

    def _on_disk(self) -> set[str]:
        try:
            return {n[: -len(SUFFIX)] for n in os.listdir(self.packs_dir) if is_pack_name(n)}
        except FileNotFoundError:
            return set()

    def add(self, name: str, entries: list[Entry], size: int) -> None:
        """Record a pack that was just renamed into place."""
        self._write(lambda db: self._apply(db, [(name, entries, size)], ()))

    def remove(self, name: str) -> None:
        """Forget a pack that was just deleted."""
        self._write(lambda db: self._apply(db, (), [name]))

    # -- lookups ------------------------------------------------------------------------
    def path_of(self, name: str) -> str:
        return os.path.join(self.packs_dir, name + SUFFIX)

    def locate(self, digest: str) -> tuple[str, int, int] | None:
        """(pack name, offset, length) of a packed blob, or None."""
        db = self._conn()
        with self._lock:
            row = db.execute("SELECT pack, offset, length FROM blobs WHERE digest = ? LIMIT 1", (digest,)).fetchone()
        return row

    def locate_many(self, digests: list[str]) -> dict[str, tuple[str, int, int]]:
        """digest -> (pack name, offset, length) for each packed blob among `digests`, what
        `locate` gives for it, in one query per _CHUNK digests; a blob not packed is left out."""
        db = self._conn()
        found: dict[str, tuple[str, int, int]] = {}
        with self._lock:
            for i in range(0, len(digests), _CHUNK):
                part = digests[i : i + _CHUNK]
                q = f"SELECT digest, pack, offset, length FROM blobs WHERE digest IN ({','.join('?' * len(part))})"
                for digest, pack, offset, length in db.execute(q, part).fetchall():
                    found.setdefault(digest, (pack, offset, length))
        return found

    def present(self, digests: list[str]) -> set[str]:
        return {d for d, _ in self.packs_holding(digests)}

    def packs_holding(self, digests: list[str]) -> list[tuple[str, str]]:
        """(digest, pack) for every packed copy of `digests`."""
        db = self._conn()
        rows: list[tuple[str, str]] = []
        with self._lock:
            for i in range(0, len(digests), _CHUNK):
                part = digests[i : i + _CHUNK]
                q = f"SELECT digest, pack FROM blobs WHERE digest IN ({','.join('?' * len(part))})"
                rows += db.execute(q, part).fetchall()
        return rows

    def entries(self) -> list[tuple[str, str, int, int]]:
        """Every (digest, pack, offset, length), sorted by pack then offset."""
        db = self._conn()
        with self._lock:
            return db.execute("SELECT digest, pack, offset, length FROM blobs ORDER BY pack, offset").fetchall()

    def entries_of(self, pack: str) -> list[tuple[str, str, int, int]]:
        db = self._conn()
        with self._lock:
            return db.execute(
                "SELECT digest, pack, offset, length FROM blobs WHERE pack = ? ORDER BY offset", (pack,)
            ).fetchall()

    def rows_per_pack(self) -> dict[str, int]:
        """{pack name: number of rows}, including rows naming packs the `packs` table lacks."""
        db = self._conn()
        with self._lock:
            return dict(db.execute("SELECT pack, COUNT(*) FROM blobs GROUP BY pack").fetchall())

    def packs(self) -> list[tuple[str, int, int]]:
        db = self._conn()
        with self._lock:
            return db.execute("SELECT name, blobs, bytes FROM packs ORDER BY name").fetchall()

    def compress_checked(self) -> set[str]:
        """Packs `LocalStore.compress_packs` has looked at and found nothing to compress in
        (a pack never changes, so it need not be looked at again)."""
        db = self._conn()
        with self._lock:
            return {r[0] for r in db.execute("SELECT pack FROM compress_checked")}

    def mark_compress_checked(self, names) -> None:
        names = list(names)
        if names:
            self._write(lambda db: db.executemany("INSERT OR IGNORE INTO compress_checked VALUES (?)",
                                                  [(n,) for n in names]))

    # -- chunk list hints (store/earlier.py) -------------------------------------------
    def note_heads(self, heads: dict[str, str]) -> None:
        """Record {chunk list: its first chunk} for chunk lists just stored (or stored again)."""
        if heads:
            now = time.time_ns()
            self._write(lambda db: db.executemany("INSERT OR REPLACE INTO chunk_heads VALUES (?, ?, ?)",
                                                  [(head, lst, now) for lst, head in heads.items()]))

    def lists_headed_by(self, head: str, limit: int = 4) -> list[str]:
        """Chunk lists whose first chunk is `head`, the latest stored first (hints: any may be gone)."""
        db = self._conn()
        with self._lock:
            return [r[0] for r in db.execute("SELECT list FROM chunk_heads WHERE head = ? ORDER BY noted DESC LIMIT ?",
                                             (head, limit))]

    def forget_heads(self, lists) -> None:
        """Forget the hints naming chunk lists that were just deleted."""
        lists = list(lists)
        if lists:
            self._write(lambda db: db.executemany("DELETE FROM chunk_heads WHERE list = ?", [(d,) for d in lists]))

    def close(self) -> None:
        """Close the database, in turn with other processes' closes (store/sqlite_wal.py), so that
        the last to close removes its `-wal` and `-shm` files. A later lookup opens it again."""
        with self._lock:
            if self._db is not None:
                db, self._db = self._db, None
                if self.db_path == ":memory:":
                    db.close()
                else:
                    close_in_turn(db, self.db_path)
