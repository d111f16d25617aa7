"""Canceling runs: in-process (`Run.cancel`), from another process (`canalis cancel`),
Ctrl-C on `canalis submit`, and runs nobody executes any more."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from canalis import layout
from canalis.core import Experiment, Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.exceptions import UserErrorException
from canalis.ledger import events as ev
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import kill_executors, script, terminal_signals, wait_for, write

# The slow step starts a grandchild (same process group) and records both pids, so the test
# can check that a cancel stops the whole group.
SLOW = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(os.environ["STEP_PIDS"], "a").write(f"{os.getpid()} {child.pid}\\n")
print("working", flush=True)
time.sleep(120)
"""
QUICK = """
import os, sys
open(os.path.join(sys.argv[-1], "v"), "w").write("x")
"""
PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
a = OutputFileDatasetConfig(name="a")
b = OutputFileDatasetConfig(name="b")
pipeline = Pipeline(ws, [
    PythonScriptStep(name="slow", script_name="slow.py", source_directory=os.path.join(here, "s"), arguments=[a]),
    PythonScriptStep(name="after", script_name="quick.py", source_directory=os.path.join(here, "q"), arguments=[a.as_input(), b]),
])
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is gone for our purposes
        return f.read().split(")")[-1].split()[0] != "Z"




def step_pids(path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def kill_leftovers(pids):
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def statuses(ws, run_id):
    return {r.step_name: r.status for r in ws.ledger.step_runs(run_id)}


def test_run_cancel_stops_the_running_step_and_its_children(ws, src, tmp_path, monkeypatch, counter):
    pids_file = tmp_path / "pids"
    monkeypatch.setenv("STEP_PIDS", str(pids_file))
    write(src / "slow.py", SLOW)
    script(src, "quick.py", QUICK)
    a, b = OutputFileDatasetConfig(name="a"), OutputFileDatasetConfig(name="b")
    run = Experiment(ws, "cancel").submit(Pipeline(ws, [
        PythonScriptStep(name="slow", script_name="slow.py", source_directory=str(src), arguments=[a]),
        PythonScriptStep(name="after", script_name="quick.py", source_directory=str(src), arguments=[a.as_input(), b]),
    ]))
    try:
        wait_for(lambda: len(step_pids(pids_file)) == 2, what="the slow step and its child")
        t0 = time.monotonic()
        run.cancel(reason="wrong parameters")
        assert run.wait_for_completion(raise_on_error=False) == "Canceled"
        assert time.monotonic() - t0 < 30  # SIGTERM stops a sleeping Python step at once
        wait_for(lambda: not any(alive(p) for p in step_pids(pids_file)), "the step's process group to exit", 30)
    finally:
        kill_leftovers(step_pids(pids_file))
    assert statuses(ws, run.id) == {"slow": "Canceled", "after": "Skipped"}
    assert counter.lines() == []  # quick.py never ran
    row = ws.ledger.run(run.id)
    assert row.status == "Canceled" and row.error == "wrong parameters"
    types = [r.type for r in ws.ledger.events(stream=f"run:{run.id}")]
    assert types.index("run.cancel_requested") < types.index("step.canceled") < types.index("run.canceled")
    canceled = next(ws.ledger.events(stream=f"run:{run.id}", type="step.canceled")).payload
    assert canceled["exit_code"] == -signal.SIGTERM and ws.store.get_bytes(canceled["stdout"]) == b"working\n"
    with pytest.raises(UserErrorException, match="already ended"):
        run.cancel()


def canalis(*args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "canalis", *args], cwd=cwd, capture_output=True, text=True, **kw)


def _project(tmp_path):
    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    write(root / "s" / "slow.py", SLOW)
    write(root / "q" / "quick.py", QUICK)
    return root


