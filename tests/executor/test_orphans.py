"""`Orphaned` is derived from a run's row and the process table, never recorded."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from canalis.executor.orphans import effective_status
from canalis.ledger import Ledger
from canalis.ledger import events as ev
from canalis.ledger.status import RunStatus


def test_a_running_run_whose_executor_is_gone_is_orphaned_but_stays_running_in_the_ledger(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that was an executor and no longer exists
    here = socket.gethostname()
    with Ledger(tmp_path / "ledger.db") as led:
        led.append(ev.RunSubmitted(run_id="r1", experiment="e", parameters={}, host=here, pid=gone.pid))
        assert effective_status(led.run("r1")) is RunStatus.Orphaned  # queued, nobody will start it
        led.append(ev.RunStarted(run_id="r1", host=here, pid=gone.pid))
        row = led.run("r1")
        assert row.status is RunStatus.Running and effective_status(row) is RunStatus.Orphaned
        led.append(ev.RunStarted(run_id="r1", host=here, pid=os.getpid(), resumed=True))
        assert effective_status(led.run("r1")) is RunStatus.Running  # its executor is alive
        led.append(ev.RunStarted(run_id="r1", host=f"not-{here}", pid=gone.pid, resumed=True))
        assert effective_status(led.run("r1")) is RunStatus.Running  # another host's process cannot be checked
        led.append(ev.RunStarted(run_id="r1", host=here, pid=gone.pid, resumed=True))
        led.append(ev.RunCompleted(run_id="r1", duration_s=1.0))
        assert effective_status(led.run("r1")) is RunStatus.Completed  # an ended run is never orphaned
        stored = {r["status"] for r in led.projection_rows()["runs"]}
        assert stored == {"Completed"} and RunStatus.Orphaned not in {r.status for r in led.runs()}


def test_an_executor_that_exited_but_was_not_reaped_yet_is_gone(tmp_path):
    """An exited child its parent has not waited for stays in the process table as a zombie;
    it executes nothing, so its run is Orphaned."""
    import time

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # exited, and not reaped: nobody has called wait()
            with open(f"/proc/{child.pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        else:
            raise AssertionError("the child did not exit")
        os.kill(child.pid, 0)  # the pid still answers
        here = socket.gethostname()
        with Ledger(tmp_path / "ledger.db") as led:
            led.append(ev.RunSubmitted(run_id="r1", experiment="e", parameters={}, host=here, pid=os.getpid()))
            led.append(ev.RunStarted(run_id="r1", host=here, pid=child.pid))
            assert effective_status(led.run("r1")) is RunStatus.Orphaned
    finally:
        child.wait()


def test_the_host_a_run_records_is_the_one_the_orphan_check_compares_with(tmp_path):
    """The executor names its host without importing socket (engine.host_name); the orphan check
    compares with socket's name: a run whose executor is gone, recorded as a submit records it,
    is seen as this host's and orphaned (another host's would count as alive)."""
    from canalis.executor.engine import host_name

    assert host_name() == socket.gethostname()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with Ledger(tmp_path / "ledger.db") as led:
        led.append(ev.RunSubmitted(run_id="r1", experiment="e", parameters={}, host=host_name(), pid=gone.pid))
        assert effective_status(led.run("r1")) is RunStatus.Orphaned
