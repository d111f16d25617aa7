"""The Dask runner and ParallelRunStep, measured: `python bench/dask_bench.py [--reps N]`.

1. A fan-out of 16 independent CPU-bound steps (each burns 2 s of CPU time) on the local runner,
   on a Dask cluster of 1 worker and of 2 workers (one thread each, started here on 127.0.0.1).
2. ParallelRunStep over 10,000 small files (mini-batches of 100) in the local process pool and on
   the 2-worker cluster, then again after adding 100 files (only their mini-batch runs).

Prints a Markdown table and writes it to bench/results-dask.md. Every run regenerates its steps.
"""
from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BURN = """
import sys, time
from pathlib import Path
while time.process_time() < 2.0:
    pass
out = Path(sys.argv[2]); out.mkdir(parents=True, exist_ok=True)
(out / "done").write_text(sys.argv[1])
"""
ENTRY = """
import os
def init():
    pass
def run(mini_batch):
    return [f"{os.path.basename(p)} {len(open(p).read())}" for p in mini_batch]
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_env() -> dict:
    """The environment of workers started with canalis' recommended settings for CPU-bound steps
    (executor/runners/dask.py QUIET_WORKER_CONFIG, as DASK_* variables)."""
    from canalis.executor.runners.dask import QUIET_WORKER_CONFIG

    env = dict(os.environ)
    for key, value in QUIET_WORKER_CONFIG.items():
        env["DASK_" + "__".join(part.upper().replace("-", "_") for part in key.split("."))] = str(value)
    return env


class Cluster:
    def __init__(self, workers: int, log, quiet: bool = False):
        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        py = [sys.executable, "-m"]
        self.procs = [subprocess.Popen([*py, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                                        "--no-dashboard"], stdout=log, stderr=log)]
        for i in range(workers):
            self.procs.append(subprocess.Popen([*py, "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                                                "--no-nanny", "--no-dashboard", "--name", f"w{i + 1}", "--host",
                                                "127.0.0.1"], stdout=log, stderr=log,
                                               env=quiet_env() if quiet else None))
        from distributed import Client

        with Client(self.address, timeout="60s") as c:
            c.wait_for_workers(workers, timeout=120)

    def stop(self):
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def timed_submit(ws, pipeline, concurrent=None) -> float:
    from canalis.core import Experiment

    t0 = time.perf_counter()
    run = Experiment(ws, "bench").submit(pipeline, regenerate_outputs=True, max_concurrent_steps=concurrent)
    status = run.wait_for_completion(raise_on_error=False)
    elapsed = time.perf_counter() - t0
    if status != "Completed":
        raise SystemExit(f"run {run.id} ended {status}")
    return elapsed


def fan_out(ws, src, target):
    from canalis.data import OutputFileDatasetConfig
    from canalis.pipeline.core import Pipeline
    from canalis.pipeline.steps import PythonScriptStep

    return Pipeline(ws, [PythonScriptStep(script_name="burn.py", name=f"b{i}", source_directory=str(src),
                                          arguments=[f"b{i}", OutputFileDatasetConfig(name=f"o{i}")],
                                          compute_target=target, allow_reuse=False) for i in range(16)])


def prs(ws, src, target, n_files):
    from canalis.core import Dataset
    from canalis.data import OutputFileDatasetConfig
    from canalis.pipeline.core import Pipeline
    from canalis.pipeline.steps import ParallelRunConfig, ParallelRunStep

    root = ws.get_default_datastore().root / "many"
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n_files):
        f = root / f"f{i:05d}.txt"
        if not f.exists():
            f.write_text("x" * (i % 97 + 1))
    data = Dataset.File.from_files(path=str(root))
    cfg = ParallelRunConfig(source_directory=str(src), entry_script="entry.py", mini_batch_size=100,
                            error_threshold=-1, output_action="append_row", compute_target=target,
                            process_count_per_node=2)
    return Pipeline(ws, [ParallelRunStep(name="score", parallel_run_config=cfg,
                                         inputs=[data.as_named_input("files")],
                                         output=OutputFileDatasetConfig(name="scores"))])


def paired(reps: int, concurrent, quiet: bool) -> None:
    """1 worker against 2 workers, paired: both clusters up at once, the runs alternating
    (1, 2, 2, 1, 1, 2, ...) so that a change of load hits both alike; medians and the ratio of
    each pair. Prints a Markdown table and writes it to bench/results-dask-paired.md."""
    from canalis.core import Workspace
    from canalis.core.compute import ComputeTarget, DaskCompute

    tmp = Path(tempfile.mkdtemp(prefix="canalis-dask-paired-"))
    src = tmp / "src"
    src.mkdir()
    (src / "burn.py").write_text(BURN)
    log = open(tmp / "cluster.log", "ab")
    ws = Workspace.create("bench", path=tmp / "ws")
    clusters = {1: Cluster(1, log, quiet), 2: Cluster(2, log, quiet)}
    times: dict[int, list[float]] = {1: [], 2: []}
    try:
        for n, c in clusters.items():
            ComputeTarget.attach(ws, f"dask{n}", DaskCompute.attach_configuration(scheduler_address=c.address))
        for rep in range(reps):
            for n in ((1, 2) if rep % 2 == 0 else (2, 1)):
                pipeline = fan_out(ws, src, f"dask{n}")
                t = timed_submit(ws, pipeline, concurrent)
                times[n].append(t)
                print(f"rep {rep + 1}, {n} worker(s): {t:.2f} s", flush=True)
    finally:
        for c in clusters.values():
            c.stop()
    ratios = [a / b for a, b in zip(times[1], times[2])]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = "\n".join([
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average at the end: {load}; "
        f"max concurrent steps: {concurrent or 'default'}; "
        f"workers: {'quiet settings (docs/dask.md)' if quiet else 'Dask defaults'}.", "",
        "| what | median (s) | runs (s) |", "|---|---:|---|",
        *(f"| 16 steps x 2 s CPU, Dask, {n} worker(s) | {statistics.median(v):.2f} | "
          f"{', '.join(f'{x:.2f}' for x in v)} |" for n, v in times.items()),
        "", f"2 workers vs 1, per pair: {', '.join(f'{r:.2f}' for r in ratios)}; median {statistics.median(ratios):.2f}x "
        f"(ratio of medians {statistics.median(times[1]) / statistics.median(times[2]):.2f}x).", ""])
    print(text)
    (Path(__file__).parent / "results-dask-paired.md").write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--paired", action="store_true", help="only the fan-out, 1 vs 2 workers, paired and alternating")
    ap.add_argument("--max-concurrent-steps", type=int, default=None)
    ap.add_argument("--quiet-workers", action="store_true", help="workers with the settings docs/dask.md recommends")
    args = ap.parse_args()
    if args.paired:
        return paired(args.reps, args.max_concurrent_steps, args.quiet_workers)
    from canalis.core import Workspace
    from canalis.core.compute import ComputeTarget, DaskCompute

    tmp = Path(tempfile.mkdtemp(prefix="canalis-dask-bench-"))
    src = tmp / "src"
    src.mkdir()
    (src / "burn.py").write_text(BURN)
    (src / "entry.py").write_text(ENTRY)
    log = open(tmp / "cluster.log", "ab")
    rows = []

    def measure(label, fn, reps=args.reps):
        runs = [fn() for _ in range(reps)]
        rows.append((label, statistics.median(runs), runs))
        print(f"{label}: {', '.join(f'{r:.2f}' for r in runs)}", flush=True)
        return statistics.median(runs)

    ws = Workspace.create("bench", path=tmp / "ws")
    local = measure("16 steps x 2 s CPU, local runner", lambda: timed_submit(ws, fan_out(ws, src, "local")))
    one = Cluster(1, log)
    try:
        ComputeTarget.attach(ws, "dask1", DaskCompute.attach_configuration(scheduler_address=one.address))
        t1 = measure("16 steps x 2 s CPU, Dask, 1 worker", lambda: timed_submit(ws, fan_out(ws, src, "dask1")))
    finally:
        one.stop()
    two = Cluster(2, log)
    try:
        ComputeTarget.attach(ws, "dask2", DaskCompute.attach_configuration(scheduler_address=two.address))
        t2 = measure("16 steps x 2 s CPU, Dask, 2 workers", lambda: timed_submit(ws, fan_out(ws, src, "dask2")))
        p_local = measure("ParallelRunStep, 10,000 files, local pool (2 processes)",
                          lambda: timed_submit(ws, prs(ws, src, None, 10_000)), reps=1)
        p_dask = measure("ParallelRunStep, 10,000 files, Dask, 2 workers",
                         lambda: _fresh_cache(ws) or timed_submit(ws, prs(ws, src, "dask2", 10_000)), reps=1)
        p_more = measure("ParallelRunStep, +100 files (only the new mini-batch runs), Dask",
                         lambda: timed_submit(ws, prs(ws, src, "dask2", 10_100)), reps=1)
    finally:
        two.stop()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, Linux {platform.release()}; "
             f"load average at the end: {load}.", "",
             "| what | median (s) | runs (s) |", "|---|---:|---|"]
    lines += [f"| {label} | {med:.2f} | {', '.join(f'{r:.2f}' for r in runs)} |" for label, med, runs in rows]
    lines += ["", f"2 workers vs 1: {t1 / t2:.2f}x faster; local runner vs 2 workers: {local / t2:.2f}x. "
              f"ParallelRunStep: {10_000 / p_local:,.0f} files/s locally, {10_000 / p_dask:,.0f} files/s on Dask; "
              f"adding 100 files re-ran in {p_more:.2f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    (Path(__file__).parent / "results-dask.md").write_text(text)


def _fresh_cache(ws):
    """Forget kept mini-batch results, so the Dask run processes every mini-batch."""
    import shutil

    shutil.rmtree(Path(ws.root) / ".canalis" / "parallel", ignore_errors=True)


if __name__ == "__main__":
    main()
