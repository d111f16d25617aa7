"""Cross-process locks of a workspace, all `flock`s under `.canalis/locks/` that the OS
releases when a holder dies, so a crash never leaves one stuck.

- `single_flight(key)`: one process at a time decides reuse-or-run for a reuse key; its
  file is removed when the lock is released (old files, from before, go with `canalis gc`).
- `writing(locks)` (shared) / `sweeping(locks)` (exclusive): garbage collection deletes
  objects only while no process is between writing objects and recording them in the
  ledger (a snapshot and its `run.submitted`, outputs and their `step.completed`, a reuse
  decision and its `step.reused`, a dataset and its `dataset.registered`).
"""
from __future__ import annotations

import fcntl
import os
import re
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _flock(path: Path, mode: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)  # the workspace's umask makes it 0600 or 0660 (shared)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


@contextmanager
def single_flight(locks_dir: Path, key: str):
    """The reuse key's lock, whose file is removed on release, so that `.canalis/locks/` holds
    only the locks in use. Removing a lock file is safe because a waiter that gets the lock of
    a file removed meanwhile (it opened it before the removal) sees that the path no longer
    names the file it locked and tries again on the current one."""
    path = Path(locks_dir) / f"{key}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            held = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
            break
        fcntl.flock(fd, fcntl.LOCK_UN)  # a stale file: its holder removed it on release
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(path)  # still holding the lock: no one else holds this file's lock
        except FileNotFoundError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def writing(locks_dir: Path):
    return _flock(Path(locks_dir) / "gc.lock", fcntl.LOCK_SH)


def sweeping(locks_dir: Path):
    return _flock(Path(locks_dir) / "gc.lock", fcntl.LOCK_EX)


#: names of the lock files `single_flight` takes (reuse keys, environments, the local token):
#: only these may be removed, because only single_flight checks that it locked the current file
_SINGLE_FLIGHT = re.compile(r"[0-9a-f]{64}|env-[0-9a-f]+|local-token")


def remove_unused(locks_dir: Path, dry_run: bool = False) -> tuple[int, int]:
    """(lock files, of which unused) under `locks_dir`, removing the unused ones unless
    `dry_run`: files of reuse keys and environments no process holds, left by a canalis that
    kept them (or by a holder that died). A file is removed while holding its lock, so a
    process waiting for it tries again on a new one (see `single_flight`)."""
    locks_dir = Path(locks_dir)
    if not locks_dir.is_dir():
        return 0, 0
    total = unused = 0
    for path in locks_dir.glob("*.lock"):
        if not _SINGLE_FLIGHT.fullmatch(path.stem):  # gc.lock, secrets.lock: not taken the single-flight way
            continue
        total += 1
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # held: in use
            unused += 1
            if not dry_run:
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)  # closing releases the lock
    return total, unused
