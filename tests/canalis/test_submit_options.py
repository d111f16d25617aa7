"""Submit options. `continue_on_step_failure` both ways: off (the default), no new step
starts after the first failure while steps already running finish; on, every step whose
inputs exist runs. `regenerate_outputs` runs every step."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from canalis.core import Experiment, Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import script, statuses, write

OK = """
import os, sys
for p in sys.argv[1:]:
    if p.startswith("/") and os.access(p, os.W_OK):
        open(os.path.join(p, "x"), "w").write("x")
"""
BOOM = """
import sys
print("boom", file=sys.stderr)
sys.exit(3)
"""
# waits (at most a minute) for the file named by RELEASE, then writes its output
HOLD = """
import os, sys, time
deadline = time.time() + 60
while not os.path.exists(os.environ["RELEASE"]):
    if time.time() > deadline:
        sys.exit("never released")
    time.sleep(0.05)
open(os.path.join(sys.argv[1], "x"), "w").write("held")
"""


def _wait_for_event(ws, run_id, type_, step, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r.payload.get("step_name") == step for r in ws.ledger.events(stream=f"run:{run_id}", type=type_)):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {type_} for step {step!r} in run {run_id}")


def _skip_reasons(ws, run_id) -> dict:
    return {r.payload["step_name"]: r.payload["reason"]
            for r in ws.ledger.events(stream=f"run:{run_id}", type="step.skipped")}


def test_off_no_new_step_starts_after_a_failure_and_running_steps_finish(ws, src, counter, tmp_path, monkeypatch):
    release = tmp_path / "release"
    monkeypatch.setenv("RELEASE", str(release))
    script(src, "boom.py", BOOM)
    script(src, "hold.py", HOLD)
    script(src, "ok.py", OK)
    held, after = OutputFileDatasetConfig(name="held"), OutputFileDatasetConfig(name="after")
    pipeline = Pipeline(ws, [
        PythonScriptStep(name="bad", script_name="boom.py", source_directory=str(src)),
        PythonScriptStep(name="slow", script_name="hold.py", source_directory=str(src), arguments=[held]),
        # independent of both: ready from the start, but two steps run at once and it is third
        PythonScriptStep(name="other", script_name="ok.py", source_directory=str(src), arguments=["other"]),
        PythonScriptStep(name="next", script_name="ok.py", source_directory=str(src), arguments=[held.as_input(), after]),
    ])
    run = Experiment(ws, "exp").submit(pipeline, max_concurrent_steps=2)
    _wait_for_event(ws, run.id, "step.failed", "bad")
    _wait_for_event(ws, run.id, "step.started", "slow")
    release.write_text("go")  # the running step finishes after the failure was recorded
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    assert statuses(run) == {"bad": "Failed", "slow": "Completed", "other": "Skipped", "next": "Skipped"}
    assert sorted(counter.lines()) == ["boom.py", "hold.py"]  # `other` never started
    reasons = _skip_reasons(ws, run.id)
    assert "continue_on_step_failure is off" in reasons["other"]
    assert "continue_on_step_failure is off" in reasons["next"]
    submitted = next(ws.ledger.events(stream=f"run:{run.id}", type="run.submitted")).payload
    assert submitted["plan"]["options"]["continue_on_step_failure"] is False


def test_off_with_one_step_at_a_time_starts_nothing_after_the_failure(ws, src, counter):
    script(src, "boom.py", BOOM)
    script(src, "ok.py", OK)
    pipeline = Pipeline(ws, [
        PythonScriptStep(name="bad", script_name="boom.py", source_directory=str(src)),
        PythonScriptStep(name="good", script_name="ok.py", source_directory=str(src), arguments=["g"]),
        PythonScriptStep(name="also", script_name="ok.py", source_directory=str(src), arguments=["a"]),
    ])
    run = Experiment(ws, "exp").submit(pipeline, max_concurrent_steps=1)
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    assert statuses(run) == {"bad": "Failed", "good": "Skipped", "also": "Skipped"}
    assert counter.lines() == ["boom.py"]


def _branches(ws, src):
    """bad -> bad_child, good -> good_child: two independent branches, one failing."""
    script(src, "boom.py", BOOM)
    script(src, "ok.py", OK)
    a, b, c, d = (OutputFileDatasetConfig(name=n) for n in ("a", "b", "c", "d"))
    return Pipeline(ws, [
        PythonScriptStep(name="bad", script_name="boom.py", source_directory=str(src), arguments=[a]),
        PythonScriptStep(name="bad_child", script_name="ok.py", source_directory=str(src), arguments=[a.as_input(), b]),
        PythonScriptStep(name="good", script_name="ok.py", source_directory=str(src), arguments=[c]),
        PythonScriptStep(name="good_child", script_name="ok.py", source_directory=str(src), arguments=[c.as_input(), d]),
    ])


def test_on_the_independent_branch_completes_and_the_failed_ones_dependants_are_skipped(ws, src, counter):
    run = _branches(ws, src).submit("exp", continue_on_step_failure=True, max_concurrent_steps=1)
    assert run.wait_for_completion(raise_on_error=False) == "Failed"
    assert statuses(run) == {"bad": "Failed", "bad_child": "Skipped", "good": "Completed", "good_child": "Completed"}
    assert sorted(counter.lines()) == ["boom.py", "ok.py", "ok.py"]
    assert "bad" in _skip_reasons(ws, run.id)["bad_child"]
    submitted = next(ws.ledger.events(stream=f"run:{run.id}", type="run.submitted")).payload
    assert submitted["plan"]["options"]["continue_on_step_failure"] is True
    assert run.get_details()["error"].startswith("step(s) failed: bad")


PIPELINE_FILE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
src = os.path.join(here, "src")
a, b, c, d = (OutputFileDatasetConfig(name=n) for n in ("a", "b", "c", "d"))
pipeline = Pipeline(ws, [
    PythonScriptStep(name="bad", script_name="boom.py", source_directory=src, arguments=[a]),
    PythonScriptStep(name="bad_child", script_name="ok.py", source_directory=src, arguments=[a.as_input(), b]),
    PythonScriptStep(name="good", script_name="ok.py", source_directory=src, arguments=[c]),
    PythonScriptStep(name="good_child", script_name="ok.py", source_directory=src, arguments=[c.as_input(), d]),
])
"""


