"""Ledger benchmark (run by hand): appends/s single and in batches, rebuild and verify time.

    python bench/ledger_bench.py [--sizes 100000 1000000] [--repeat 3] [--out bench/results-ledger.md]

Events are a realistic mix: runs with a submitted plan and parameters, started/completed
steps with outputs, metrics (mostly scalars, some lists/rows), artifacts, some reuse,
dataset and model registrations. Each ledger lives in a temporary folder on the same disk.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from canalis.ledger import Ledger
from canalis.ledger import events as ev


def mixed_events(n: int, seed: int = 1):
    """Yield n events shaped like real pipeline runs (about 20 % steps, 55 % metrics)."""
    rnd = random.Random(seed)
    emitted, run_no, ds_versions = 0, 0, {}
    completed: list[tuple[str, str, str]] = []
    while True:
        run_no += 1
        rid = f"run-{run_no:07d}"
        steps = [f"step{i}" for i in range(rnd.randint(3, 8))]
        batch = [ev.RunSubmitted(
            run_id=rid, experiment=f"exp{run_no % 7}", kind="pipeline",
            parameters={"learning_rate": rnd.random(), "epochs": rnd.randint(1, 50), "data": "iris"},
            tags={"team": "ml", "ticket": f"T-{run_no}"},
            plan={"steps": [{"name": s, "reuse_key": f"{rnd.getrandbits(128):032x}", "script": f"{s}.py",
                             "inputs": ["in"], "outputs": ["out"]} for s in steps]},
            git={"commit": f"{rnd.getrandbits(160):040x}", "dirty": False}, host="bench-host", pid=4242, user="bench"),
            ev.RunStarted(run_id=rid, host="bench-host", pid=4242)]
        for i, name in enumerate(steps):
            sid = f"{rid}.{name}"
            key = f"key-{name}-{rnd.randint(0, 200)}"
            if completed and rnd.random() < 0.2:
                frm_run, frm, frm_key = rnd.choice(completed)
                batch.append(ev.StepReused(run_id=rid, step_run_id=sid, step_name=name, reuse_key=frm_key,
                                           reused_from=frm, reused_run_id=frm_run, outputs={"out": "ab" * 32}))
                continue
            batch.append(ev.StepStarted(run_id=rid, step_run_id=sid, step_name=name, reuse_key=key, pid=5000 + i))
            for m in range(rnd.randint(2, 10)):
                if rnd.random() < 0.85:
                    batch.append(ev.MetricLogged(run_id=rid, step_run_id=sid, name=f"loss{m % 3}", value=rnd.random()))
                else:
                    batch.append(ev.MetricLogged(run_id=rid, step_run_id=sid, name="curve", kind="list",
                                                 value=[rnd.random() for _ in range(10)]))
            if rnd.random() < 0.3:
                batch.append(ev.ArtifactUploaded(run_id=rid, step_run_id=sid, name=f"outputs/{name}.png",
                                                 digest=f"{rnd.getrandbits(256):064x}", size=rnd.randint(1, 10**6)))
            batch.append(ev.StepCompleted(run_id=rid, step_run_id=sid, step_name=name, reuse_key=key,
                                          outputs={"out": f"{rnd.getrandbits(256):064x}"},
                                          stdout=f"{rnd.getrandbits(256):064x}", stderr=None,
                                          exit_code=0, duration_s=rnd.random() * 100))
            completed.append((rid, sid, key))
            if len(completed) > 500:
                completed = completed[-500:]
        if rnd.random() < 0.1:
            name = f"ds{rnd.randint(0, 20)}"
            ds_versions[name] = ds_versions.get(name, 0) + 1
            batch.append(ev.DatasetRegistered(name=name, version=ds_versions[name], id=f"{rid}-ds",
                                              digest=f"{rnd.getrandbits(256):064x}", lineage={"sources": [{"datastore": "blob"}]}))
        if rnd.random() < 0.05:
            batch.append(ev.ModelRegistered(name="clf", version=run_no, id=f"{rid}-m",
                                            digest=f"{rnd.getrandbits(256):064x}", lineage={"run_id": rid}))
        batch.append(ev.RunCompleted(run_id=rid, duration_s=rnd.random() * 1000))
        for e in batch:
            yield e
            emitted += 1
            if emitted == n:
                return


def _fresh(tmp: Path, name: str) -> Ledger:
    path = tmp / name
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return Ledger(path)


def bench_single(tmp: Path, n: int) -> float:
    events = list(mixed_events(n, seed=2))
    led = _fresh(tmp, "single.db")
    t = time.perf_counter()
    for e in events:
        led.append(e)
    dt = time.perf_counter() - t
    assert led.verify().ok
    led.close()
    return n / dt


def bench_batches(tmp: Path, n: int, size: int) -> float:
    events = list(mixed_events(n, seed=3))
    led = _fresh(tmp, "batch.db")
    t = time.perf_counter()
    for i in range(0, n, size):
        led.append_many(events[i:i + size])
    dt = time.perf_counter() - t
    led.close()
    return n / dt


def build(tmp: Path, n: int) -> tuple[Ledger, float]:
    led = _fresh(tmp, f"big-{n}.db")
    t = time.perf_counter()
    chunk = []
    for e in mixed_events(n, seed=4):
        chunk.append(e)
        if len(chunk) == 5000:
            led.append_many(chunk)
            chunk = []
    if chunk:
        led.append_many(chunk)
    return led, time.perf_counter() - t


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--single", type=int, default=10_000, help="events for the single-append run")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big-repeat", type=int, default=2, help="repeats of rebuild/verify at the largest size")
    ap.add_argument("--dir", default=None, help="folder for the ledgers (default: a temp folder)")
    ap.add_argument("--out", default=None, help="write a markdown report here")
    args = ap.parse_args(argv)
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="canalis-ledger-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    rows = []

    def report(what, values, unit, target=""):
        med = statistics.median(values)
        shown = ", ".join(f"{v:,.2f}" if unit == "s" else f"{v:,.0f}" for v in values)
        line = f"| {what} | {med:,.2f} {unit} | {shown} | {target} |" if unit == "s" else \
               f"| {what} | {med:,.0f} {unit} | {shown} | {target} |"
        rows.append(line)
        print(line, flush=True)

    print("| measurement | median | runs | target |\n|---|---|---|---|", flush=True)
    report(f"single appends ({args.single:,} events, one transaction each)",
           [bench_single(tmp, args.single) for _ in range(args.repeat)], "events/s", "≥ 5,000 events/s")
    for size in (10, 100, 1000):
        report(f"append_many, batches of {size} ({50_000:,} events)",
               [bench_batches(tmp, 50_000, size) for _ in range(args.repeat)], "events/s")
    for n in args.sizes:
        led, build_s = build(tmp, n)
        rep = args.repeat if n < max(args.sizes) or len(args.sizes) == 1 and n <= 100_000 else args.big_repeat
        report(f"build {n:,} events (append_many, batches of 5,000)", [n / build_s], "events/s")
        results = []
        report(f"verify {n:,} events", timed(lambda: results.append(led.verify()), rep), "s",
               "< 60 s" if n >= 1_000_000 else "")
        assert all(r.ok for r in results)
        report(f"rebuild {n:,} events", timed(led.rebuild, rep), "s", "< 60 s" if n >= 1_000_000 else "")
        size_mb = sum(p.stat().st_size for p in tmp.glob(f"big-{n}.db*")) / 1e6
        rows.append(f"| ledger file size at {n:,} events | {size_mb:,.0f} MB | | |")
        print(rows[-1], flush=True)
        led.close()
        for p in tmp.glob(f"big-{n}.db*"):
            p.unlink()
    if args.out:
        import sqlite3

        head = (f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
                f"SQLite {sqlite3.sqlite_version}, {platform.platform()}.\n"
                f"Command: `python bench/ledger_bench.py {' '.join(sys.argv[1:])}`\n\n")
        Path(args.out).write_text(head + "| measurement | median | runs | target |\n|---|---|---|---|\n"
                                  + "\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
