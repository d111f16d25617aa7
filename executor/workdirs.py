"""Working folders of step runs: `.canalis/runs/<run_id>/<step_run_id>/`.

A step's folder goes when the step completes or is canceled. The folder of a failed step is
kept for inspection (its checked-out source and inputs, partial outputs, logs, channel), and
an executor that dies leaves the folders of the steps it was running (they become
`Abandoned` on resume or cancel). This module finds those kept folders, says how much disk
space they hold, and removes the ones whose step ended longer ago than a retention
(`canalis gc --keep-failed`, default `DEFAULT_KEEP_FAILED`). A run's folder goes with its
last step folder (and its executor's log) once the run has ended that long ago.

Never touched: the folder of a step the ledger shows running, and a folder the ledger does
not know yet (a step being set up) while its run is queued or running. Folders the ledger
does not know at all (the executor died before recording the step) are aged by their
modification time, the others by when their step ended.
"""
from __future__ import annotations

import os
import shutil
import stat
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from canalis.ledger.status import RunStatus, StepStatus

#: retention of failed steps' working folders when `canalis gc` is not told otherwise
DEFAULT_KEEP_FAILED = "7d"


@dataclass
class KeptFolder:
    run_id: str
    step_run_id: str
    path: Path
    status: StepStatus | str  # the step run's status in the ledger, or "unknown"
    ended: float  # when the step ended (epoch seconds), or the folder's mtime
    bytes: int


def disk_usage(path: Path) -> int:
    """Disk space that removing `path` frees, as `du` counts it; files with other hard links
    (checkouts linked to the store's cache) are not counted."""
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            try:
                st = os.lstat(os.path.join(folder, name))
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode) or st.st_nlink == 1:
                total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
    return total


def _when(iso: str | None) -> float | None:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def kept_folders(ledger, runs_dir) -> list[KeptFolder]:
    """Working folders of ended step runs (and of steps the ledger never heard of, in runs that
    are no longer queued or running), oldest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    out = []
    for run_dir in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        run = ledger.run(run_dir.name)
        run_live = run is not None and run.status in RunStatus.active()
        for step_dir in sorted(p for p in run_dir.iterdir() if p.is_dir()):
            row = ledger.step_run(step_dir.name)
            if row is None:
                if run_live:
                    continue  # a step being set up: its step.started is not recorded yet
                status, ended = "unknown", step_dir.stat().st_mtime
            elif row.status == StepStatus.Running:
                continue
            else:
                status, ended = row.status, _when(row.finished_at) or step_dir.stat().st_mtime
            out.append(KeptFolder(run_dir.name, step_dir.name, step_dir, status, ended, disk_usage(step_dir)))
    return sorted(out, key=lambda f: f.ended)


def bytes_by_run(ledger, runs_dir) -> dict[str, int]:
    """run id -> disk space its kept step folders hold."""
    out: dict[str, int] = {}
    for f in kept_folders(ledger, runs_dir):
        out[f.run_id] = out.get(f.run_id, 0) + f.bytes
    return out


def _writable_and_retry(func, path, _exc):
    """rmtree's error handler: a read-only folder (a step may chmod its own) is made writable."""
    parent = os.path.dirname(path)
    os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
    func(path)


def remove_older_than(ledger, runs_dir, seconds: float, now: float | None = None,
                      dry_run: bool = False) -> tuple[list[KeptFolder], list[KeptFolder]]:
    """(removed, kept): kept folders whose step ended more than `seconds` ago are removed."""
    now = time.time() if now is None else now
    removed, kept = [], []
    for f in kept_folders(ledger, runs_dir):
        if now - f.ended <= seconds:
            kept.append(f)
            continue
        if not dry_run:
            if sys.version_info >= (3, 12):
                shutil.rmtree(f.path, onexc=_writable_and_retry)
            else:
                shutil.rmtree(f.path, onerror=_writable_and_retry)
        removed.append(f)
    if not dry_run:
        remove_ended_run_folders(ledger, runs_dir, seconds, now)
    return removed, kept


def remove_ended_run_folders(ledger, runs_dir, seconds: float, now: float) -> None:
    """Remove the folders of runs that ended more than `seconds` ago and hold no step folder
    any more: what is left there is the executor's log (`executor.log`, executor/launch.py). A
    run that has not ended (running, queued, orphaned) keeps its log: it tells why its executor
    stopped."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return
    for run_dir in runs_dir.iterdir():
        if not run_dir.is_dir() or any(p.is_dir() for p in run_dir.iterdir()):
            continue
        run = ledger.run(run_dir.name)
        if run is None or run.status not in RunStatus.terminal():
            continue
        ended = _when(run.finished_at)
        if ended is None or now - ended <= seconds:
            continue
        for leftover in run_dir.iterdir():
            leftover.unlink(missing_ok=True)
        try:
            run_dir.rmdir()
        except OSError:  # an executor of the run (a resume) wrote into it meanwhile
            pass


def usage(runs_dir) -> dict:
    """What `.canalis/runs/` holds: run folders, step working folders in them, and executors'
    logs, with the disk space of each (`canalis gc` reports it)."""
    runs_dir = Path(runs_dir)
    out = {"run_folders": 0, "step_folders": 0, "step_folders_bytes": 0, "executor_logs": 0, "executor_logs_bytes": 0}
    if not runs_dir.is_dir():
        return out
    for run_dir in runs_dir.iterdir():
        if not run_dir.is_dir():
            continue
        out["run_folders"] += 1
        for entry in run_dir.iterdir():
            if entry.is_dir():
                out["step_folders"] += 1
                out["step_folders_bytes"] += disk_usage(entry)
            elif entry.name == "executor.log":
                out["executor_logs"] += 1
                out["executor_logs_bytes"] += entry.stat().st_size
    return out
