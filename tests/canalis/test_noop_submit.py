"""A submit whose every step is reused is recorded by the submitting process itself
(executor/noop.py): the same events, in the same order, the same projections and the same
`show --json` as when the run's executor process records it; anything else still gets its
executor process."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from canalis import layout
from tests.canalis.conftest import write

#: gives every run its executor process (executor/noop.py, docs/pipelines.md)
ALWAYS_START_ENV = "CANALIS_ALWAYS_START_EXECUTOR"

# a diamond: prep -> (left, right) -> join, so that the executor could order the middle steps
# either way; the comparison runs that executor with one step at a time (the order of the plan)
PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
p, l, r, j = (OutputFileDatasetConfig(name=n) for n in ("p", "l", "r", "j"))
src = os.path.join(here, "src")
pipeline = Pipeline(ws, [
    PythonScriptStep(name="prep", script_name="step.py", source_directory=src, arguments=["prep", p]),
    PythonScriptStep(name="left", script_name="step.py", source_directory=src, arguments=["left", p.as_input(), l]),
    PythonScriptStep(name="right", script_name="step.py", source_directory=src, arguments=["right", p.as_input(), r]),
    PythonScriptStep(name="join", script_name="step.py", source_directory=src,
                     arguments=["join", l.as_input(), r.as_input(), j]),
])
"""
STEP = """
import os, sys
name, *inputs, out = sys.argv[1:]
text = name + "".join(open(os.path.join(i, "v")).read() for i in inputs)
open(os.path.join(out, "v"), "w").write(text)
"""


