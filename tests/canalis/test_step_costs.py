"""What each executed step costs the executor, as invariants (never timings): the phase
profile it writes on request, the ledger writes per step, and what a completed step leaves."""
from __future__ import annotations

import pytest

from canalis.core import Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import write

STEP = """
import os, sys
inp, out = sys.argv[1], sys.argv[2]
data = open(os.path.join(inp, "data.txt")).read() if inp != "-" else "seed"
open(os.path.join(out, "data.txt"), "w").write(data + ".")
"""


def chain(ws, src, n: int, script: str = STEP) -> Pipeline:
    write(src / "step.py", script)
    steps, prev = [], None
    for i in range(n):
        out = OutputFileDatasetConfig(name=f"d{i}")
        args = ([prev.as_input()] if prev is not None else ["-"]) + [out]
        steps.append(PythonScriptStep(name=f"s{i}", script_name="step.py", source_directory=str(src), arguments=args))
        prev = out
    return Pipeline(ws, steps)


def profile_lines(ws, run_id: str) -> dict[str, dict[str, float]]:
    log = ws.root / ".canalis" / "runs" / run_id / "executor.log"
    out = {}
    for line in log.read_text().splitlines():
        if line.startswith("canalis step profile "):
            name, _, parts = line[len("canalis step profile "):].partition(": ")
            out[name] = {k: float(v) for k, v in (p.split("=") for p in parts.split())}
    return out


@pytest.mark.parametrize("asked", [True, False])
def test_the_executor_writes_a_phase_profile_of_each_step_only_when_asked(ws, src, monkeypatch, asked):
    if asked:
        monkeypatch.setenv("CANALIS_STEP_PROFILE", "1")
    else:
        monkeypatch.delenv("CANALIS_STEP_PROFILE", raising=False)
    run = Experiment(ws, "profiled").submit(chain(ws, src, 2))
    assert run.wait_for_completion() == "Completed"
    lines = profile_lines(ws, run.id)
    if not asked:
        assert lines == {}
        return
    assert sorted(lines) == ["s0", "s1"]
    for phases in lines.values():
        for phase in ("bind", "checkout_source", "spawn", "step_started", "process", "snapshot_outputs",
                      "step_completed", "total"):
            assert phase in phases
        assert all(v >= 0 for v in phases.values())
        assert phases["total"] >= max(v for k, v in phases.items() if k != "total")


def _in_process(ws, src, n: int, submitted=None):
    """A first run of an n-step chain executed by a RunExecutor in this process (as a run's
    executor process runs it), with every ledger write recorded: [[event type, ...] per write],
    and the step folders there were when the run's end was written. `submitted`: the chain's
    run, submitted already."""
    from canalis.executor.engine import RunExecutor, new_run_id, submitted_event
    from canalis.executor.plan import Plan
    from canalis.executor.resume import recorded_progress

    run = submitted
    if run is None:
        run = Experiment(ws, "costs").submit(chain(ws, src, n))
        assert run.wait_for_completion() == "Completed"
    session = ws.session
    ledger, store = session.ledger, session.store
    plan = Plan.from_dict(recorded_progress(ledger, run.id).submitted["plan"])
    run_id = new_run_id("costs")
    ledger.append(submitted_event(run_id, "costs", plan, {}, store=store))
    writes, at_end = [], []
    real = ledger.append_many
    folder = session.runs_dir / run_id

    def counted(events):
        events = list(events)
        writes.append([type(e).type for e in events])
        if "run.completed" in writes[-1]:
            at_end.extend(p.name for p in folder.iterdir() if p.is_dir())
        return real(events)

    ledger.append_many = counted
    try:
        executor = RunExecutor(ledger=ledger, store=store, plan=plan, run_id=run_id, parameters={},
                               scratch_dir=session.runs_dir, locks_dir=session.locks_dir, experiment="costs",
                               workspace_root=ws.root, regenerate=True, max_workers=1)
        assert executor.execute() == "Completed"
    finally:
        del ledger.append_many
    return run_id, writes, at_end


