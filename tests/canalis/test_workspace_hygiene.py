"""A workspace keeps no lock file per reuse key once runs are done, and `canalis gc` says what
`.canalis/runs/` and `.canalis/locks/` hold (and removes lock files nobody holds)."""
from __future__ import annotations

import json

from click.testing import CliRunner

from canalis.cli import main
from canalis.core import Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from tests.canalis.conftest import write

STEP = """
import os, sys
open(os.path.join(sys.argv[1], "out.txt"), "w").write("x")
"""


def gc(ws, *args):
    out = CliRunner().invoke(main, ["gc", "--json", "--workspace", str(ws.root), *args])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_runs_leave_no_reuse_key_locks_and_gc_reports_folders_logs_and_locks(ws, src):
    write(src / "step.py", STEP)
    steps = [PythonScriptStep(name=f"s{i}", script_name="step.py", source_directory=str(src),
                              arguments=[OutputFileDatasetConfig(name=f"o{i}")]) for i in range(3)]
    pipeline = Pipeline(ws, steps)
    for _ in range(2):  # a first run, then one whose steps are all reused
        assert Experiment(ws, "tidy").submit(pipeline).wait_for_completion() == "Completed"
    locks = ws.root / ".canalis" / "locks"
    assert sorted(p.name for p in locks.iterdir()) == ["gc.lock"]

    stale = locks / ("e" * 64 + ".lock")  # as an older canalis left them
    stale.touch()
    report = gc(ws, "--dry-run")["workspace"]
    assert report["run_folders"] == 2 and report["executor_logs"] == 2 and report["executor_logs_bytes"] > 0
    assert report["step_folders"] == 0  # completed steps' working folders are gone
    assert (report["lock_files"], report["unused_lock_files"], report["lock_files_removed"]) == (1, 1, 0)
    assert stale.exists()

    out = CliRunner().invoke(main, ["gc", "--dry-run", "--workspace", str(ws.root)])
    assert ".canalis/runs: 2 run folder(s); 0 step working folder(s)" in out.output
    assert ".canalis/locks: 1 lock file(s), 1 unused (would be removed)" in out.output

    assert gc(ws)["workspace"]["lock_files_removed"] == 1
    assert not stale.exists()
