"""Helpers of the fault-injection suite: start canalis commands as real processes, kill them
with SIGKILL at a chosen moment, and check the workspace afterwards.

A kill point is "when the ledger first holds an event of type T" plus a random delay drawn
from a seeded generator, so every test is repeatable in what it asks for; where the process
is when the signal lands still varies with the machine, which is the point.
"""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

CANALIS = [sys.executable, "-m", "canalis"]


def canalis(*args, cwd=None, env=None, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([*CANALIS, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


#: in the environment of a process `start` starts, and so of the processes it starts in turn
TREE_VAR = "CANALIS_TEST_TREE"


def start(argv, cwd=None, env=None) -> subprocess.Popen:
    """A process in a session of its own (so that killing it does not reach this one)."""
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(argv, cwd=cwd, env={**os.environ, **(env or {}), TREE_VAR: marker}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    proc.tree_marker = marker
    return proc


def count_events(root: Path, type_: str | None = None) -> int:
    """Events in the workspace's ledger (read with plain sqlite3: no projection work)."""
    db = Path(root) / ".canalis" / "ledger.db"
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        sql, params = "SELECT count(*) FROM events", ()
        if type_:
            sql, params = sql + " WHERE type = ?", (type_,)
        return conn.execute(sql, params).fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        conn.close()


def wait_until(predicate, proc: subprocess.Popen | None = None, timeout: float = 60.0, poll: float = 0.01) -> bool:
    """True once `predicate()` holds; False if `proc` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return predicate()
        time.sleep(poll)
    return False


def kill(proc: subprocess.Popen) -> bool:
    """SIGKILL the process (only it: its steps live in sessions of their own, as they would
    after a real crash). True when the signal found it still running."""
    alive = proc.poll() is None
    if alive:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            alive = False
    proc.wait(timeout=60)
    return alive


def _descendants_but_steps(marker: str) -> list[int]:
    """Processes started (directly or not) by the process `start` marked with `marker`, except
    step processes: the executor of a run, or a process about to become one."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if f"{TREE_VAR}={marker}".encode() in env and not any(e.startswith(b"CANALIS_STEP_CONTEXT=") for e in env):
            found.append(int(pid))
    return found


def crash(proc: subprocess.Popen) -> bool:
    """What a machine's crash does to a `canalis submit` and the run it started: SIGKILL the
    submitter, then the run's executor (a detached process of its own), not the steps (they
    live in sessions of their own). True when the submitter was still running."""
    alive = kill(proc)
    while True:  # the submitter is gone, so no new executor appears; one may be between fork and exec
        pids = _descendants_but_steps(proc.tree_marker)
        if not pids:
            return alive
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.01)


def clean(result: dict) -> bool:
    """A `verify_workspace` result with nothing to report at all."""
    return result["ok"] and not result["missing"] and not result.get("unfinished_collections")


def leftover_steps(root: Path) -> list[int]:
    """Pids of step processes of this workspace still running (their context file lies in
    its runs folder)."""
    runs = str(Path(root) / ".canalis" / "runs")
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if f"CANALIS_STEP_CONTEXT={runs}".encode() in env:
            found.append(int(pid))
    return found


def stop_leftovers(root: Path) -> None:
    for pid in leftover_steps(root):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def clone_workspace(src: Path, dst: Path) -> Path:
    """A copy of a workspace to break: SQLite files and the config are copied, every other
    file (blobs and packs, never changed in place; datastore files) is hard-linked."""

    def link_or_copy(a, b):
        name = os.path.basename(a)
        if ".db" in name or name.endswith(".json"):
            return shutil.copy2(a, b)
        os.link(a, b)
        return b

    shutil.copytree(src, dst, symlinks=True, copy_function=link_or_copy)
    return dst