def test_a_step_records_its_environment_and_its_start_in_one_ledger_write(ws, src):
    run_id, writes, _ = _in_process(ws, src, 3)
    step_writes = [w for w in writes if any(t.startswith("step.") for t in w)]
    assert ["step.environment", "step.started"] in step_writes
    assert step_writes.count(["step.environment", "step.started"]) == 3
    assert not any(w == ["step.environment"] for w in step_writes)
    # per executed step: its start (with its environment) and its end, nothing else
    assert [t for w in step_writes for t in w] == ["step.environment", "step.started", "step.completed"] * 3
    assert len(step_writes) == 2 * 3


def test_completed_steps_leave_no_working_folder_once_the_run_has_ended(ws, src):
    run_id, writes, at_end = _in_process(ws, src, 3)
    assert ["run.completed"] in writes
    assert at_end == []  # gone before the run's end is recorded, not only before the executor returns
    folder = ws.session.runs_dir / run_id
    assert not [p for p in folder.iterdir() if p.is_dir()]




#: a step whose logs and output differ at every run, so that every run stores new blobs
FRESH = """
import os, sys
inp, out = sys.argv[1], sys.argv[2]
fresh = os.urandom(8).hex()
print("stdout", fresh)
print("stderr", fresh, file=sys.stderr)
os.makedirs(out, exist_ok=True)
open(os.path.join(out, "data.txt"), "w").write(fresh)
"""


def test_a_completed_step_makes_its_logs_outputs_and_trees_durable_together(ws, src, monkeypatch):
    """Everything `step.completed` names (both logs, each output's blob and tree) is written in
    one pack, made durable by one fsync of it and one of `packs/`: per executed step, two fsyncs
    for its key document (before `step.started`) and two for its results, and no loose blob."""
    import os

    n = 3
    run = Experiment(ws, "costs").submit(chain(ws, src, n, FRESH))
    assert run.wait_for_completion() == "Completed"
    store = ws.session.store
    packs = store.root / "packs"
    loose_before = {p.name for p in store.root.iterdir() if len(p.name) == 2}
    loose_before = {f for d in loose_before for f in os.listdir(store.root / d)}
    packs_before = set(os.listdir(packs))
    synced = []
    real = os.fsync

    def counting(fd):  # a spy: every fsync still happens
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real(fd)

    monkeypatch.setattr(os, "fsync", counting)
    run_id, writes, _ = _in_process(ws, src, n, submitted=run)
    monkeypatch.setattr(os, "fsync", real)
    new_packs = set(os.listdir(packs)) - packs_before
    assert len(new_packs) == n  # one per step
    in_packs = {}
    for name in new_packs:
        from canalis.store.pack import read_index

        in_packs[name] = {e.digest for e in read_index(str(packs / name))}
    ledger = ws.session.ledger
    completed = [r.payload for r in ledger.events(stream=f"run:{run_id}", type="step.completed")]
    assert len(completed) == n
    for p in completed:
        named = {p["stdout"], p["stderr"], *p["outputs"].values()}
        for tree in p["outputs"].values():
            named |= {e.digest for e in store.get_tree(tree)}
        assert len(named) == 4  # two logs, a file, its tree: all new
        assert [pack for pack, held in in_packs.items() if named <= held]  # all in one pack
    loose_after = {f for d in store.root.iterdir() if len(d.name) == 2 for f in os.listdir(d)}
    new_loose = loose_after - loose_before
    assert len(new_loose) <= n  # the key documents (put before `step.started`), nothing else
    assert synced.count(str(packs.resolve())) == n  # each step's results: its pack, then packs/
    assert len(synced) <= 4 * n, synced  # and its key document: the temp file, then its fan-out folder


