"""Paired ledger benchmark (run by hand): verify and rebuild time and file size, this install
against another (a peer install of an earlier canalis), measured in the same run.

    python bench/ledger_pair_bench.py --peer-python /tmp/peer653-venv/bin/python \\
        --peer-root /tmp/peer653 [--events 200000] [--repeat 5] [--out FILE]

Each install builds a ledger of the same --events events (`ledger_bench.mixed_events` of its
own checkout, seed 4, appended in batches of 5,000). Then verify and rebuild are timed
alternately (this, peer, this, peer, ...), each in a fresh process that opens the ledger and
times only the call (wall and CPU time of the process: on a loaded machine the CPU time is
the steadier figure); the medians are reported with every run and the load average.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKER = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
mode, path = sys.argv[2], sys.argv[3]
from canalis.ledger import Ledger
if mode == "build":  # `path` is a folder: the install's own ledger_bench builds big-N.db in it
    from pathlib import Path
    from ledger_bench import build
    led, _ = build(Path(path), int(sys.argv[4]))
    led._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    n = led.count()
    led.close()
    print(json.dumps({"events": n, "bytes": os.path.getsize(os.path.join(path, f"big-{sys.argv[4]}.db"))}))
else:
    led = Ledger(path)
    t, c = time.perf_counter(), time.process_time()
    if mode == "verify":
        assert led.verify().ok
    else:
        led.rebuild()
    dt, dc = time.perf_counter() - t, time.process_time() - c
    led.close()
    print(json.dumps({"seconds": dt, "cpu": dc}))
"""


def run(python: str, bench_dir: Path, *args) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([python, "-c", WORKER, str(bench_dir), *map(str, args)], check=True, capture_output=True,
                         text=True, env=env, cwd=str(bench_dir.parent))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peer-python", required=True)
    ap.add_argument("--peer-root", required=True, help="the peer's checkout (its bench/ledger_bench.py is used)")
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    installs = {"this": (sys.executable, HERE), "peer": (args.peer_python, Path(args.peer_root) / "bench")}
    tmp = Path(tempfile.mkdtemp(prefix="canalis-ledger-pair-"))
    try:
        sizes = {}
        times = {(who, op, k): [] for who in installs for op in ("verify", "rebuild") for k in ("seconds", "cpu")}
        for who, (python, bench_dir) in installs.items():
            (tmp / who).mkdir()
            sizes[who] = run(python, bench_dir, "build", tmp / who, args.events)
            print(who, sizes[who], flush=True)
        for i in range(args.repeat):
            for op in ("verify", "rebuild"):
                order = list(installs) if i % 2 == 0 else list(reversed(installs))
                for who in order:
                    python, bench_dir = installs[who]
                    got = run(python, bench_dir, op, tmp / who / f"big-{args.events}.db")
                    for k in ("seconds", "cpu"):
                        times[(who, op, k)].append(got[k])
                    print(who, op, f"{got['seconds']:.3f} s, cpu {got['cpu']:.3f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [f"{args.events:,} events (ledger_bench mixed events), {args.repeat} alternating repeats; {os.cpu_count()} "
             f"cores; load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}.", "",
             "| | this | peer | this / peer |", "|---|---:|---:|---:|"]
    for op in ("verify", "rebuild"):
        for k, what in (("seconds", "wall"), ("cpu", "CPU")):
            mine, theirs = times[("this", op, k)], times[("peer", op, k)]
            a, b = statistics.median(mine), statistics.median(theirs)
            lines.append(f"| {op}, {what} time (median s; runs this {', '.join(f'{x:.2f}' for x in mine)}; "
                         f"peer {', '.join(f'{x:.2f}' for x in theirs)}) | {a:.2f} | {b:.2f} | {a / b:.2f} |")
    lines.append(f"| file size (bytes per event) | {sizes['this']['bytes'] / sizes['this']['events']:.0f} | "
                 f"{sizes['peer']['bytes'] / sizes['peer']['events']:.0f} | "
                 f"{sizes['this']['bytes'] / sizes['peer']['bytes']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
