"""REST server benchmark (run by hand): the status route's throughput and the submit latency
of a fully reused published pipeline, over HTTP on loopback.

    apt-get install wrk                     # the load generator
    python bench/server_bench.py [--repeat 3] [--duration 10] [--submits 20] [--out bench/results-server.md]

Measures, in one run against one `canalis serve` (127.0.0.1, a free port):
  1. requests per second of `GET /runs/{id}` (the status route: token check, ledger read,
     derived status) and of `GET /health` (no token, no ledger: the HTTP stack alone), with
     wrk (2 threads, 16 connections, --duration seconds), median of --repeat;
  2. submit latency of a 5-step published pipeline whose steps are all reused: the time of
     `POST /pipelines/{id}/runs` (recorded, executor started, 201 answered), and the time
     from that POST until `GET /runs/{id}` says Completed (polled every 10 ms), over
     --submits sequential submits; beside it the same run submitted from Python
     (`published.submit` + `wait_for_completion`), in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import requests

STEP = textwrap.dedent("""
    import os, sys
    out = sys.argv[-1]
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "data.txt"), "w").write(" ".join(sys.argv[1:-1]))
""")


def _pipeline(ws, src):
    from canalis.data import OutputFileDatasetConfig
    from canalis.pipeline.core import Pipeline, PipelineParameter
    from canalis.pipeline.steps import PythonScriptStep

    n = PipelineParameter("n", 1)
    steps, prev = [], None
    for i in range(5):
        out = OutputFileDatasetConfig(name=f"d{i}")
        args = [n] + ([prev.as_input()] if prev is not None else []) + [out]
        steps.append(PythonScriptStep(name=f"s{i}", script_name="step.py", source_directory=str(src), arguments=args))
        prev = out
    return Pipeline(ws, steps)


def _wrk(url: str, token: str | None, duration: int) -> float:
    cmd = ["wrk", "-t2", "-c16", f"-d{duration}s", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"wrk saw {errors.group(1)} failed responses:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--submits", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results-server.md"))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")

    from canalis.core import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="canalis-server-bench-"))
    ws = Workspace.create("bench", path=tmp / "ws")
    src = tmp / "src"
    src.mkdir()
    (src / "step.py").write_text(STEP)
    published = _pipeline(ws, src).publish(name="bench")
    first = published.submit(ws, "bench")
    assert first.wait_for_completion() == "Completed"
    _row, token = ws.session.create_token("bench")
    log = open(tmp / "server.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "canalis", "serve", "--port", "0", "--workspace", str(ws.root)],
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None:
            if time.monotonic() > deadline:
                raise SystemExit((tmp / "server.log").read_text())
            try:
                rec = json.loads((ws.root / ".canalis" / "server.json").read_text())
                if rec["pid"] == server.pid and requests.get(rec["url"] + "/health", timeout=2).ok:
                    url = rec["url"]
            except (FileNotFoundError, json.JSONDecodeError, requests.ConnectionError):
                time.sleep(0.05)
        headers = {"Authorization": f"Bearer {token}"}

        status_rps, health_rps = [], []
        for _ in range(args.repeat):
            status_rps.append(_wrk(f"{url}/runs/{first.id}", token, args.duration))
            health_rps.append(_wrk(f"{url}/health", None, args.duration))

        post, complete, python_complete = [], [], []
        http = requests.Session()
        for i in range(args.submits):
            t0 = time.perf_counter()
            r = http.post(f"{url}/pipelines/{published.id}/runs", headers=headers,
                          json={"ExperimentName": "bench", "ParameterAssignments": {"n": 1}})
            t1 = time.perf_counter()
            assert r.status_code == 201, r.text
            run_id = r.json()["Id"]
            while http.get(f"{url}/runs/{run_id}", headers=headers).json()["Status"] != "Completed":
                time.sleep(0.01)
            t2 = time.perf_counter()
            post.append(t1 - t0)
            complete.append(t2 - t0)
            t0 = time.perf_counter()
            run = published.submit(ws, "bench", pipeline_parameters={"n": 1})
            assert run.wait_for_completion(show_output=False) == "Completed"
            python_complete.append(time.perf_counter() - t0)
        reused = [s for s in ws.ledger.step_runs(run_id) if s.reused_from]
        assert len(reused) == 5, "the benchmark's runs must reuse every step"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()

    def ms(xs):
        return f"{statistics.median(xs) * 1000:.0f}"

    def p90(xs):
        return f"{sorted(xs)[int(0.9 * (len(xs) - 1))] * 1000:.0f}"

    lines = [
        f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; load average at the end: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}. wrk 2 threads, 16 connections, {args.duration} s, "
        f"median of {args.repeat}; {args.submits} sequential submits.",
        "",
        "| what | median | runs / p90 |",
        "|---|---:|---|",
        f"| GET /runs/{{id}} (token + ledger read), requests/s | {statistics.median(status_rps):,.0f} | "
        f"{', '.join(f'{x:,.0f}' for x in status_rps)} |",
        f"| GET /health (HTTP stack only), requests/s | {statistics.median(health_rps):,.0f} | "
        f"{', '.join(f'{x:,.0f}' for x in health_rps)} |",
        f"| POST /pipelines/{{id}}/runs answered (ms) | {ms(post)} | p90 {p90(post)} |",
        f"| POST until GET says Completed, 5 steps all reused (ms) | {ms(complete)} | p90 {p90(complete)} |",
        f"| same run from Python: published.submit + wait_for_completion (ms) | {ms(python_complete)} | "
        f"p90 {p90(python_complete)} |",
    ]
    table = "\n".join(lines)
    print(table)
    Path(args.out).write_text(table + "\n", encoding="utf-8")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
