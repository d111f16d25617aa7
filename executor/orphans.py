"""Step processes an executor left behind when it died.

Steps run in process groups of their own (so that a cancel stops everything a step started),
which also means they outlive an executor killed with SIGKILL. `step.started` records each
step's pid; before a run nobody executes is canceled or resumed, the steps it still shows as
running are looked up on this host and stopped. A pid is only signaled when the process's
environment names that very step run (pids are reused), which needs /proc (Linux).
"""
from __future__ import annotations

import os
import time
from typing import Iterable

from canalis.ledger.rows import RunRow
from canalis.ledger.status import RunStatus

# sockets, signals and the step runner are imported by the functions that look at processes:
# the status of a run the ledger shows ended (what most readers ask) needs none of them

GRACE_S = 10.0


def executor_alive(run_row: RunRow) -> bool:
    """Whether the process that last worked on the run still exists. A run executed on
    another host cannot be checked from here and counts as alive."""
    import socket

    pid, host = run_row.pid, run_row.host
    if host and host != socket.gethostname():
        return True
    return bool(pid) and process_alive(int(pid))


def process_alive(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie waiting to be reaped has);
    a process of another user counts as alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """An exited process its parent has not reaped yet (it executes nothing any more). Known
    through /proc (Linux); elsewhere a process that exists counts as running."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 1:].split()[:1] == [b"Z"]


def effective_status(row: RunRow) -> RunStatus:
    """A run row's status, with the derived status `Orphaned` for a run the ledger shows as
    Queued or Running whose executor process is gone (finish it with `canalis resume RUN`).
    `Orphaned` is never recorded: it is what the ledger and the process table say together."""
    if row.status in RunStatus.active() and not executor_alive(row):
        return RunStatus.Orphaned
    return row.status


def _is_step(pid: int, step_run_id: str) -> bool:
    from canalis.executor.channel import ENV_VAR

    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            entries = f.read().split(b"\0")
    except OSError:  # gone, not ours, or no /proc
        return False
    prefix = f"{ENV_VAR}=".encode()
    return any(e.startswith(prefix) and step_run_id.encode() in e for e in entries)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_leftover_steps(host: str | None, steps: Iterable[tuple[str, int | None]],
                        grace_s: float = GRACE_S) -> list[int]:
    """Stop the process groups of `steps` ((step_run_id, pid) pairs of a run last executed on
    `host`) that still run on this host (SIGTERM, SIGKILL after `grace_s`); returns the pids
    that were signaled."""
    import signal
    import socket

    from canalis.executor.runners.local import signal_group

    if host and host != socket.gethostname():
        return []
    pids = [int(pid) for step_run_id, pid in steps if pid and _is_step(int(pid), step_run_id)]
    for pid in pids:
        signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while any(_group_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in pids:
        signal_group(pid, signal.SIGKILL)
    return pids
