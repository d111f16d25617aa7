"""The README's main job: `canalis quickstart DIR`."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_quickstart_runs_the_pipeline_then_reuses_every_step(tmp_path):
    out = subprocess.run([sys.executable, "-c", "from canalis.cli import main; main()", "quickstart", str(tmp_path / "demo"), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    first, second = result["runs"]
    assert [s["step"] for s in first["steps"]] == ["prepare", "train", "evaluate"]
    assert [s["status"] for s in first["steps"]] == ["Completed"] * 3
    assert [s["reused"] for s in second["steps"]] == [True] * 3
    assert 0.8 <= first["metrics"]["run"]["accuracy"] <= 1.0
    # the second submit reused every step, and answers with their metrics (logged by the first)
    assert (second["metrics"]["run"], second["metrics"]["steps"]) == (first["metrics"]["run"], first["metrics"]["steps"])
    assert set(second["metrics"]["reused_from"]) == {"prepare", "train", "evaluate"}
    latest = subprocess.run([sys.executable, "-c", "from canalis.cli import main; main()", "metrics", "latest", "--json",
                             "--workspace", str(tmp_path / "demo")], capture_output=True, text=True, timeout=60)
    assert json.loads(latest.stdout)["run"] == first["metrics"]["run"]
    assert (tmp_path / "demo" / ".canalis" / "ledger.db").is_file()
    reports = list((tmp_path / "demo" / ".canalis" / "datastores" / "workspaceblobstore" / "reports").glob("*/report.json"))
    assert len(reports) == 1 and json.loads(reports[0].read_text())["rows"] == 44

    # the project it leaves behind submits with the CLI, and a parameter change re-runs train and evaluate only
    again = subprocess.run([sys.executable, "-c", "from canalis.cli import main; main()", "submit", "pipeline.py",
                            "--experiment", "quickstart", "--param", "n_estimators=20", "--json"],
                           cwd=tmp_path / "demo" / "project", capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    steps = {s["step"]: s["reused"] for s in json.loads(again.stdout)["steps"]}
    assert steps == {"prepare": True, "train": False, "evaluate": False}


def quickstart(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "canalis", "quickstart", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_quickstart_twice_on_one_folder_submits_again_and_reports_the_reuse(tmp_path):
    demo = tmp_path / "demo"
    assert quickstart(demo, "--json").returncode == 0
    again = quickstart(demo)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert "already a workspace" in again.stdout
    assert "the first submit reused every step too" in again.stdout
    assert "second submit reused 3 of 3 steps" in again.stdout
    as_json = json.loads(quickstart(demo, "--json").stdout)
    assert as_json["existing_workspace"] is True
    assert [[s["reused"] for s in r["steps"]] for r in as_json["runs"]] == [[True] * 3, [True] * 3]

    # a project file the user changed is never overwritten: the quickstart refuses, in one line
    train = demo / "project" / "train.py"
    changed = train.read_text() + "# my change\n"
    train.write_text(changed)
    runs_before = len(json.loads(subprocess.run([sys.executable, "-m", "canalis", "runs", "--json"], cwd=demo,
                                                capture_output=True, text=True).stdout))
    refused = quickstart(demo)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "holds changed quickstart files (train.py)" in refused.stderr
    assert train.read_text() == changed
    runs_after = json.loads(subprocess.run([sys.executable, "-m", "canalis", "runs", "--json"], cwd=demo,
                                           capture_output=True, text=True).stdout)
    assert len(runs_after) == runs_before