def test_the_executor_reads_the_ledger_for_a_cancel_request_on_a_clock_not_at_each_step(ws, src, monkeypatch):
    """A step's end does not cost a ledger read for `run.cancel_requested`: the executor looks
    every CANCEL_POLL_S (tests/canalis/test_cancel.py checks that a cancel is still seen)."""
    from canalis.executor import engine

    run = Experiment(ws, "costs").submit(chain(ws, src, 4))
    assert run.wait_for_completion() == "Completed"
    ledger = ws.session.ledger
    asked, real = [], ledger.events

    def counted(*args, **kwargs):
        if kwargs.get("type") == "run.cancel_requested":
            asked.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "CANCEL_POLL_S", 3600.0)  # longer than the run: no look is due
    monkeypatch.setattr(ledger, "events", counted)
    _in_process(ws, src, 4, submitted=run)
    assert asked == []
    monkeypatch.setattr(engine, "CANCEL_POLL_S", 0.0)  # a look due at every turn of the loop
    _in_process(ws, src, 4, submitted=run)
    assert len(asked) >= 4



#: a step that changes its own source folder: the next step must still get the source as stored
MESSY = """
import os, sys
inp, out = sys.argv[1], sys.argv[2]
assert sorted(os.listdir(".")) == ["step.py"], os.listdir(".")
mark = "# changed " + "by a step"  # the script's text holds it only split in two
assert mark not in open("step.py").read(), "the source was changed before the step ran"
open("scratch.txt", "w").write("left by a step")
open("step.py", "a").write(mark)
data = open(os.path.join(inp, "data.txt")).read() if inp != "-" else "seed"
open(os.path.join(out, "data.txt"), "w").write(data + ".")
"""


def test_a_chain_from_one_source_folder_gets_each_source_checkout_ready_made_and_pristine(ws, src, monkeypatch):
    """While a step's process runs, the working folder of the next step of the same source is
    made (its source checked out) on the executor's sweeper thread, not between the steps; each
    step still gets exactly its source tree, even when the step before changed its own copy."""
    import os
    import threading

    n = 4
    run = Experiment(ws, "costs").submit(chain(ws, src, n, MESSY))
    assert run.wait_for_completion() == "Completed"
    store = ws.session.store
    made_on, real = [], type(store).checkout

    def watched(self, tree, dest, **kwargs):  # a spy: the checkout still happens
        dest = os.fspath(dest)
        made_on.append((dest.endswith("/src"), threading.current_thread().name, os.path.basename(os.path.dirname(dest))))
        return real(self, tree, dest, **kwargs)

    monkeypatch.setattr(type(store), "checkout", watched)
    run_id, _, at_end = _in_process(ws, src, n, submitted=run)
    sources = [(thread, folder) for is_src, thread, folder in made_on if is_src]
    assert len(sources) == n
    assert sources[0][0].startswith("canalis-step")  # the first step's: nothing ran before it
    assert all(t.startswith("canalis-sweep") and f.startswith(".ahead-") for t, f in sources[1:]), sources
    assert at_end == []  # none left when the run's end is recorded
    assert ws.session.ledger.run(run_id).status == "Completed"


def test_a_folder_made_ahead_for_a_step_that_is_then_reused_is_removed_with_the_run(ws, src):
    write(src / "step.py", STEP)
    first = Experiment(ws, "ahead").submit(chain(ws, src, 4))
    assert first.wait_for_completion() == "Completed"
    steps, prev = [], None
    for i in range(4):  # the same chain, its first step never reused: it runs, the others are reused
        out = OutputFileDatasetConfig(name=f"d{i}")
        args = ([prev.as_input()] if prev is not None else ["-"]) + [out]
        steps.append(PythonScriptStep(name=f"s{i}", script_name="step.py", source_directory=str(src), arguments=args,
                                      allow_reuse=i != 0))
        prev = out
    run = Experiment(ws, "ahead").submit(Pipeline(ws, steps))
    assert run.wait_for_completion() == "Completed"
    from tests.canalis.conftest import statuses

    assert statuses(run) == {"s0": "Completed", "s1": "Reused", "s2": "Reused", "s3": "Reused"}
    folder = ws.session.runs_dir / run.id
    assert [p.name for p in folder.iterdir() if p.is_dir()] == []
