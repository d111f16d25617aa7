"""The options a run was submitted with hold when it is resumed, and `resume
--regenerate-outputs` runs the remaining steps without reuse. The run's executor is killed
with SIGKILL mid-step (the process recorded in its run.started), then `canalis resume`."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from canalis import layout
from canalis.core import Workspace
from tests.canalis.conftest import script, write
from tests.canalis.conftest import wait_for as wait_until

PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
src = os.path.join(here, "src")
a, b, c = (OutputFileDatasetConfig(name=n) for n in ("a", "b", "c"))
pipeline = Pipeline(ws, [
    PythonScriptStep(name="quick", script_name="work.py", source_directory=src, arguments=["-", a]),
    PythonScriptStep(name="hold", script_name="hold.py", source_directory=src, arguments=[a.as_input(), b],
                     allow_reuse=False),
    PythonScriptStep(name="last", script_name="work.py", source_directory=src, arguments=[b.as_input(), c]),
])

b2, c2 = OutputFileDatasetConfig(name="b2"), OutputFileDatasetConfig(name="c2")
branches = Pipeline(ws, [
    PythonScriptStep(name="bad", script_name="boom.py", source_directory=src),
    PythonScriptStep(name="hold", script_name="hold.py", source_directory=src, arguments=["-", b2]),
    PythonScriptStep(name="after", script_name="work.py", source_directory=src, arguments=[b2.as_input(), c2]),
])
"""
WORK = """
import os, sys
inp, out = sys.argv[1], sys.argv[2]
data = open(os.path.join(inp, "v")).read() if inp != "-" else ""
open(os.path.join(out, "v"), "w").write(data + "w")
"""
# with HOLD set (a file for its pid), the step waits until it is stopped
HOLD = """
import os, sys, time
if os.environ.get("HOLD"):
    open(os.environ["HOLD"], "a").write(f"{os.getpid()}\\n")
    time.sleep(120)
inp, out = sys.argv[1], sys.argv[2]
data = open(os.path.join(inp, "v")).read() if inp != "-" else ""
open(os.path.join(out, "v"), "w").write(data + "h")
"""
BOOM = """
import sys
sys.exit(3)
"""


def canalis(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "canalis", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=180)


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    script(root / "src", "work.py", WORK)
    script(root / "src", "hold.py", HOLD)
    script(root / "src", "boom.py", BOOM)
    return root




def _step_events(ws, run_id, type_) -> list[str]:
    return [r.payload["step_name"] for r in ws.ledger.events(stream=f"run:{run_id}", type=type_)]


def interrupted_run(root, tmp_path, *submit_args, wait_for=()) -> str:
    """Submit with the `hold` step held, kill the run's executor with SIGKILL once `hold` has
    started (and the steps in `wait_for` have failed); the run id."""
    ws = Workspace(path=root)
    before = {r.run_id for r in ws.ledger.runs()}
    pids = tmp_path / "held.pids"
    proc = subprocess.Popen([sys.executable, "-m", "canalis", "submit", *submit_args, "-q"], cwd=root,
                            env={**os.environ, "HOLD": str(pids)}, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: [r for r in ws.ledger.runs() if r.run_id not in before], "the run")
        (run_id,) = [r.run_id for r in ws.ledger.runs() if r.run_id not in before]
        wait_until(lambda: "hold" in _step_events(ws, run_id, "step.started") and pids.exists()
              and all(s in _step_events(ws, run_id, "step.failed") for s in wait_for), "the held step")
        executor = ws.ledger.run(run_id).pid  # the process that recorded run.started
        os.kill(executor, signal.SIGKILL)
        wait_until(lambda: not _alive(executor), "the executor to die")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    return run_id


def _alive(pid) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of nobody here still answers kill(0): read its state
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _stop_held(tmp_path):
    pids = tmp_path / "held.pids"
    for pid in (pids.read_text().split() if pids.exists() else []):
        try:
            os.killpg(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def _steps(summary) -> list[tuple[str, str]]:
    return [(s["step"], s["status"]) for s in summary["steps"]]


@pytest.mark.slow
def test_resume_regenerate_outputs_runs_the_remaining_steps_without_reuse(project, tmp_path, counter):
    root, ws = project, Workspace(path=project)
    first = canalis("submit", "pipeline.py", "-e", "x", "-q", cwd=root)
    assert first.returncode == 0, first.stderr  # every step of the pipeline is now in the reuse index
    try:
        run_id = interrupted_run(root, tmp_path, "pipeline.py", "-e", "x")
    finally:
        _stop_held(tmp_path)
    counter.reset()
    out = canalis("resume", run_id, "--regenerate-outputs", "--json", "-q", cwd=root)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["status"] == "Completed"
    # quick was reused before the kill and keeps that; last has the same key as in the first
    # run, yet runs: the resume asked for no reuse
    assert _steps(summary) == [("quick", "Reused"), ("hold", "Abandoned"), ("hold", "Completed"), ("last", "Completed")]
    assert sorted(counter.lines()) == ["hold.py", "work.py"]
    (request,) = [r.payload for r in ws.ledger.events(stream=f"run:{run_id}", type="run.resume_requested")]
    assert request["regenerate_outputs"] is True and request["pid"] > 0
    why = json.loads(canalis("why", run_id, "last", "--json", cwd=root).stdout)
    assert why["decision"] == "ran" and "regenerate_outputs=True" in why["reason"]


@pytest.mark.slow
def test_resume_keeps_regenerate_outputs_recorded_at_submit(project, tmp_path, counter):
    root, ws = project, Workspace(path=project)
    assert canalis("submit", "pipeline.py", "-e", "x", "-q", cwd=root).returncode == 0
    try:
        run_id = interrupted_run(root, tmp_path, "pipeline.py", "-e", "x", "--regenerate-outputs")
    finally:
        _stop_held(tmp_path)
    counter.reset()
    out = canalis("resume", run_id, "--json", "-q", cwd=root)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert _steps(summary) == [("quick", "Completed"), ("hold", "Abandoned"), ("hold", "Completed"),
                               ("last", "Completed")]
    assert sorted(counter.lines()) == ["hold.py", "work.py"]
    (request,) = [r.payload for r in ws.ledger.events(stream=f"run:{run_id}", type="run.resume_requested")]
    assert request["regenerate_outputs"] is True


@pytest.mark.slow
def test_resume_keeps_continue_on_step_failure_recorded_at_submit(project, tmp_path, counter):
    root, ws = project, Workspace(path=project)
    try:
        run_id = interrupted_run(root, tmp_path, "pipeline.py:branches", "-e", "x", "--continue-on-step-failure",
                                 "--max-concurrent-steps", "2", wait_for=["bad"])
    finally:
        _stop_held(tmp_path)
    out = canalis("resume", run_id, "--json", "-q", cwd=root)
    assert out.returncode == 1, out.stderr  # a step failed: the run fails, after running all it could
    summary = json.loads(out.stdout)
    assert summary["status"] == "Failed"
    statuses = dict(_steps(summary))
    assert statuses["after"] == "Completed" and statuses["bad"] == "Failed"
    (request,) = [r.payload for r in ws.ledger.events(stream=f"run:{run_id}", type="run.resume_requested")]
    assert request["regenerate_outputs"] is False
