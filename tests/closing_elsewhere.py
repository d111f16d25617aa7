"""Another process closing a workspace's SQLite files at the same moment as the process under test,
for the tests of how canalis closes them (ledger/log.py and store/sqlite_wal.py, `close_in_turn`).

SQLite removes a WAL database's `-wal` and `-shm` files when the last connection closes, and takes
a connection to be the last when it gets the file's exclusive lock, tried once. Two processes
closing at the same moment can each find the other still there: both leave the files. Such a
moment is microseconds wide, so `ClosingElsewhere` holds it open: a real process with real SQLite
connections to the files, in the middle of its close. It has taken its turn (an exclusive `flock`
on each file's folder, as canalis's closes do), and its own attempt found the process under test
still there, so when let go it exits without checkpointing or removing anything (`os._exit`: the
kernel drops its locks, as SQLite's failed close does). A process under test that closes in turn
waits until then, and is the last; one that does not closes while this one still holds the
files, and nobody removes them.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HOLD = r"""
import fcntl, os, sqlite3, sys
paths = sys.argv[1:]
dbs = [sqlite3.connect(p) for p in paths]
for db in dbs:
    db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # holds the file open, as any connection does
for folder in sorted({os.path.dirname(p) for p in paths}):
    fcntl.flock(os.open(folder, os.O_RDONLY), fcntl.LOCK_EX)  # its turn to close
print("closing", flush=True)
sys.stdin.readline()
os._exit(0)  # its close found another connection: it lets go of the files and removes nothing
"""


class ClosingElsewhere:
    """`with ClosingElsewhere(path, ...) as other:` a process closing the databases at `paths` now;
    `other.let_go()` ends its close (it exits), as does leaving the block."""

    def __init__(self, *paths):
        self.paths = [str(Path(p).resolve()) for p in paths]
        self.folders = sorted({os.path.dirname(p) for p in self.paths})
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD, *self.paths], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.strip() == "closing", f"the process closing elsewhere did not start (it wrote {line!r})"
        return self

    def let_go(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.write("\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.stdout.close()

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.let_go()
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()  # this process only, by its pid
                    self.proc.wait()


def waiting_for_turn(pid: int, folders, steady_s: float = 0.05) -> bool:
    """Whether process `pid` is waiting for its turn to close a database in one of `folders`: it
    holds the folder open (for its `flock`), and still does `steady_s` later (a process may also
    open a folder for a moment, to sync it)."""
    wanted = {str(Path(f).resolve()) for f in folders}

    def holding() -> bool:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            return False
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return True
            except OSError:
                continue
        return False

    if not holding():
        return False
    time.sleep(steady_s)
    return holding()


def close_beside_another(close, path, folder) -> bool:
    """Run `close` (this process's close of the database at `path`, in `folder`) while another
    process is in the middle of closing it, let that one go, and wait for `close` to end.
    Returns whether `close` waited for its turn."""
    with ClosingElsewhere(path) as other:
        closing = threading.Thread(target=close)
        closing.start()
        # this process holds the folder open only while its close waits for the turn
        deadline = time.monotonic() + 30
        while not (waiting_for_turn(os.getpid(), [folder]) or not closing.is_alive()) and time.monotonic() < deadline:
            time.sleep(0.01)
        waited = closing.is_alive()
        other.let_go()
        closing.join(timeout=30)
        assert not closing.is_alive()
    return waited


def wal_files(root) -> list[str]:
    """The `-wal` and `-shm` files under `root`, relative to it."""
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*") if p.name.endswith(("-wal", "-shm")))
