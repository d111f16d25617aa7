"""Import-cost benchmark (run by hand): the ledger's event catalogue and row types.

    python bench/ledger_import_bench.py [--repeat 21] [--peer-python /path/to/before/bin/python]

Runs `python -X importtime -c "import canalis.ledger.events, canalis.ledger.rows"` in fresh
processes, alternating between this interpreter's install and the peer's (paired, same
load), and prints the medians of the modules' self times and of the whole import. Compile
bytecode first (`python -m compileall -q`) and run without PYTHONDONTWRITEBYTECODE, as a
normal install has it.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys

MODULES = ("canalis.ledger.events", "canalis.ledger.rows", "canalis.ledger.frozen")
CODE = "import canalis.ledger.events, canalis.ledger.rows"


def sample(python: str) -> dict[str, float]:
    """Microseconds per module (self time) and for the whole statement, from one process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    err = subprocess.run([python, "-X", "importtime", "-c", CODE], env=env, capture_output=True, text=True,
                         check=True).stderr
    out, total = {}, 0
    for m in re.finditer(r"import time:\s+(\d+) \|\s+(\d+) \|(\s+)(\S+)", err):
        self_us, cum_us, name = int(m.group(1)), int(m.group(2)), m.group(4)
        if name in MODULES:
            out[name] = max(out.get(name, 0), self_us)  # listed again, ~0, when imported first by its package
        if len(m.group(3)) == 1:  # a top-level import of the statement
            total += cum_us
    out["whole import"] = total
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--peer-python", default=None, help="python of the install to compare with")
    args = ap.parse_args()
    pythons = {"this install": sys.executable}
    if args.peer_python:
        pythons["peer"] = args.peer_python
    runs: dict[str, list[dict]] = {k: [] for k in pythons}
    for _ in range(args.repeat):
        for label, python in pythons.items():  # alternating: both see the same load
            runs[label].append(sample(python))
    keys = [*MODULES, "whole import"]
    print(f"{args.repeat} paired runs; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| import (median ms) | " + " | ".join(pythons) + " |")
    print("|---|" + "---:|" * len(pythons))
    for k in keys:
        cells = []
        for label in pythons:
            values = [r[k] for r in runs[label] if k in r]
            cells.append(f"{statistics.median(values) / 1000:.1f}" if values else "-")
        print(f"| {k} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
