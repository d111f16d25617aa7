"""Processes that open the same new pack index or stat cache at the same moment all get it:
SQLite refuses all but one of their simultaneous switches to WAL at once ("database is
locked", without waiting), so the switch is tried again (store/sqlite_wal.py). Before, a
stat cache raised the error, and a pack index took it for a damaged file and deleted it
under the other processes.

Processes that close them at the same moment take turns, so that the last removes the `-wal`
and `-shm` files (`close_in_turn`)."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from canalis.store.sqlite_wal import set_wal

OPEN = """
import os, sys, time
kind, path, start = sys.argv[1], sys.argv[2], float(sys.argv[3])
if kind == "index":
    from canalis.store.packindex import PackIndex
    index = PackIndex(path, sys.argv[4])
else:
    from canalis.store.statcache import StatCache
    index = StatCache(path)
while time.time() < start:  # every process opens at the same moment
    pass
db = index._conn()
mode = db.execute("PRAGMA journal_mode").fetchone()[0]
db.execute("CREATE TABLE IF NOT EXISTS opened (pid INTEGER)")
db.execute("INSERT INTO opened VALUES (?)", (os.getpid(),))  # lost if another process replaces the file
print(mode, os.getpid(), flush=True)
"""

ROUNDS, PROCESSES = 12, 3


@pytest.mark.parametrize("kind", ["index", "statcache"])
def test_processes_opening_one_new_file_at_once_all_open_it(tmp_path, kind):
    packs = tmp_path / "packs"
    packs.mkdir()
    for r in range(ROUNDS):
        path = tmp_path / f"{r}.db"
        start = time.time() + 0.3  # after every interpreter has started
        procs = [subprocess.Popen([sys.executable, "-c", OPEN, kind, str(path), str(start), str(packs)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(PROCESSES)]
        results = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0] * PROCESSES, [err for _, err in results]
        modes, pids = zip(*(out.split() for out, _ in results))
        assert set(modes) == {"wal"}
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert sorted(str(pid) for (pid,) in db.execute("SELECT pid FROM opened")) == sorted(pids)
        db.close()


def test_an_error_that_is_not_a_lock_is_raised_at_once(tmp_path):
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not an SQLite file" * 100)
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError):
        set_wal(db, retry_for=60)


def test_a_lock_held_longer_than_the_wait_is_raised(tmp_path):
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        set_wal(db, retry_for=0.2)
    holder.execute("COMMIT")
    set_wal(db)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("kind", ["store", "statcache"])
def test_a_close_waits_while_another_process_closes_and_then_removes_the_files(tmp_path, kind):
    """The store's pack index (closed by `LocalStore.close`) and the stat cache: the other process
    holds the file open and its close is under way; this close waits for it, then is the last."""
    from canalis.store import LocalStore
    from canalis.store.statcache import StatCache
    from tests.closing_elsewhere import close_beside_another, wal_files

    objects = tmp_path / "objects"
    if kind == "store":
        opened = LocalStore(objects)
        (tmp_path / "src").mkdir()
        (tmp_path / "src" / "a.txt").write_text("a")
        opened.snapshot(tmp_path / "src", stat_cache=False)  # a pack, recorded in objects/packindex.db
        path = objects / "packindex.db"
    else:
        objects.mkdir()
        opened = StatCache(objects / "statcache.db")
        opened.update([("/x", 1, 2, 3, "d" * 64, 4)])
        path = objects / "statcache.db"
    waited = close_beside_another(opened.close, path, objects)
    assert wal_files(objects) == []  # this close was the last: checkpointed, files removed
    assert waited  # for the other process's close to end
