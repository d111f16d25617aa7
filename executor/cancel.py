"""Canceling a run from any process: `canalis cancel`, `Run.cancel()` on a run executing
elsewhere.

A cancel is a request recorded in the ledger (`run.cancel_requested`); the executor of the
run sees it within a second, stops the running steps and records `run.canceled`. A run that
nobody executes any more (queued and never started, or its executor is gone) is canceled
at once: step processes it left running on this host are stopped (executor/orphans.py),
its running steps are recorded as abandoned, then the run as canceled.
"""
from __future__ import annotations

import getpass
import os
import socket

from canalis.executor.errors import ExecutorError
from canalis.executor.orphans import stop_leftover_steps
from canalis.executor.orphans import executor_alive
from canalis.ledger import events as ev
from canalis.ledger.status import RunStatus, StepStatus

#: what `request_cancel` returns when the run's executor will act on the request
CANCEL_REQUESTED = "CancelRequested"


class RunNotCancelable(ExecutorError):
    pass


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return None


def request_cancel(ledger, run_id: str, reason: str | None = None) -> str:
    """Record a cancel request; returns `RunStatus.Canceled` when the run was canceled here and
    now, `CANCEL_REQUESTED` ("CancelRequested") when its executor will act on it."""
    row = ledger.run(run_id)
    if row is None:
        raise RunNotCancelable(f"there is no run {run_id!r}; list runs with `canalis runs`")
    if row.status in RunStatus.terminal():
        raise RunNotCancelable(f"run {run_id} has already ended ({row.status}); there is nothing to cancel")
    reason = reason or "canceled by the user"
    ledger.append(ev.RunCancelRequested(run_id=run_id, reason=reason, host=socket.gethostname(), pid=os.getpid(),
                                        user=_user()))
    if row.status == RunStatus.Running and executor_alive(row):
        return CANCEL_REQUESTED
    running = [s for s in ledger.step_runs(run_id) if s.status == StepStatus.Running]
    stopped = set(stop_leftover_steps(row.host, [(s.step_run_id, s.pid) for s in running]))
    abandoned = [
        ev.StepAbandoned(run_id=run_id, step_run_id=s.step_run_id, step_name=s.step_name,
                         reason="the run was canceled while nobody executed it"
                         + ("; its process, still running, was stopped" if s.pid in stopped else ""))
        for s in running
    ]
    ledger.append_many([*abandoned, ev.RunCanceled(run_id=run_id, reason=reason)])
    return RunStatus.Canceled
