"""The run commands through real `canalis` processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.canalis.conftest import script, write

PIPELINE = """
import os
from canalis.core import Workspace
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline, PipelineParameter
from canalis.pipeline.steps import PythonScriptStep

here = os.path.dirname(os.path.abspath(__file__))
ws = Workspace.from_config()
first_out = OutputFileDatasetConfig(name="first_out")
second_out = OutputFileDatasetConfig(name="second_out")
delay = PipelineParameter("delay", default_value=0)
first = PythonScriptStep(name="first", script_name="slow.py", source_directory=os.path.join(here, "a"),
                         arguments=["--delay", delay, "--out", first_out])
second = PythonScriptStep(name="second", script_name="slow.py", source_directory=os.path.join(here, "b"),
                          arguments=["--delay", 0, "--inp", first_out.as_input(), "--out", second_out])
pipeline = Pipeline(ws, [first, second])
other = Pipeline(ws, [first])
"""
SLOW = """
import argparse, os, time
p = argparse.ArgumentParser(); p.add_argument("--delay", type=float); p.add_argument("--inp"); p.add_argument("--out")
a = p.parse_args()
time.sleep(a.delay)
print("working on", os.path.basename(a.out))
open(os.path.join(a.out, "out.txt"), "w").write("done")
"""


@pytest.fixture
def project(tmp_path, counter):
    root = tmp_path / "proj"
    from canalis import layout

    layout.init(root)
    write(root / "pipeline.py", PIPELINE)
    script(root / "a", "slow.py", SLOW)
    script(root / "b", "slow.py", SLOW)
    return root


def canalis(project, *args, check=True):
    out = subprocess.run([sys.executable, "-c", "from canalis.cli import main; main()", *args], cwd=project,
                         capture_output=True, text=True)
    if check and out.returncode != 0:
        raise AssertionError(f"canalis {' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
    return out


def test_submit_show_runs_logs_and_listings(project, counter):
    out = canalis(project, "submit", "pipeline.py", "--experiment", "cli", "--json")
    summary = json.loads(out.stdout)
    assert summary["status"] == "Completed" and [s["status"] for s in summary["steps"]] == ["Completed", "Completed"]
    again = json.loads(canalis(project, "submit", "pipeline.py:pipeline", "-e", "cli", "--json").stdout)
    assert [s["reused"] for s in again["steps"]] == [True, True]
    assert again["steps"][0]["reused_from"] == summary["steps"][0]["step_run_id"]

    runs = json.loads(canalis(project, "runs", "--json").stdout)
    assert [r["run_id"] for r in runs] == [again["run_id"], summary["run_id"]]
    assert runs[0]["reused"] == 2

    shown = json.loads(canalis(project, "show", summary["run_id"], "--json").stdout)
    assert shown["steps"][0]["outputs"]["first_out"] == summary["steps"][0]["outputs"]["first_out"]
    table = canalis(project, "show", summary["run_id"][:-3]).stdout
    assert "first" in table and "completed in" in table and "None" not in table
    assert "reused" in canalis(project, "show", "latest").stdout

    logs = canalis(project, "logs", summary["run_id"], "second").stdout
    assert "working on second_out" in logs and "working on first_out" not in logs
    assert "working on first_out" in canalis(project, "logs", again["run_id"]).stdout  # reused: the original's log

    assert json.loads(canalis(project, "experiments", "--json").stdout)[0]["name"] == "cli"
    assert json.loads(canalis(project, "datasets", "--json").stdout) == []


def test_submit_with_params_and_regenerate(project, counter):
    canalis(project, "submit", "pipeline.py", "-e", "cli", "--json")
    counter.reset()
    out = json.loads(canalis(project, "submit", "pipeline.py", "-e", "cli", "--param", "delay=0.1", "--json").stdout)
    assert out["parameters"] == {"delay": 0.1}
    assert [s["reused"] for s in out["steps"]] == [False, True]  # same bytes out of first: second reused
    out = json.loads(canalis(project, "submit", "pipeline.py", "-e", "cli", "--regenerate-outputs", "--json").stdout)
    assert [s["reused"] for s in out["steps"]] == [False, False]


def test_submit_errors_are_one_clear_line(project):
    bad = canalis(project, "submit", "pipeline.py", "-e", "cli", "--param", "nope=1", check=False)
    assert bad.returncode == 2 and "no parameter named 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    missing = canalis(project, "submit", "pipeline.py:absent", "-e", "cli", check=False)
    assert missing.returncode != 0 and "no Pipeline named 'absent'" in missing.stderr and "other" in missing.stderr
    unknown = canalis(project, "show", "no-such-run", check=False)
    assert unknown.returncode == 2 and "no run 'no-such-run'" in unknown.stderr


def test_failing_run_exits_nonzero_and_logs_show_stderr(project, counter):
    script(project / "a", "slow.py", "import sys\nprint('broken input', file=sys.stderr)\nsys.exit(2)\n")
    out = canalis(project, "submit", "pipeline.py", "-e", "cli", check=False)
    assert out.returncode == 1
    assert "broken input" in out.stderr or "broken input" in out.stdout
    logs = canalis(project, "logs", "latest", "first")
    assert "broken input" in logs.stderr
    shown = json.loads(canalis(project, "show", "latest", "--json").stdout)
    assert [s["status"] for s in shown["steps"]] == ["Failed", "Skipped"]


@pytest.mark.slow
def test_two_concurrent_submits_run_each_shared_step_once(project, counter):
    env = dict(os.environ)
    procs = [
        subprocess.Popen([sys.executable, "-c", "from canalis.cli import main; main()", "submit", "pipeline.py", "-e", "cc",
                          "--param", "delay=2", "--json"], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert sorted(counter.lines()) == ["slow.py", "slow.py"]  # first and second, once each
    assert all(r["status"] == "Completed" for r in results)
    # each shared step ran in exactly one of the runs and was reused by the other
    for i, name in enumerate(("first", "second")):
        assert sorted(r["steps"][i]["reused"] for r in results) == [False, True], name


@pytest.mark.slow
def test_logs_follow_streams_a_running_step_until_the_run_ends(project, counter):
    script(project / "a", "slow.py", """
import sys, time
for i in range(4):
    print("tick", i, flush=True)
    time.sleep(0.5)
import os
open(os.path.join(sys.argv[-1], "out.txt"), "w").write("done")
""")
    proc = subprocess.Popen([sys.executable, "-m", "canalis", "submit", "pipeline.py", "-e", "follow", "-q"], cwd=project,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from canalis.core import Workspace

        ws = Workspace(path=project)
        deadline = time.time() + 30
        while not list(ws.ledger.events(type="step.started")):
            assert time.time() < deadline
            time.sleep(0.05)
        run_id = ws.ledger.runs()[0].run_id
        follow = canalis(project, "logs", run_id, "first", "--follow")
        assert [line for line in follow.stdout.splitlines() if line.startswith("tick")] == [f"tick {i}" for i in range(4)]
        assert ws.ledger.run(run_id).status == "Completed"
    finally:
        proc.wait(timeout=60)
