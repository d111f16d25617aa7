"""The Dask runner against a real scheduler and two worker processes (tests/dask_cluster.py):
steps spread over the workers, reuse is the runner's business not, a lost worker's step runs
again elsewhere or fails naming the worker, and the ledger keeps one record of each."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from canalis.core import Experiment
from canalis.core.compute import ComputeTarget, DaskCompute
from canalis.exceptions import ComputeTargetException
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import open_gate, wait_for, write

pytestmark = [pytest.mark.dask]

FAN = """
import os, sys, time
from pathlib import Path
name = sys.argv[1]
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
(out / "result.txt").write_text(f"{name}:{sum(i * i for i in range(int(sys.argv[3])))}\\n")
print("done", name)
"""

GATED = """
import os, sys, time
from pathlib import Path
print("waiting", flush=True)
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.05)
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
(out / "result.txt").write_text("gated\\n")
"""


def attach(ws, cluster, name="dask", **kwargs):
    return ComputeTarget.attach(ws, name, DaskCompute.attach_configuration(scheduler_address=cluster.address, **kwargs))


def fan_out(ws, src, target, n=8):
    from canalis.data import OutputFileDatasetConfig

    write(src / "fan.py", FAN)
    steps = []
    for i in range(n):
        out = OutputFileDatasetConfig(name=f"out{i}")
        steps.append(PythonScriptStep(script_name="fan.py", name=f"s{i}", source_directory=str(src),
                                      arguments=[f"s{i}", out, 20000 + i], compute_target=target))
    return Pipeline(ws, steps)


def submit(ws, pipeline, expect="Completed"):
    run = Experiment(ws, "exp").submit(pipeline)
    assert run.wait_for_completion(raise_on_error=False) == expect, run.get_details()
    return run


def events(ws, run, type_):
    return [r.payload for r in ws.ledger.events(stream=f"run:{run.id}", type=type_)]


def show_json(ws, run) -> dict:
    out = subprocess.run([sys.executable, "-m", "canalis", "show", run.id, "--json", "--workspace", str(ws.root)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_fan_out_runs_on_both_workers_and_reuse_is_the_same_as_local(ws, src, dask_cluster):
    target = attach(ws, dask_cluster)
    assert [t.name for t in ComputeTarget.list(ws)] == ["dask", "local"]
    assert type(ComputeTarget(ws, "dask")) is DaskCompute and ComputeTarget(ws, "dask").scheduler_address == dask_cluster.address

    run = submit(ws, fan_out(ws, src, target))
    placed = events(ws, run, "step.placed")
    assert sorted(p["step_name"] for p in placed) == [f"s{i}" for i in range(8)]
    assert {p["worker_name"] for p in placed} == {"w1", "w2"}
    steps = show_json(ws, run)["steps"]
    assert {s["step"]: s["worker"] for s in steps} == {p["step_name"]: p["worker"] for p in placed}
    assert all(s["status"] == "Completed" for s in steps)
    outputs_dask = {s["step"]: s["outputs"] for s in steps}

    # the same steps on the local runner are reused from the Dask run, and the other way round
    again = submit(ws, fan_out(ws, src, "local"))
    local_steps = show_json(ws, again)["steps"]
    assert all(s["status"] == "Reused" for s in local_steps)
    assert {s["step"]: s["outputs"] for s in local_steps} == outputs_dask
    assert events(ws, again, "step.placed") == []

    third = submit(ws, fan_out(ws, src, target, n=9))
    third_steps = {s["step"]: s for s in show_json(ws, third)["steps"]}
    assert [n for n, s in third_steps.items() if s["status"] != "Reused"] == ["s8"]
    assert third_steps["s8"]["worker"] in {p["worker"] for p in placed}


def gated_pipeline(ws, src, target):
    from canalis.data import OutputFileDatasetConfig

    write(src / "gated.py", GATED)
    out = OutputFileDatasetConfig(name="gated_out")
    return Pipeline(ws, [PythonScriptStep(script_name="gated.py", name="gated", source_directory=str(src),
                                          arguments=[out], compute_target=target, allow_reuse=False)])


def _placements(ws, run_id):
    return [r.payload for r in ws.ledger.events(stream=f"run:{run_id}", type="step.placed")]


@pytest.fixture
def gate(tmp_path, monkeypatch):
    path = tmp_path / "gate"
    monkeypatch.setenv("GATE", str(path))
    return path


def test_killing_the_worker_of_a_step_runs_it_again_elsewhere(ws, src, dask_cluster, gate):
    target = attach(ws, dask_cluster)
    run = Experiment(ws, "exp").submit(gated_pipeline(ws, src, target))
    wait_for(lambda: _placements(ws, run.id), "the step to start on a worker")
    first = _placements(ws, run.id)[0]
    try:
        dask_cluster.kill(first["worker_name"])
        wait_for(lambda: len(_placements(ws, run.id)) == 2, "the step to start again on the other worker")
        open_gate()
        assert run.wait_for_completion(raise_on_error=False) == "Completed", run.get_details()
    finally:
        dask_cluster.restart(first["worker_name"])
    second = _placements(ws, run.id)[1]
    assert (first["attempt"], second["attempt"]) == (1, 2)
    assert second["worker_name"] != first["worker_name"]
    lost = events(ws, run, "step.attempt_interrupted")
    assert [(x["attempt"], x["worker"], x["retrying"]) for x in lost] == [(1, first["worker"], True)]
    # one start and one end for the step run, whatever happened in between; the chain holds
    assert len(events(ws, run, "step.started")) == 1
    assert [e["step_name"] for e in events(ws, run, "step.completed")] == ["gated"]
    assert show_json(ws, run)["steps"][0]["worker"] == second["worker"]
    assert run.get_steps()[0].get_details()["status"] == "Completed"
    verify = subprocess.run([sys.executable, "-m", "canalis", "ledger", "verify", "--workspace", str(ws.root)],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_lost_worker_with_no_attempt_left_fails_the_step_naming_it(ws, src, dask_cluster, gate):
    target = attach(ws, dask_cluster, name="once", max_attempts=1)
    run = Experiment(ws, "exp").submit(gated_pipeline(ws, src, target))
    wait_for(lambda: _placements(ws, run.id), "the step to start on a worker")
    first = _placements(ws, run.id)[0]
    try:
        dask_cluster.kill(first["worker_name"])
        assert run.wait_for_completion(raise_on_error=False) == "Failed"
    finally:
        dask_cluster.restart(first["worker_name"])
    failed = events(ws, run, "step.failed")
    assert len(failed) == 1 and first["worker"] in failed[0]["error"] and "lost" in failed[0]["error"]
    assert [(x["attempt"], x["retrying"]) for x in events(ws, run, "step.attempt_interrupted")] == [(1, False)]
    assert len(_placements(ws, run.id)) == 1


def test_attach_configuration_refuses_what_it_cannot_use():
    with pytest.raises(ComputeTargetException, match="scheduler_address"):
        DaskCompute.attach_configuration()
    with pytest.raises(ComputeTargetException, match="not an address"):
        DaskCompute.attach_configuration(scheduler_address="localhost")
    with pytest.raises(ComputeTargetException, match="max_attempts"):
        DaskCompute.attach_configuration(scheduler_address="tcp://h:1", max_attempts=0)


def test_a_missing_distributed_package_names_the_extra():
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from canalis.executor.runners.dask import import_distributed\n"
            "from canalis.executor.errors import DaskUnavailable\n"
            "try:\n    import_distributed()\nexcept DaskUnavailable as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install canalis[dask]" in out


def test_compute_list_and_submit_with_compute_send_every_step_to_the_cluster(ws, src, dask_cluster):
    attach(ws, dask_cluster)
    env = {**os.environ, "CANALIS_WORKSPACE": str(ws.root)}
    listed = json.loads(subprocess.run([sys.executable, "-m", "canalis", "compute", "list", "--json"], env=env,
                                       capture_output=True, text=True, check=True).stdout)
    assert {t["name"]: (t["type"], t["address"]) for t in listed} == {"dask": ("dask", dask_cluster.address),
                                                                      "local": ("local", None)}
    write(src / "fan.py", FAN)
    write(src / "pipe.py", f"""
        from canalis.core import Workspace
        from canalis.data import OutputFileDatasetConfig
        from canalis.pipeline.core import Pipeline
        from canalis.pipeline.steps import PythonScriptStep
        ws = Workspace.from_config()
        steps = [PythonScriptStep(script_name="fan.py", name=f"c{{i}}", source_directory={str(src)!r},
                                  arguments=[f"c{{i}}", OutputFileDatasetConfig(name=f"o{{i}}"), 10 + i]) for i in range(2)]
        pipeline = Pipeline(ws, steps)
    """)
    bad = subprocess.run([sys.executable, "-m", "canalis", "submit", str(src / "pipe.py"), "-e", "cli", "-q",
                          "--compute", "nowhere"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "no compute target named 'nowhere'" in bad.stderr and "Traceback" not in bad.stderr
    out = subprocess.run([sys.executable, "-m", "canalis", "submit", str(src / "pipe.py"), "-e", "cli", "--json",
                          "--compute", "dask"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    steps = json.loads(out.stdout)["steps"]
    assert sorted(s["step"] for s in steps) == ["c0", "c1"]
    assert all(s["worker"] and s["worker"].startswith("tcp://127.0.0.1:") for s in steps)


def test_a_local_cluster_target_starts_its_own_workers(ws, src):
    pytest.importorskip("distributed")
    target = ComputeTarget.attach(ws, "try", DaskCompute.attach_configuration(local_cluster=True, n_workers=1))
    assert "local cluster" in target.description
    run = submit(ws, fan_out(ws, src, target, n=2))
    placed = events(ws, run, "step.placed")
    assert sorted(p["step_name"] for p in placed) == ["s0", "s1"]
    assert all(p["worker"].startswith("tcp://127.0.0.1:") for p in placed)


RETRIED = """
import os, sys, time
from pathlib import Path
from azureml.core import Run
run = Run.get_context()
clean = Path("data.txt").read_text() == "original\\n" and not Path("added.txt").exists()
run.log("attempt_pid", os.getpid())
run.log("source_clean", clean)
Path("data.txt").write_text("changed by an attempt\\n")  # what a lost attempt leaves behind
Path("added.txt").write_text("added by an attempt\\n")
Path(os.environ["GATE"] + f".logged-{os.getpid()}").write_text("")
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.05)
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
(out / "clean.txt").write_text(str(clean))
"""


def test_a_retried_attempt_starts_from_clean_source_and_only_it_logs_metrics(ws, src, dask_cluster, gate):
    from canalis.data import OutputFileDatasetConfig

    write(src / "retried.py", RETRIED)
    write(src / "data.txt", "original\n")
    target = attach(ws, dask_cluster)
    pipeline = Pipeline(ws, [PythonScriptStep(script_name="retried.py", name="retried", source_directory=str(src),
                                              arguments=[OutputFileDatasetConfig(name="o")], compute_target=target,
                                              allow_reuse=False)])
    run = Experiment(ws, "exp").submit(pipeline)
    wait_for(lambda: _placements(ws, run.id), "the step to start on a worker")
    first = _placements(ws, run.id)[0]
    # the first attempt has logged its metrics and changed its source folder when its worker dies
    wait_for(lambda: Path(f"{gate}.logged-{first['pid']}").exists(), "the first attempt to log its metrics")
    try:
        dask_cluster.kill(first["worker_name"])
        wait_for(lambda: len(_placements(ws, run.id)) == 2, "the step to start again on the other worker")
        second = _placements(ws, run.id)[1]
        wait_for(lambda: Path(f"{gate}.logged-{second['pid']}").exists(), "the second attempt to log its metrics")
        open_gate()
        assert run.wait_for_completion(raise_on_error=False) == "Completed", run.get_details()
    finally:
        dask_cluster.restart(first["worker_name"])
    metrics = [(m["name"], m["value"]) for m in events(ws, run, "metric.logged")]
    # only the attempt that completed contributes: one value of each, the second attempt's
    assert metrics == [("attempt_pid", second["pid"]), ("source_clean", True)], metrics


def test_canceling_a_run_stops_its_step_on_the_worker_and_records_everything(ws, src, dask_cluster, gate):
    target = attach(ws, dask_cluster)
    run = Experiment(ws, "exp").submit(gated_pipeline(ws, src, target))
    wait_for(lambda: _placements(ws, run.id), "the step to start on a worker")
    placed = _placements(ws, run.id)[0]
    os.kill(placed["pid"], 0)  # the step's process runs (on a worker of this machine)
    out = subprocess.run([sys.executable, "-m", "canalis", "cancel", run.id, "--reason", "enough",
                          "--workspace", str(ws.root)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert run.wait_for_completion(raise_on_error=False, timeout_seconds=60) == "Canceled"

    def gone():
        try:
            os.kill(placed["pid"], 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(gone, "the step's process to be stopped on its worker")
    types = [r.type for r in ws.ledger.events(stream=f"run:{run.id}")]
    for expected in ("run.started", "step.started", "step.placed", "run.cancel_requested", "step.canceled",
                     "run.canceled"):
        assert types.count(expected) == 1, (expected, types)
    assert types[-1] == "run.canceled"
    assert events(ws, run, "step.canceled")[0]["step_name"] == "gated"
    verify = subprocess.run([sys.executable, "-m", "canalis", "ledger", "verify", "--workspace", str(ws.root)],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert {w.get("name") for w in dask_cluster.client().scheduler_info()["workers"].values()} >= {"w1", "w2"}