@contextlib.contextmanager
def slow_submit(root, pids_file):
    """`canalis submit` of the slow pipeline in its own session, once its slow step and that
    step's child run; on the way out, every process it started is gone, by pid."""
    proc = subprocess.Popen([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "c", "-q"], cwd=root,
                            env={**os.environ, "STEP_PIDS": str(pids_file)}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=terminal_signals)
    try:
        wait_for(lambda: len(step_pids(pids_file)) == 2, what="the slow step and its child")
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        kill_executors(root)
        kill_leftovers(step_pids(pids_file))


@pytest.mark.slow
def test_canalis_cancel_from_another_process(tmp_path):
    root, pids_file = _project(tmp_path), tmp_path / "pids"
    with slow_submit(root, pids_file) as proc:
        run_id = Workspace(path=root).ledger.runs()[0].run_id
        out = canalis("cancel", run_id, "--reason", "stop it", "--json", cwd=root, timeout=120)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {"run_id": run_id, "status": "Canceled"}
        assert proc.wait(timeout=60) == 1  # the submit reports a run that did not complete
        wait_for(lambda: not any(alive(p) for p in step_pids(pids_file)), "the step's process group to exit", 30)
    ws = Workspace(path=root)
    assert statuses(ws, run_id) == {"slow": "Canceled", "after": "Skipped"}
    requested = next(ws.ledger.events(stream=f"run:{run_id}", type="run.cancel_requested")).payload
    assert requested["reason"] == "stop it" and requested["pid"] != proc.pid
    again = canalis("cancel", run_id, cwd=root)
    assert again.returncode == 1 and "already ended" in again.stderr


@pytest.mark.slow
def test_ctrl_c_on_submit_cancels_the_run(tmp_path):
    root, pids_file = _project(tmp_path), tmp_path / "pids"
    with slow_submit(root, pids_file) as proc:
        os.kill(proc.pid, signal.SIGINT)  # what a terminal sends to the submit on Ctrl-C
        assert proc.wait(timeout=60) != 0
        wait_for(lambda: not any(alive(p) for p in step_pids(pids_file)), "the step's process group to exit", 30)
    ws = Workspace(path=root)
    run_id = ws.ledger.runs()[0].run_id
    assert ws.ledger.run(run_id).status == "Canceled"
    assert ws.ledger.run(run_id).error == "interrupted (Ctrl-C)"
    assert statuses(ws, run_id) == {"slow": "Canceled", "after": "Skipped"}


def test_a_run_nobody_executes_is_canceled_at_once(ws):
    ws.ledger.append_many([
        ev.RunSubmitted(run_id="r1", experiment="e", parameters={}),
        ev.RunStarted(run_id="r1", host=os.uname().nodename, pid=2**22 + 12345, resumed=False),  # no such process
        ev.StepStarted(run_id="r1", step_run_id="s1", step_name="train", reuse_key="k" * 64, inputs=[]),
    ])
    out = subprocess.run([sys.executable, "-m", "canalis", "cancel", "r1", "--json", "--workspace", str(ws.root)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["status"] == "Canceled"
    assert ws.ledger.run("r1").status == "Canceled"
    assert statuses(ws, "r1") == {"train": "Abandoned"}


@pytest.mark.slow
def test_cancel_of_an_orphaned_run_stops_the_steps_it_left_running(tmp_path):
    root, pids_file = _project(tmp_path), tmp_path / "pids"
    with slow_submit(root, pids_file) as proc:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kill_executors(root)  # the executor dies; its step (own process group) does not
        step, child = step_pids(pids_file)
        assert alive(step) and alive(child)
        ws = Workspace(path=root)
        run_id = ws.ledger.runs()[0].run_id
        assert next(ws.ledger.events(type="step.started")).payload["pid"] == step
        out = canalis("cancel", run_id, "--json", cwd=root, timeout=120)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"] == "Canceled"
        assert not alive(step) and not alive(child)
    assert statuses(ws, run_id) == {"slow": "Abandoned"}
    abandoned = next(ws.ledger.events(stream=f"run:{run_id}", type="step.abandoned")).payload
    assert abandoned["reason"].endswith("its process, still running, was stopped")
