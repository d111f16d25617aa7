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


def chain(ws, src, n: int) -> Pipeline:
    write(src / "step.py", STEP)
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
