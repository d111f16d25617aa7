"""Cross-process locks of a workspace, all `flock`s under `.canalis/locks/` that the OS
releases when a holder dies, so a crash never leaves one stuck.

- `single_flight(key)`: one process at a time decides reuse-or-run for a reuse key.
- `writing(locks)` (shared) / `sweeping(locks)` (exclusive): garbage collection deletes
  objects only while no process is between writing objects and recording them in the
  ledger (a snapshot and its `run.submitted`, outputs and their `step.completed`, a reuse
  decision and its `step.reused`, a dataset and its `dataset.registered`).
"""
from __future__ import annotations

import fcntl
import os
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


def single_flight(locks_dir: Path, key: str):
    return _flock(Path(locks_dir) / f"{key}.lock", fcntl.LOCK_EX)


def writing(locks_dir: Path):
    return _flock(Path(locks_dir) / "gc.lock", fcntl.LOCK_SH)


def sweeping(locks_dir: Path):
    return _flock(Path(locks_dir) / "gc.lock", fcntl.LOCK_EX)
