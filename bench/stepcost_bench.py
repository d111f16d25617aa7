"""Per-executed-step overhead (run by hand): a chain of tiny python steps, first run, against
the same scripts run one after the other with bare `python step.py`.

    env -u PYTHONDONTWRITEBYTECODE python bench/stepcost_bench.py [--chain 50] [--repeat 7]
        [--peer-python OTHER/bin/python] [--profile] [--out bench/results-stepcost.md]
    env -u PYTHONDONTWRITEBYTECODE python bench/stepcost_bench.py --record-ab 60

`--record-ab N` measures only what storing a step's results costs (its logs, one small
output), in this process: separate puts, each durable on its own, against one write set,
N alternating pairs.

Each repeat measures, in an order that rotates from repeat to repeat (paired, alternating):

- bare: the chain's N scripts, each started as `python step.py IN OUT` from this process
  (a subprocess loop, no shell), with the interpreter canalis runs steps with;
- canalis: `canalis submit pipeline.py` of the N-step chain in a fresh workspace (a first
  run: every step runs, one at a time, as each reads the previous one's output);
- peer (with --peer-python): the same with another canalis install.

The per-step overhead of a repeat is (run time - bare time) / N, where the run time is the
executor's, from `run.started` to `run.completed` (`duration_s` of `canalis submit --json`);
the whole `canalis submit` process time is reported beside it. Figures are medians over the
repeats. With --profile each install's executor is asked (CANALIS_STEP_PROFILE=1, an install
that has it) to write one line per step with the time of each phase to its log; the medians
per phase are printed too, and `between steps`: per repeat, the run's time minus the sum of
its steps' totals in the executor, per step (scheduling the next step, the run's start and
end), median over the repeats; and `serial work per step`: a step's total in the executor
minus the phases during which its process starts and runs (spawn, step_started, process),
median over every step: the executor's own work before and after the process, which a noisy
machine disturbs less than the difference of two run times.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from pipeline_bench import PIPELINE, STEP  # noqa: E402


def make_project(root: Path, python: str) -> None:
    root.mkdir(parents=True)
    subprocess.run([python, "-c", f"from canalis import layout; layout.init({str(root)!r})"], check=True, cwd=root)
    (root / "src").mkdir()
    (root / "src" / "step.py").write_text(STEP)
    (root / "pipeline.py").write_text(PIPELINE)


def bare(root: Path, python: str, chain: int) -> float:
    """The chain's scripts, one after the other, each its own `python step.py IN OUT`."""
    root.mkdir(parents=True)
    (root / "step.py").write_text(STEP)
    t0 = time.perf_counter()
    prev = "-"
    for i in range(chain):
        out = str(root / f"d{i}")
        subprocess.run([python, "step.py", prev, out], cwd=root, check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        prev = out
    return time.perf_counter() - t0


def first_run(root: Path, python: str, chain: int, profile: bool) -> tuple[float, float, str]:
    """(executor's run time, whole submit process time, run id) of a first run of the chain."""
    make_project(root, python)
    env = dict(os.environ, CHAIN=str(chain))
    if profile:
        env["CANALIS_STEP_PROFILE"] = "1"
    cmd = [python, "-c", "from canalis.cli import main; main()", "submit", "pipeline.py", "-e", "chain", "--json"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    whole = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"canalis submit failed ({python}):\n{out.stdout}\n{out.stderr}")
    shown = json.loads(out.stdout)
    if shown["status"] != "Completed" or shown["counts"]["ran"] != chain:
        raise SystemExit(f"unexpected run: {shown['status']}, {shown['counts']}")
    return float(shown["duration_s"]), whole, shown["run_id"]


#: phases during which the step's own process is starting or running
OVERLAPPED = ("spawn", "step_started", "process")

PHASE_LINE = re.compile(r"^canalis step profile (\S+): (.*)$")


def read_profile(root: Path, run_id: str) -> list[dict[str, float]]:
    """Phase times (ms) of each step from the executor's log (CANALIS_STEP_PROFILE=1)."""
    log = root / ".canalis" / "runs" / run_id / "executor.log"
    steps = []
    for line in log.read_text().splitlines():
        m = PHASE_LINE.match(line)
        if m:
            steps.append({k: float(v) for k, v in (part.split("=") for part in m.group(2).split())})
    return steps


def record_ab(rounds: int, where: Path) -> str:
    """What storing a step's results costs, alone, in this process: its two (empty) logs and an
    output folder of one small new file, stored by separate puts (each made durable on its
    own: 4 fsyncs) against one write set (`store.together()`: 2 fsyncs), alternating."""
    from canalis.store import LocalStore

    store = LocalStore(where / "objects")

    def folder(tag: str) -> Path:
        d = where / tag
        (d / "out").mkdir(parents=True)
        (d / "out" / "data.txt").write_text(f"{tag} {os.urandom(8).hex()}")
        (d / "stdout.txt").write_bytes(b"")
        (d / "stderr.txt").write_bytes(b"")
        return d

    def separate(d: Path) -> None:
        store.put_file(d / "stdout.txt")
        store.put_file(d / "stderr.txt")
        store.snapshot(d / "out", ignore=False, stat_cache=False)

    def together(d: Path) -> None:
        with store.together() as objects:
            objects.put_file(d / "stdout.txt")
            objects.put_file(d / "stderr.txt")
            objects.snapshot(d / "out", ignore=False)

    times: dict[str, list[float]] = {"separate puts": [], "one write set": []}
    pair = [("separate puts", separate), ("one write set", together)]
    for r in range(rounds):
        for label, fn in pair if r % 2 else pair[::-1]:
            d = folder(f"{label.replace(' ', '-')}-{r}")
            t0 = time.perf_counter()
            fn(d)
            times[label].append(time.perf_counter() - t0)
    diff = statistics.median(a - b for a, b in zip(*times.values()))
    return "\n".join([
        f"A step's results stored alone ({rounds} alternating pairs; load average "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}):", "",
        "| how | median | fastest |", "|---|---:|---:|",
        *(f"| {k} | {1000 * statistics.median(v):.2f} ms | {1000 * min(v):.2f} ms |" for k, v in times.items()),
        f"| paired difference | {1000 * diff:.2f} ms | |", ""])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chain", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--peer-python", default=None, help="interpreter of another canalis install, measured alongside")
    ap.add_argument("--profile", action="store_true", help="also print this install's per-phase medians")
    ap.add_argument("--out", default=str(HERE / "results-stepcost.md"))
    ap.add_argument("--record-ab", type=int, default=0, metavar="N",
                    help="only measure storing a step's results: N pairs, separate puts against one write set")
    args = ap.parse_args()
    if args.record_ab:
        where = Path(tempfile.mkdtemp(prefix="canalis-stepcost-record-"))
        try:
            text = record_ab(args.record_ab, where)
        finally:
            shutil.rmtree(where, ignore_errors=True)
        Path(args.out).write_text(text)
        print(text)
        return
    n = args.chain
    contenders = [("bare", sys.executable), ("canalis", sys.executable)]
    if args.peer_python:
        contenders.append(("peer", args.peer_python))
    runs: dict[str, list] = {label: [] for label, _ in contenders}
    whole: dict[str, list] = {label: [] for label, _ in contenders}
    phases: dict[str, list[dict[str, float]]] = {label: [] for label, _ in contenders}
    between: dict[str, list[float]] = {label: [] for label, _ in contenders}
    tmp = Path(tempfile.mkdtemp(prefix="canalis-stepcost-bench-"))
    try:
        for r in range(args.repeat):
            k = r % len(contenders)
            for label, python in contenders[k:] + contenders[:k]:  # the order rotates: no one always goes first
                where = tmp / f"{label}{r}"
                if label == "bare":
                    runs["bare"].append(bare(where, python, n))
                    continue
                run_s, whole_s, run_id = first_run(where, python, n, args.profile)
                runs[label].append(run_s)
                whole[label].append(whole_s)
                if args.profile:
                    steps = read_profile(where, run_id)
                    phases[label] += steps
                    if steps:
                        between[label].append((1000 * run_s - sum(p["total"] for p in steps)) / n)
                shutil.rmtree(where, ignore_errors=True)
            print(f"repeat {r + 1}: " + ", ".join(f"{lab} {runs[lab][-1]:.3f} s" for lab, _ in contenders), file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def ms(x: float) -> str:
        return f"{1000 * x:.1f} ms"

    bare_step = statistics.median(b / n for b in runs["bare"])
    lines = [
        f"{n}-step chain, first run; median of {args.repeat} repeats (order rotating); {os.cpu_count()} cores; "
        f"Python {sys.version.split()[0]}; load average at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "| install | run per step (executor) | overhead per step over bare python (paired median) | whole `canalis submit` per step |",
        "|---|---:|---:|---:|",
        f"| bare `python step.py` loop | {ms(bare_step)} | – | – |",
    ]
    for label, _ in contenders[1:]:
        over = statistics.median((c - b) / n for c, b in zip(runs[label], runs["bare"]))
        lines.append(f"| {'this install' if label == 'canalis' else 'peer install'} | "
                     f"{ms(statistics.median(c / n for c in runs[label]))} | {ms(over)} | "
                     f"{ms(statistics.median(w / n for w in whole[label]))} |")
    profiled = [label for label, _ in contenders[1:] if phases[label]]
    if profiled:
        names = {"canalis": "this install", "peer": "peer install"}
        lines += ["", "Phases of one step in the executor (ms, median over every step of every repeat):", "",
                  "| phase | " + " | ".join(names[lab] for lab in profiled) + " |",
                  "|---|" + "---:|" * len(profiled)]
        keys = list(dict.fromkeys(k for lab in profiled for p in phases[lab] for k in p))
        for key in keys:
            cells = []
            for lab in profiled:
                vals = [p[key] for p in phases[lab] if key in p]
                cells.append(f"{statistics.median(vals):.2f}" if vals else "–")
            lines.append(f"| {key} | " + " | ".join(cells) + " |")
        cells = [f"{statistics.median(between[lab]):.2f}" for lab in profiled]
        lines.append("| between steps | " + " | ".join(cells) + " |")
        # what the executor spends on a step outside the window where the step's process exists
        # (spawn to exit): less sensitive to a noisy machine than run time minus the bare loop
        cells = [f"{statistics.median(p['total'] - sum(p.get(k, 0.0) for k in OVERLAPPED) for p in phases[lab]):.2f}"
                 for lab in profiled]
        lines.append("| serial work per step (total - spawn - step_started - process) | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