def canalis(root, *args, env=None):
    return subprocess.run([sys.executable, "-m", "canalis", *args], cwd=root, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def submit(root, *args, env=None) -> dict:
    out = canalis(root, "submit", "pipeline.py", "-e", "noop", "--json", *args, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("noop") / "proj"
    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    write(root / "src" / "step.py", STEP)
    first = submit(root)
    assert first["counts"]["ran"] == 4
    return root


def _open(root):
    return layout.find(root).open_ledger()


def run_events(root, run_id) -> list:
    led = _open(root)
    try:
        return list(led.events(stream=f"run:{run_id}"))
    finally:
        led.close()


def comparable(rec, run_id, step_ids) -> tuple:
    """An event's type and payload with what differs between two runs by construction (the run
    id, step run ids, pids, times and durations) replaced by placeholders."""
    payload = dict(rec.payload)
    for k in ("pid", "duration_s"):
        payload.pop(k, None)
    text = json.dumps(payload, sort_keys=True).replace(run_id, "RUN")
    for i, sid in enumerate(step_ids):
        text = text.replace(sid, f"STEP{i}")
    return rec.type, json.loads(text)


def normalised(root, run_id) -> list:
    events = run_events(root, run_id)
    step_ids = list(dict.fromkeys(r.payload["step_run_id"] for r in events if r.payload.get("step_run_id")))
    return [comparable(r, run_id, step_ids) for r in events]


def projections(root, run_id) -> dict:
    """The run's rows in the projections, without what differs by construction (ids, pids,
    times, ledger sequence numbers: the steps are listed in the order of theirs)."""
    led = _open(root)
    try:
        run = led.run(run_id)
        steps = led.step_runs(run_id)
    finally:
        led.close()
    volatile = ("run_id", "step_run_id", "pid", "submitted_at", "started_at", "finished_at", "duration_s",
                "submitted_seq", "last_seq", "plan_order")
    row = {k: v for k, v in run.to_dict().items() if k not in volatile}
    step_rows = [{k: v for k, v in s.to_dict().items() if k not in volatile}
                 for s in sorted(steps, key=lambda s: s.plan_order)]
    return {"run": row, "steps": step_rows}


def shown(root, run_id) -> dict:
    out = canalis(root, "show", run_id, "--json")
    assert out.returncode == 0, out.stderr
    text = out.stdout.replace(run_id, "RUN")
    doc = json.loads(text)
    for k in ("duration_s", "elapsed_s", "started_at", "finished_at", "submitted_at"):
        doc.pop(k, None)
    for s in doc["steps"]:
        for k in ("step_run_id", "started_at", "finished_at", "duration_s", "elapsed_s"):
            s.pop(k, None)
    return doc


def submitted_pid(root, run_id) -> int:
    return next(r for r in run_events(root, run_id) if r.type == "run.submitted").payload["pid"]


def started_pid(root, run_id) -> int:
    return next(r for r in run_events(root, run_id) if r.type == "run.started").payload["pid"]


def test_a_fully_reused_submit_is_recorded_by_the_submitting_process(project):
    summary = submit(project)
    run_id = summary["run_id"]
    assert summary["status"] == "Completed" and summary["counts"] == {"failed": 0, "ran": 0, "reused": 4, "skipped": 0}
    # the process that recorded run.submitted also recorded run.started: no executor process
    assert started_pid(project, run_id) == submitted_pid(project, run_id)
    log = (project / ".canalis" / "runs" / run_id / "executor.log").read_text()
    assert "every step reused; recorded by the submitting process" in log


def test_both_paths_record_the_same_events_projections_and_show_output(project):
    by_executor = submit(project, "--max-concurrent-steps", "1", env={ALWAYS_START_ENV: "1"})["run_id"]
    in_process = submit(project)["run_id"]
    assert started_pid(project, by_executor) != submitted_pid(project, by_executor)  # its own process
    assert started_pid(project, in_process) == submitted_pid(project, in_process)
    ours, theirs = normalised(project, in_process), normalised(project, by_executor)
    assert [t for t, _ in ours] == ["run.submitted", "run.started", *["step.reused", "step.environment"] * 4,
                                    "run.completed"]
    assert ours == theirs
    assert projections(project, in_process) == projections(project, by_executor)
    assert shown(project, in_process) == shown(project, by_executor)


def test_a_submit_with_a_step_to_run_gets_its_executor_process(project):
    (project / "src" / "extra.txt").write_text("changes the source snapshot of every step\n")
    try:
        summary = submit(project)
    finally:
        (project / "src" / "extra.txt").unlink()
    run_id = summary["run_id"]
    assert summary["counts"]["ran"] == 4
    assert started_pid(project, run_id) != submitted_pid(project, run_id)
    # and the steps it ran are reused again by the next submit, recorded in-process
    again = submit(project)
    assert again["counts"]["reused"] == 4 and started_pid(project, again["run_id"]) == submitted_pid(project, again["run_id"])


def test_regenerate_outputs_never_takes_the_in_process_path(project):
    summary = submit(project, "--regenerate-outputs")
    assert summary["counts"]["ran"] == 4
    assert started_pid(project, summary["run_id"]) != submitted_pid(project, summary["run_id"])


def test_the_ledger_verifies_and_rebuilt_projections_equal_the_live_ones(project):
    submit(project)
    led = _open(project)
    try:
        assert led.verify().ok
        live = led.projection_rows()
        led.rebuild()
        assert led.projection_rows() == live
    finally:
        led.close()


def test_detach_prints_the_run_and_its_log_at_once(project):
    out = canalis(project, "submit", "pipeline.py", "-e", "noop", "--detach", "--json")
    assert out.returncode == 0, out.stderr
    shown_now = json.loads(out.stdout)
    assert shown_now["status"] == "Completed"  # recorded before the command printed it
    assert "recorded by the submitting process" in open(shown_now["executor_log"]).read()


def test_the_sdk_submit_of_a_reused_pipeline_waits_for_nothing(project, monkeypatch):
    """`Experiment.submit` in this process: the run is complete when it returns, and waiting
    for it ends at once (no executor process to wait for)."""
    import runpy

    from canalis.core import Experiment

    monkeypatch.chdir(project)
    pipeline = runpy.run_path(str(project / "pipeline.py"))["pipeline"]
    run = Experiment(pipeline._workspace, "noop").submit(pipeline)
    assert run._handle.process is None and run._handle.exited.is_set()
    assert run.get_status() == "Completed"
    assert run.wait_for_completion() == "Completed"
    assert started_pid(project, run.id) == os.getpid()
