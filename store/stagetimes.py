"""Per-stage timers of a large file's ingest, to see where its time goes.

Off unless the environment variable CANALIS_INGEST_PROFILE is set (to anything but empty):
then every stage's wall time and thread CPU time are summed over all threads, and one line
per stage is printed to stderr when a single put of a large file (`put_file`, `canalis store
put`) ends; a snapshot's large files add to the sums without printing them
(`bench/chunk_bench.py --profile` reads the lines). Off, a timed call is a plain call.
"""
from __future__ import annotations

import os
import sys
import threading
import time

ENABLED = bool(os.environ.get("CANALIS_INGEST_PROFILE"))
_lock = threading.Lock()
_wall: dict[str, float] = {}
_cpu: dict[str, float] = {}
_calls: dict[str, int] = {}


def timed(stage: str, fn, *args):
    """fn(*args), its time added to `stage` when profiling is on."""
    if not ENABLED:
        return fn(*args)
    w, c = time.perf_counter(), time.thread_time()
    try:
        return fn(*args)
    finally:
        add(stage, time.perf_counter() - w, time.thread_time() - c)


def add(stage: str, wall: float, cpu: float) -> None:
    with _lock:
        _wall[stage] = _wall.get(stage, 0.0) + wall
        _cpu[stage] = _cpu.get(stage, 0.0) + cpu
        _calls[stage] = _calls.get(stage, 0) + 1


def report(out=None) -> None:
    """Print and reset the sums: `ingest-stage <name> wall <s> cpu <s> calls <n>` per stage."""
    if not ENABLED:
        return
    out = out or sys.stderr
    with _lock:
        for stage in _wall:
            print(f"ingest-stage {stage} wall {_wall[stage]:.3f} cpu {_cpu[stage]:.3f} calls {_calls[stage]}", file=out)
        _wall.clear()
        _cpu.clear()
        _calls.clear()
