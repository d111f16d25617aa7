"""History benchmark (run by hand): ledger bytes per event over 10,000 runs of a 5-step pipeline.

    python bench/history_bench.py [--runs 10000] [--out bench/results-history.md]

A real 5-step pipeline is compiled and run once in a fresh workspace (so its plan is the
document a real submit records: source trees, git metadata, environments, options). Then the
history of --runs re-submits is recorded through the real ledger and store APIs, without
starting processes, as the executor records it: `run.submitted`, `run.started`, per step a
`step.reused` (nine runs in ten) or `step.started` + two `metric.logged` + `step.completed`,
then `run.completed`. The same history is recorded twice, side by side in one invocation:
with the plan inline in every `run.submitted` (as canalis recorded it before run.submitted
version 3) and with the plan stored once by content and named by digest. For each: the
ledger file's size after a checkpoint, divided by the events, and each table's and index's share
(`dbstat`); and `verify` / `rebuild` time.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

PIPELINE = textwrap.dedent("""
    import os
    from canalis.core import Workspace
    from canalis.data import OutputFileDatasetConfig
    from canalis.pipeline.core import Pipeline
    from canalis.pipeline.steps import PythonScriptStep

    here = os.path.dirname(os.path.abspath(__file__))
    ws = Workspace.from_config(here)
    steps, prev = [], None
    for i, name in enumerate(["prepare", "featurize", "train", "evaluate", "report"]):
        out = OutputFileDatasetConfig(name=f"{name}_out")
        args = ["--seed", 7, "--out", out] + (["--inp", prev.as_input()] if prev is not None else [])
        steps.append(PythonScriptStep(name=name, script_name="step.py", source_directory=os.path.join(here, "src"),
                                      arguments=args))
        prev = out
    pipeline = Pipeline(ws, steps)
""")
STEP = textwrap.dedent("""
    import argparse, os
    p = argparse.ArgumentParser(); p.add_argument("--seed"); p.add_argument("--out"); p.add_argument("--inp")
    a = p.parse_args()
    open(os.path.join(a.out, "data.txt"), "w").write(str(a.seed))
""")


def first_run(root: Path):
    """A workspace with the pipeline run once for real; (its plan, its step.completed payloads)."""
    import runpy

    from canalis import layout
    from canalis.core import Experiment

    layout.init(root)
    (root / "src").mkdir()
    (root / "src" / "step.py").write_text(STEP)
    (root / "pipeline.py").write_text(PIPELINE)
    pipeline = runpy.run_path(str(root / "pipeline.py"))["pipeline"]
    run = Experiment(pipeline._workspace, "history").submit(pipeline)
    assert run.wait_for_completion() == "Completed"
    led = layout.find(root).open_ledger()
    from canalis.executor.plan import Plan

    plan = Plan.from_dict(led.run_plan(run.id))
    completed = [r.payload for r in led.events(stream=f"run:{run.id}", type="step.completed")]
    led.close()
    return plan, completed


def record(root: Path, plan, completed: list[dict], runs: int, by_digest: bool) -> int:
    from canalis import layout
    from canalis.executor.engine import new_step_run_id, submitted_event
    from canalis.ledger import events as ev

    lay = layout.init(root)
    store, ledger = lay.open_store(), lay.open_ledger()
    gits = [s.git for s in plan.steps if s.git]
    n = 0
    for r in range(runs):
        run_id = f"history_{r:06d}"
        events = [submitted_event(run_id, "history", plan, plan.resolve_parameters({}), git=gits[0] if gits else None,
                                  options={"regenerate_outputs": False, "continue_on_step_failure": False},
                                  store=store if by_digest else None),
                  ev.RunStarted(run_id=run_id, host="bench", pid=1, resumed=False)]
        for c in completed:
            sid = new_step_run_id()
            if r % 10:
                events.append(ev.StepReused(run_id=run_id, step_run_id=sid, step_name=c["step_name"],
                                            reuse_key=c["reuse_key"], reused_from=c["step_run_id"],
                                            reused_run_id=c["run_id"], outputs=c["outputs"]))
            else:
                events.append(ev.StepStarted(run_id=run_id, step_run_id=sid, step_name=c["step_name"],
                                             reuse_key=c["reuse_key"], attempt=1, pid=1234, inputs=[]))
                events += [ev.MetricLogged(run_id=run_id, step_run_id=sid, name=m, kind="scalar", value=r / 7)
                           for m in ("loss", "accuracy")]
                events.append(ev.StepCompleted(run_id=run_id, step_run_id=sid, step_name=c["step_name"],
                                               reuse_key=c["reuse_key"], outputs=c["outputs"], stdout=c["stdout"],
                                               stderr=c["stderr"], exit_code=0, duration_s=0.05, allow_reuse=True))
        events.append(ev.RunCompleted(run_id=run_id, duration_s=0.03))
        ledger.append_many(events)
        n += len(events)
    ledger.close()
    return n


def size_after_checkpoint(path: Path) -> int:
    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.stat().st_size + (Path(f"{path}-wal").stat().st_size if Path(f"{path}-wal").exists() else 0)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--out", default=str(HERE / "results-history.md"))
    args = ap.parse_args()
    from canalis import layout

    tmp = Path(tempfile.mkdtemp(prefix="canalis-history-bench-"))
    rows = []
    try:
        plan, completed = first_run(tmp / "first")
        import json

        from canalis.ledger.canonical import canonical_json

        plan_bytes = len(canonical_json({**plan.to_dict(), "options": {}}).encode())
        for label, by_digest in (("plan inline in every run.submitted (v2 layout)", False),
                                 ("plan stored once by content, named by digest (v3)", True)):
            root = tmp / ("digest" if by_digest else "inline")
            t0 = time.perf_counter()
            n = record(root, plan, completed, args.runs, by_digest)
            build = time.perf_counter() - t0
            db = root / ".canalis" / "ledger.db"
            size = size_after_checkpoint(db)
            conn = sqlite3.connect(str(db))  # where the bytes are: per table and index (dbstat)
            tables = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
            conn.close()
            print(label + ": " + ", ".join(f"{name} {b / n:.0f}" for name, b in tables if b / n >= 1) + " (bytes per event)")
            led = layout.find(root).open_ledger()
            verify = timed(lambda: led.verify())
            rebuild = timed(lambda: led.rebuild())
            led.close()
            rows.append((label, n, size, size / n, build, verify, rebuild))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        f"{args.runs} runs of a 5-step pipeline (plan document {plan_bytes:,} bytes); {os.cpu_count()} cores; "
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {platform.platform()}; "
        f"load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "| ledger | events | file size | bytes per event | record (s) | verify (s) | rebuild (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, n, size, per, build, verify, rebuild in rows:
        lines.append(f"| {label} | {n:,} | {size / 1e6:.1f} MB | {per:,.0f} | {build:.1f} | {verify:.2f} | {rebuild:.2f} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
