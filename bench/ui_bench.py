"""Web UI benchmark (run by hand): how long the runs page of an experiment with 10,000 runs
takes to answer, first page, a filtered page, a page sorted by a per-step count, the last page.

    python bench/ui_bench.py [--runs 10000]

Makes a workspace in a temporary folder, records the runs straight into its ledger (two steps
each, as tests/server/ui/demo.py does), starts `canalis serve` on 127.0.0.1 and times GETs
(median of 5, after one warm-up request)."""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.ui.demo import many_runs  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    args = ap.parse_args()
    from canalis.core import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.create("bench", path=tmp)
        t = time.perf_counter()
        many_runs(ws.ledger, "big", args.runs)
        print(f"recorded {args.runs} runs in {time.perf_counter() - t:.1f} s")
        proc = subprocess.Popen([sys.executable, "-m", "canalis", "serve", "--port", "0", "--workspace", tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            record = Path(tmp) / ".canalis" / "server.json"
            while True:
                try:
                    data = json.loads(record.read_text())
                    if data.get("pid") == proc.pid and requests.get(data["url"] + "/health", timeout=5).ok:
                        break
                except (FileNotFoundError, json.JSONDecodeError, requests.ConnectionError):
                    pass
                time.sleep(0.05)
            url = data["url"] + "/experiments/big"
            pages = {"first page (50 runs)": {}, "status=Failed, tag team=vision": {"status": "Failed", "tag": "team=vision"},
                     "sorted by failed steps": {"sort": "failed"}, "last page": {"page": -(-args.runs // 50)},
                     "200 runs a page": {"size": 200}}
            print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
            for name, params in pages.items():
                requests.get(url, params=params, timeout=60).raise_for_status()
                times = []
                for _ in range(5):
                    t = time.perf_counter()
                    r = requests.get(url, params=params, timeout=60)
                    times.append(time.perf_counter() - t)
                    r.raise_for_status()
                print(f"| {name} | {statistics.median(times) * 1000:.0f} ms | {len(r.content) // 1024} KiB |")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
