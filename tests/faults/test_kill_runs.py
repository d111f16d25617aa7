"""The processes running a pipeline (`canalis submit` and the run's executor), or one of its
steps' processes, killed with SIGKILL at random points.

After each kill: `verify` is clean, and `canalis resume RUN` finishes the run (Completed)
without running again any step that had completed: those keep their results.
"""
from __future__ import annotations

import os
import random
import signal
import textwrap
import time

import pytest

from canalis import layout
from canalis.core import Workspace
from canalis.executor.integrity import verify_workspace
from tests.faults.faults import CANALIS, canalis, clean, count_events, crash, kill, start, stop_leftovers, wait_until

pytestmark = pytest.mark.slow

STEPS = 3
PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config(here)
outs = [OutputFileDatasetConfig(name=f"o{i}") for i in range(%d)]
steps = [
    PythonScriptStep(name=f"s{i}", script_name="work.py", source_directory=os.path.join(here, "src"),
                     arguments=[f"s{i}", outs[i - 1].as_input() if i else "-", outs[i]])
    for i in range(len(outs))
]
pipeline = Pipeline(ws, steps)
""" % STEPS
# how long a step works comes from the environment: not in the reuse key, the same on resume
WORK = """
import os, sys, time
name, inp, out = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(os.path.join(inp, "v.txt")).read() if inp != "-" else ""
time.sleep(float(os.environ.get("WORK_S", "0.15")))
for i in range(20):
    with open(os.path.join(out, f"part{i}.txt"), "w") as f:
        f.write(f"{name} {i}\\n" * 50)
with open(os.path.join(out, "v.txt"), "w") as f:
    f.write(data + name + "\\n")
"""


def _project(root):
    layout.init(root)
    (root / "src").mkdir()
    (root / "pipeline.py").write_text(PIPELINE)
    (root / "src" / "work.py").write_text(textwrap.dedent(WORK))


def _step_events(ws, run_id):
    return list(ws.ledger.events(stream=f"run:{run_id}", type="step."))


def _resume_and_check(root, label):
    """After a kill: verify is clean; a run that did not end is resumed to Completed and no
    step that had completed runs again. Returns what happened, for the summary."""
    ws = Workspace(path=root)
    try:
        result = verify_workspace(ws.ledger, ws.store)
        assert clean(result), (label, result["missing"][:3])
        runs = ws.ledger.runs()
        if not runs:
            return "no run yet"
        (run,) = runs
        if run.status == "Completed":
            return "completed"
        completed = {e.payload["step_name"] for e in _step_events(ws, run.run_id) if e.type == "step.completed"}
        head = ws.ledger.head()[0]
        out = canalis("resume", run.run_id, "-q", "--workspace", root, timeout=300)
        assert out.returncode == 0, (label, out.stderr)
        assert ws.ledger.run(run.run_id).status == "Completed", label
        again = {e.payload["step_name"] for e in ws.ledger.events(stream=f"run:{run.run_id}", type="step.started", since=head)}
        assert not (again & completed), (label, again & completed)  # completed steps keep their results
        final = {s.step_name: s for s in ws.ledger.step_runs(run.run_id) if s.status == "Completed"}
        assert sorted(final) == [f"s{i}" for i in range(STEPS)], label
        last = ws.store.get_tree(final[f"s{STEPS - 1}"].outputs[f"o{STEPS - 1}"])
        v = next(e for e in last if e.path == "v.txt")
        assert ws.store.get_bytes(v.digest).decode().split() == [f"s{i}" for i in range(STEPS)], label
        result = verify_workspace(ws.ledger, ws.store)
        assert clean(result), (label, result["missing"][:3])
        return f"resumed after {len(completed)} completed step(s)"
    finally:
        ws.ledger.close()
        stop_leftovers(root)


def _submit(root):
    return start([*CANALIS, "submit", "pipeline.py", "-e", "faults", "-q"], cwd=root)


def test_submit_killed_at_random_points_is_resumed(scratch):
    outcomes = []
    for seed in range(6):
        rng = random.Random(1000 + seed)
        root = scratch / f"submit{seed}"
        _project(root)
        proc = _submit(root)
        try:
            trigger = rng.choice(["step.started", "step.completed", "run.submitted"])
            nth = rng.randint(1, STEPS) if trigger != "run.submitted" else 1
            wait_until(lambda: count_events(root, trigger) >= nth, proc, timeout=120)
            time.sleep(rng.uniform(0, 0.2))
        finally:
            crash(proc)
        outcomes.append(_resume_and_check(root, f"seed {seed}: after {trigger} #{nth}"))
    assert any(o.startswith("resumed") for o in outcomes), outcomes


def test_a_step_killed_at_random_points_fails_the_run_resumably_and_resume_finishes_it(scratch):
    outcomes = []
    for seed in range(6):
        rng = random.Random(2000 + seed)
        root = scratch / f"step{seed}"
        _project(root)
        proc = _submit(root)
        victim = rng.randrange(STEPS)
        try:
            assert wait_until(lambda: count_events(root, "step.started") > victim, proc, timeout=120)
            ws = Workspace(path=root)
            (started,) = [e.payload for e in ws.ledger.events(type="step.started") if e.payload["step_name"] == f"s{victim}"]
            ws.ledger.close()
            time.sleep(rng.uniform(0, 0.25))
            try:
                os.killpg(started["pid"], signal.SIGKILL)  # as the out-of-memory killer would
            except ProcessLookupError:
                pass  # it had finished
            proc.wait(timeout=120)
        finally:
            kill(proc)
        ws = Workspace(path=root)
        run = ws.ledger.runs()[0]
        if run.status == "Failed":
            (failed,) = [e.payload for e in ws.ledger.events(type="run.failed")]
            assert failed["resumable"] and f"step 's{victim}' was killed by SIGKILL" in failed["error"], failed
        ws.ledger.close()
        outcomes.append(_resume_and_check(root, f"seed {seed}: step s{victim}"))
    assert any(o.startswith("resumed") for o in outcomes), outcomes
