"""Starting a run's executor: one detached process per run.

A submit (resume, reproduce) records the run, then starts its executor as a process of its
own: a new session (so the submitter's Ctrl-C, its terminal closing and its death do not
reach it), stdin closed, stdout and stderr appended to `.canalis/runs/<run>/executor.log`.
What the process runs (`argv`) is given by the face, which owns the entry point; this module
only starts it and waits until it has taken the run: recorded `run.started` with its own
pid, or ended the run (a run canceled while queued). If the process exits before that,
`ExecutorNotStarted` names the run and quotes the end of its log.

The process may have started the executor ahead, before the run was recorded, as a standby
that takes the run's arguments on its stdin (executor/standby.py). The starting process
reaps the executor when it exits (a thread waits for it): an exited
child that is never reaped stays in the process table as a zombie, which would look alive
to `executor/orphans.py`.
"""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

from canalis.executor import standby
from canalis.executor.errors import ExecutorNotStarted
from canalis.executor.records import record
from canalis.executor.runlog import LOG_NAME, log_path  # noqa: F401  (where they were first defined)
from canalis.ledger.status import RunStatus

#: the end of an executor's log quoted when it stopped early
TAIL_BYTES = 4096
#: pause between two looks at the ledger while waiting for the executor to start (a read by
#: primary key: cheap next to the ~0.2 s a Python process takes to start and import)
POLL_S = 0.005


@record
class ExecutorProcess:
    """The executor process of a run, as started by this process."""

    run_id: str
    pid: int
    log_path: Path
    popen: subprocess.Popen
    #: set when the process has exited (and been reaped): the run's end is recorded by then
    exited: threading.Event

    def exit_code(self) -> int | None:
        return self.popen.poll()


def log_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last `limit` bytes of an executor's log, as text ("" when there is none)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - limit))
            data = f.read()
    except OSError:
        return ""
    if len(data) == limit and b"\n" in data:
        data = data[data.index(b"\n") + 1:]  # start at a whole line
    return data.decode(errors="replace").strip()


def start(ledger, base_argv: list[str], args: list[str], runs_dir, run_id: str) -> ExecutorProcess:
    """Start the executor of `run_id` (`base_argv` + `args`), detached, and return once it has
    taken the run. A standby this process started ahead for the workspace (executor/standby.py)
    is handed the run instead, when there is one still alive."""
    log = log_path(runs_dir, run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    before = ledger.run(run_id)
    ended_before = before.finished_at if before is not None else None
    ahead = standby.take(base_argv)
    if ahead is not None and ahead.hand(args):
        proc = ExecutorProcess(run_id, ahead.pid, log, ahead.popen, ahead.exited)
    else:
        with open(log, "ab") as out:
            # cwd: the run's folder, which holds no package that could shadow canalis on sys.path
            popen = subprocess.Popen([*base_argv, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     cwd=log.parent, start_new_session=True, close_fds=True)
        proc = ExecutorProcess(run_id, popen.pid, log, popen, standby.reaped(popen))
    _wait_taken(ledger, proc, ended_before)
    return proc


def _taken(ledger, proc: ExecutorProcess, ended_before: str | None) -> bool:
    """The executor recorded `run.started` (the run's pid is its own), or the run ended since
    the executor was started (canceled while queued: the executor then exits without starting it)."""
    row = ledger.run(proc.run_id)
    if row is None:
        return False
    if row.pid == proc.pid and row.status != RunStatus.Queued:
        return True
    return row.status in RunStatus.terminal() and row.finished_at != ended_before


def _wait_taken(ledger, proc: ExecutorProcess, ended_before: str | None) -> None:
    while not _taken(ledger, proc, ended_before):
        code = proc.exit_code()
        if code is not None:
            if _taken(ledger, proc, ended_before):
                return
            tail = log_tail(proc.log_path)
            raise ExecutorNotStarted(
                f"the executor of run {proc.run_id} stopped (exit code {code}) before it started the run; "
                f"its log {proc.log_path} ends with:\n{tail or '(nothing)'}\n"
                f"once the cause is fixed, `canalis resume {proc.run_id}` starts it again"
            )
        time.sleep(POLL_S)
