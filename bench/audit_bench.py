"""Audit benchmark (run by hand): gc and lineage on a large history.

    python bench/audit_bench.py [--runs 1000] [--repeat 5] [--out bench/results-audit.md]

Builds a workspace whose store holds about 100,000 objects written by 1,000 runs of a
4-step pipeline: every run records the events the executor records (run.submitted with
the plan, step.started and step.completed with output trees, stdout/stderr blobs, key
documents, metrics) through the real ledger and store APIs, without starting step
processes. Every 10th run registers a dataset version. Then, median of --repeat:
  - `canalis gc --dry-run --keep-last 100` (whole process);
  - `canalis lineage` of the last dataset version and of a run (whole process);
and once, `canalis gc --keep-last 100` for real.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES_PER_OUTPUT = 20
STEPS = ("prepare", "featurize", "train", "evaluate")


def build(root: Path, runs: int) -> dict:
    from canalis import layout
    from canalis.executor.engine import submitted_event
    from canalis.executor.fingerprint import reuse_key
    from canalis.executor.plan import InputSpec, OutputSpec, Plan, StepSpec
    from canalis.ledger import events as ev

    lay = layout.init(root)
    store, ledger = lay.open_store(), lay.open_ledger()
    source = root / "src"
    source.mkdir()
    for s in STEPS:
        (source / f"{s}.py").write_text(f"# {s}\n")
    src_tree = store.snapshot(source).tree
    data_tree = store.put_files({"data.csv": source / "prepare.py"}).tree
    out_dir = root / "out"
    out_dir.mkdir()
    last = {}
    for r in range(runs):
        run_id = f"bench_{r:05d}"
        specs, prev = [], None
        for s in STEPS:
            inputs = [InputSpec(name="data", source="data", tree=data_tree)] if prev is None else \
                [InputSpec(name=prev, source="output", output=prev)]
            specs.append(StepSpec(name=s, kind="python", source_tree=src_tree, script=f"{s}.py",
                                  arguments=[{"param": "seed"}], inputs=inputs, outputs=[OutputSpec(name=s + "_out")],
                                  environment={"digest": "0" * 64, "definition": {}}))
            prev = s + "_out"
        plan = Plan(specs, parameters={"seed": r})
        events = [submitted_event(run_id, "bench", plan, {"seed": r}), ev.RunStarted(run_id=run_id, host="bench", pid=1, resumed=False)]
        trees = {"data": data_tree}
        for spec in specs:
            used = {i.name: trees[i.name if i.source == "data" else i.output] for i in spec.inputs}
            key, doc = reuse_key(spec, used, {"seed": r})
            store.put_bytes(doc)
            for f in range(FILES_PER_OUTPUT):  # an output folder, snapshotted as the executor does (packed)
                (out_dir / f"part-{f:03d}.txt").write_bytes(f"{run_id} {spec.name} part {f}\n".encode() * 20)
            out_tree = store.snapshot(out_dir, ignore=False, stat_cache=False).tree
            trees[spec.outputs[0].name] = out_tree
            sid = f"{run_id}-{spec.name}"
            stdout = store.put_bytes(f"{sid} stdout\n".encode())
            stderr = store.put_bytes(f"{sid} stderr\n".encode())
            events += [
                ev.StepStarted(run_id=run_id, step_run_id=sid, step_name=spec.name, reuse_key=key, attempt=1, pid=None,
                               inputs=sorted([n, t] for n, t in used.items())),
                ev.MetricLogged(run_id=run_id, step_run_id=sid, name="loss", kind="scalar", value=1.0 / (r + 1), description=None),
                ev.StepCompleted(run_id=run_id, step_run_id=sid, step_name=spec.name, reuse_key=key,
                                 outputs={spec.outputs[0].name: out_tree}, stdout=stdout, stderr=stderr, exit_code=0,
                                 duration_s=0.1, allow_reuse=True),
            ]
        events.append(ev.RunCompleted(run_id=run_id, duration_s=0.5))
        if r % 10 == 0:
            events.append(ev.DatasetRegistered(name="features", version=r // 10 + 1, dataset_id=f"ds{r}", kind="file",
                                               tree=trees["featurize_out"], description=None, tags={},
                                               source={"run_id": run_id, "step_run_id": f"{run_id}-featurize"}, run_id=run_id))
            last["dataset"] = f"dataset:features:{r // 10 + 1}"
        ledger.append_many(events)
        last["run"] = run_id
    return last


def timed(cmd, cwd) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{cmd} failed: {out.stderr}")
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=str(HERE / "results-audit.md"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="canalis-audit-bench-"))
    try:
        t0 = time.perf_counter()
        last = build(tmp / "ws", args.runs)
        built = time.perf_counter() - t0
        cli = [sys.executable, "-m", "canalis"]
        ws = tmp / "ws"
        objects = sum(1 for _ in __import__("canalis.store", fromlist=["LocalStore"]).LocalStore(ws / ".canalis" / "objects").iter_objects())
        packs = len(os.listdir(ws / ".canalis" / "objects" / "packs"))
        events = json.loads(subprocess.run(cli + ["ledger", "head", "--json"], cwd=ws, capture_output=True, text=True).stdout)
        dry = [timed(cli + ["gc", "--dry-run", "--keep-last", "100", "--grace", "0s", "--json"], ws) for _ in range(args.repeat)]
        lin_ds = [timed(cli + ["lineage", last["dataset"], "--json"], ws) for _ in range(args.repeat)]
        lin_run = [timed(cli + ["lineage", last["run"], "--json"], ws) for _ in range(args.repeat)]
        bare = [timed([sys.executable, "-c", "pass"], ws) for _ in range(args.repeat)]
        time.sleep(0.2)
        real = timed(cli + ["gc", "--keep-last", "100", "--grace", "0s", "--json"], ws)
        after = sum(1 for _ in __import__("canalis.store", fromlist=["LocalStore"]).LocalStore(ws / ".canalis" / "objects").iter_objects())
        packs_after = len(os.listdir(ws / ".canalis" / "objects" / "packs"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median
    text = "\n".join([
        f"{args.runs} runs, {objects:,} objects ({packs:,} pack files; {packs_after:,} after gc), "
        f"{events.get('seq', events)} events (built in {built:.0f} s); "
        f"median of {args.repeat}; {os.cpu_count()} cores; whole `canalis` processes (bare interpreter start {med(bare)*1000:.0f} ms).",
        "",
        "| measurement | time | target |",
        "|---|---|---|",
        f"| `canalis gc --dry-run --keep-last 100` | {med(dry):.2f} s | < 30 s |",
        f"| `canalis gc --keep-last 100` (removed {objects - after:,} objects, once) | {real:.2f} s | < 30 s |",
        f"| `canalis lineage {last['dataset']}` | {med(lin_ds):.2f} s | < 1 s |",
        f"| `canalis lineage <run>` | {med(lin_run):.2f} s | < 1 s |",
    ]) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
