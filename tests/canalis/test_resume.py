"""A run's executor (and its submitter) killed with SIGKILL mid-step, then `canalis resume`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from canalis import layout
from canalis.core import Workspace
from tests.canalis.conftest import kill_executors, script, write

PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
a, b, c = (OutputFileDatasetConfig(name=n) for n in ("a", "b", "c"))
steps = [
    PythonScriptStep(name="quick", script_name="work.py", source_directory=os.path.join(here, "q"), arguments=["fast", "-", a]),
    PythonScriptStep(name="slow", script_name="work.py", source_directory=os.path.join(here, "s"), arguments=["slow", a.as_input(), b]),
    PythonScriptStep(name="last", script_name="work.py", source_directory=os.path.join(here, "l"), arguments=["fast", b.as_input(), c]),
]
pipeline = Pipeline(ws, steps)
"""
WORK = """
import os, sys, time
speed, inp, out = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(os.path.join(inp, "v")).read() if inp != "-" else ""
if speed == "slow":
    if os.environ.get("STEP_PIDS"):
        open(os.environ["STEP_PIDS"], "a").write(f"{os.getpid()}\\n")
    time.sleep(float(os.environ.get("SLOW", "0")))  # not an argument: the reuse key stays the same
open(os.path.join(out, "v"), "w").write(data + "x")
"""


def canalis(*args, cwd, **kw):
    return subprocess.run([sys.executable, "-m", "canalis", *args], cwd=cwd, capture_output=True, text=True, **kw)


@pytest.mark.slow
def test_resume_after_sigkill_reuses_finished_steps_and_reruns_the_abandoned_one(tmp_path, counter):
    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    for d in ("q", "s", "l"):
        script(root / d, "work.py", WORK)
    proc = subprocess.Popen([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "crash", "-q"], cwd=root,
                            env={**os.environ, "SLOW": "60", "STEP_PIDS": str(tmp_path / "pids")}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ws = Workspace(path=root)
    deadline = time.time() + 60
    while time.time() < deadline:
        started = [r.payload["step_name"] for r in ws.ledger.events(type="step.started")]
        if "slow" in started and (tmp_path / "pids").exists():
            break
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        kill_executors(root)
        raise AssertionError("the slow step never started")
    os.killpg(proc.pid, signal.SIGKILL)  # the submitting process, by its group id
    proc.wait()
    (executor,) = kill_executors(root)  # and the run's executor (a session of its own): a crash
    assert ws.ledger.run(ws.ledger.runs()[0].run_id).pid == executor
    (step_pid,) = [int(p) for p in (tmp_path / "pids").read_text().split()]
    try:
        _resume_and_check(root, ws, counter, step_pid)
    finally:
        try:  # the step runs in a process group of its own: resume stops it, or this does
            os.killpg(step_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _resume_and_check(root, ws, counter, step_pid):
    run_id = ws.ledger.runs()[0].run_id
    slow_started = next(r.payload for r in ws.ledger.events(type="step.started") if r.payload["step_name"] == "slow")
    assert slow_started["pid"] == step_pid
    os.kill(step_pid, 0)  # the executor is gone, its step still runs

    shown = json.loads(canalis("show", run_id, "--json", cwd=root).stdout)
    assert shown["status"] == "Orphaned"
    assert json.loads(canalis("runs", "--json", cwd=root).stdout)[0]["status"] == "Orphaned"

    counter.reset()
    out = canalis("resume", run_id, "--json", "-q", cwd=root, env={**os.environ, "SLOW": "0"}, timeout=120)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["status"] == "Completed"
    by_step = [(s["step"], s["status"]) for s in summary["steps"]]
    assert by_step == [("quick", "Completed"), ("slow", "Abandoned"), ("slow", "Completed"), ("last", "Completed")]
    abandoned = next(r.payload for r in ws.ledger.events(stream=f"run:{run_id}", type="step.abandoned"))
    assert abandoned["reason"].endswith("its process, still running, was stopped")
    with pytest.raises(ProcessLookupError):
        os.killpg(step_pid, 0)
    assert counter.lines() == ["work.py", "work.py"]  # slow and last ran; quick kept its result
    resumed = [r.payload for r in ws.ledger.events(stream=f"run:{run_id}", type="run.started")]
    assert [p["resumed"] for p in resumed] == [False, True]
    again = canalis("resume", run_id, cwd=root)
    assert again.returncode == 1 and "already ended" in again.stderr