def _canalis(*args, cwd):
    return subprocess.run([sys.executable, "-m", "canalis", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ), timeout=180)


def test_cli_submit_both_ways(tmp_path, counter):
    from canalis import layout

    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE_FILE)
    script(root / "src", "boom.py", BOOM)
    script(root / "src", "ok.py", OK)
    on = _canalis("submit", "pipeline.py", "-e", "x", "--continue-on-step-failure", "--max-concurrent-steps", "1",
                  "--json", cwd=root)
    assert on.returncode == 1, on.stderr
    steps = {s["step"]: s["status"] for s in json.loads(on.stdout)["steps"]}
    assert steps == {"bad": "Failed", "bad_child": "Skipped", "good": "Completed", "good_child": "Completed"}
    off = _canalis("submit", "pipeline.py", "-e", "x", "--max-concurrent-steps", "1", "--regenerate-outputs",
                   "--json", cwd=root)
    assert off.returncode == 1, off.stderr
    steps = {s["step"]: s["status"] for s in json.loads(off.stdout)["steps"]}
    assert steps == {"bad": "Failed", "bad_child": "Skipped", "good": "Skipped", "good_child": "Skipped"}


def test_cli_submit_regenerate_outputs_runs_every_step(tmp_path, counter):
    from canalis import layout

    root = tmp_path / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE_FILE.replace("boom.py", "ok.py"))
    script(root / "src", "ok.py", OK)
    assert _canalis("submit", "pipeline.py", "-e", "x", "-q", cwd=root).returncode == 0
    again = _canalis("submit", "pipeline.py", "-e", "x", "--json", cwd=root)
    assert {s["status"] for s in json.loads(again.stdout)["steps"]} == {"Reused"}
    counter.reset()
    forced = _canalis("submit", "pipeline.py", "-e", "x", "--regenerate-outputs", "--json", cwd=root)
    assert forced.returncode == 0, forced.stderr
    summary = json.loads(forced.stdout)
    assert {s["status"] for s in summary["steps"]} == {"Completed"}
    assert counter.lines() == ["ok.py"] * 4
    submitted = next(iter(Workspace(path=root).ledger.events(stream=f"run:{summary['run_id']}", type="run.submitted")))
    assert submitted.payload["plan"]["options"]["regenerate_outputs"] is True
