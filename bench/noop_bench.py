"""No-op re-submit benchmark (run by hand): the whole `canalis submit` process of a 20-step
chain whose steps are all reused, against what any canalis command must pay.

    python bench/noop_bench.py [--repeat 21] [--peer-python OTHER/bin/python] [--out bench/results-noop.md]

Run it with the interpreter of a virtual environment where canalis is installed as users
install it (`python -m venv V && V/bin/pip install .`, then `V/bin/python bench/noop_bench.py`):
an interpreter whose site-packages import modules at start (an editable install's finder, a
.pth file) makes `python -c "import canalis"` dearer and the ratio smaller than users see.

Paired, alternating in every repeat: the no-op re-submit; `python -c "import canalis"`;
the same plus opening the workspace's ledger with sqlite3 and reading one row; a bare
`python -c pass`; and with --peer-python the no-op re-submit of another canalis install
(in a workspace made by that install); with --history N, after N earlier runs of the same experiment (recorded
through the ledger API, by each install's own code); with --warm also the no-op re-submit handed to the
workspace's warm process (`canalis warm start`; the in-process case then runs with
CANALIS_WARM=0); with --executor-path also this install's no-op
re-submit with `CANALIS_ALWAYS_START_EXECUTOR=1` (the run recorded by an executor process,
as before a fully reused run was recorded by the submitting process); with --import-floor also the floor
plus every module other than canalis's own that the no-op re-submit imports (found with `-X importtime`):
what a submit in its own process pays for the standard library and the compiled packages it uses, before
any of canalis's own modules or work. Wall time and CPU time (user + system of the child)
are reported as medians; the ratio is the median of the per-repeat ratios (also by CPU time, which
a loaded machine disturbs less than wall time). Bytecode must be
cached as an installed package has it (run once without PYTHONDONTWRITEBYTECODE).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import pipeline_bench  # noqa: E402


def measure(cmd, cwd, env) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{out.stderr}")
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


WARM = "no-op re-submit (this install, warm process)"
FLOOR = "import canalis + sqlite3 open and read"
OTHERS = "the same + the {n} other modules a reused submit imports"


def modules_a_submit_imports(submit: list, cwd: Path, env: dict) -> list[str]:
    """The modules a no-op re-submit imports that are not canalis's own, in import order, from
    `-X importtime` of one such submit in its own process."""
    out = subprocess.run([sys.executable, "-X", "importtime", *submit], cwd=cwd, env=env, capture_output=True, text=True,
                         check=True)
    names = []
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            name = line.rsplit("|", 1)[1].strip()
            if name.split(".")[0] != "canalis" and name not in names:
                names.append(name)
    return names


def importing(names: list[str]) -> str:
    """Python source that imports each of `names` (one that cannot be imported here, such as
    a module another system has, is passed over as the submit passed over it)."""
    return (f"import importlib\nfor m in {names!r}:\n    try:\n        importlib.import_module(m)\n"
            "    except ImportError:\n        pass\n")


def _reaped_cpu(pid) -> float:
    """User + system seconds of the reaped children of `pid` (/proc/PID/stat cutime, cstime)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


HISTORY = """
import sys
from canalis.ledger import Ledger
from canalis.ledger import events as ev
led = Ledger(sys.argv[1])
n = int(sys.argv[2])
for start in range(0, n, 500):
    led.append_many([e for i in range(start, min(n, start + 500))
                     for e in (ev.RunSubmitted(run_id=f"earlier_{i}", experiment="chain"),
                               ev.RunCompleted(run_id=f"earlier_{i}", duration_s=1.0))])
led.close()
"""


def add_history(python, root: Path, runs: int, cwd: Path) -> None:
    """`runs` earlier runs of the experiment the benchmark submits to (no steps: the reuse
    lookup finds its keys in the benchmark's own first run), recorded by `python`'s canalis."""
    subprocess.run([python, "-c", HISTORY, str(root / ".canalis" / "ledger.db"), str(runs)], check=True, cwd=cwd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=21)
    ap.add_argument("--chain", type=int, default=20)
    ap.add_argument("--peer-python", default=None)
    ap.add_argument("--out", default=str(HERE / "results-noop.md"))
    ap.add_argument("--warm", action="store_true",
                    help="also measure this install's no-op re-submit handed to the workspace's warm process")
    ap.add_argument("--history", type=int, default=0,
                    help="record this many earlier runs of the same experiment first (each install with its own code)")
    ap.add_argument("--executor-path", action="store_true",
                    help="also measure this install with CANALIS_ALWAYS_START_EXECUTOR=1")
    ap.add_argument("--import-floor", action="store_true",
                    help="also measure the floor plus every module other than canalis's own that a reused submit imports")
    args = ap.parse_args()
    load_before = os.getloadavg()
    env = dict(os.environ, CHAIN=str(args.chain))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    tmp = Path(tempfile.mkdtemp(prefix="canalis-noop-bench-"))
    this = tmp / "this"
    pipeline_bench.make_canalis_project(this, args.chain)
    if args.history:
        add_history(sys.executable, this, args.history, tmp)
    submit = ["-m", "canalis", "submit", "pipeline.py", "-e", "chain", "-q"]
    db = this / ".canalis" / "ledger.db"
    cases = [("no-op re-submit (this install)", [sys.executable, *submit], this),
             ('python -c "import canalis"', [sys.executable, "-c", "import canalis"], tmp),
             (FLOOR, [sys.executable, "-c",
              f"import canalis, sqlite3; sqlite3.connect({str(db)!r}).execute('SELECT seq FROM events LIMIT 1').fetchone()"], tmp),
             ("python -c pass", [sys.executable, "-c", "pass"], tmp)]
    cases = [(label, cmd, cwd, env) for label, cmd, cwd in cases]
    if args.executor_path:
        cases.insert(1, ("no-op re-submit (this install, executor process)", [sys.executable, *submit], this,
                         dict(env, CANALIS_ALWAYS_START_EXECUTOR="1")))
    warm_pid = None
    if args.warm:
        started = subprocess.run([sys.executable, "-m", "canalis", "warm", "start", "--json"], cwd=this, env=env,
                                 capture_output=True, text=True, check=True)
        warm_pid = json.loads(started.stdout)["pid"]
        cases[0] = (cases[0][0], cases[0][1], cases[0][2], dict(env, CANALIS_WARM="0"))
        cases.insert(1, (WARM, [sys.executable, *submit], this, env))
    if args.peer_python:
        peer = tmp / "peer"
        pipeline_bench.make_canalis_project(peer, args.chain)
        import shutil

        shutil.rmtree(peer / ".canalis")
        # not in this checkout's folder, whose canalis/ would shadow the peer's installed package
        subprocess.run([args.peer_python, "-c", f"from canalis import layout; layout.init({str(peer)!r})"], check=True,
                       cwd=tmp)
        if args.history:
            add_history(args.peer_python, peer, args.history, tmp)
        cases.insert(1, ("no-op re-submit (peer install)", [args.peer_python, *submit], peer, env))
    for _ in range(2):  # first run, and a warm-up no-op
        for label, cmd, cwd, case_env in cases:
            if label.startswith("no-op"):
                measure(cmd, cwd, case_env)
    if args.import_floor:
        others = modules_a_submit_imports(submit, this, dict(env, CANALIS_WARM="0"))
        floor_cmd = next(cmd for label, cmd, _, _ in cases if label == FLOOR)
        cases.append((OTHERS.format(n=len(others)), [sys.executable, "-c", importing(others) + floor_cmd[-1]], tmp, env))
    results = {label: ([], []) for label, _, _, _ in cases}
    warm_cpu_before = _reaped_cpu(warm_pid)
    for _ in range(args.repeat):
        for label, cmd, cwd, case_env in cases:
            wall, cpu = measure(cmd, cwd, case_env)
            results[label][0].append(wall)
            results[label][1].append(cpu)
    if warm_pid is not None:
        children_cpu = (_reaped_cpu(warm_pid) - warm_cpu_before) / args.repeat
        os.kill(warm_pid, signal.SIGTERM)
    noop = results[cases[0][0]][0]
    base = results[FLOOR][0]
    started = subprocess.run([sys.executable, "-c", "import sys; print(len(sys.modules))"], capture_output=True, text=True,
                             env=env, cwd=tmp).stdout.strip()
    lines = [f"Interpreter {sys.executable}: {started} modules loaded before any program runs (a fresh venv has "
             "about 33; .pth files in site-packages add their imports to the floor and flatter the ratio).",
             (f"{args.history} earlier runs of the experiment recorded first (`--history`). " if args.history else "")
             + f"Median of {args.repeat} alternating repeats; {os.cpu_count()} cores; Python {sys.version.split()[0]}; "
             f"load average at the start {', '.join(f'{x:.2f}' for x in load_before)}, "
             f"at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}.", "",
             "| what | wall median | wall fastest | CPU median |", "|---|---:|---:|---:|"]
    for label, (w, c) in results.items():
        lines.append(f"| {label} | {statistics.median(w):.3f} s | {min(w):.3f} s | {statistics.median(c):.3f} s |")
    lines += ["", f"no-op re-submit / (import canalis + SQLite open), paired median: "
              f"{statistics.median(a / b for a, b in zip(noop, base)):.2f}x (target at most 2x)"]
    if warm_pid is not None:
        warm = results[WARM][0]
        lines.append(f"no-op re-submit handed to the warm process / (import canalis + SQLite open), paired median: "
                     f"{statistics.median(a / b for a, b in zip(warm, base)):.2f}x; "
                     f"warm / in-process, paired median: {statistics.median(a / b for a, b in zip(warm, noop)):.2f}x")
        lines.append(f"(the warm case's CPU median is the client's alone; the children it is handed to used "
                     f"{children_cpu:.3f} s each on average, from the warm process's reaped-children times)")
    if args.executor_path:
        by_executor = results["no-op re-submit (this install, executor process)"][0]
        lines.append(f"recorded in-process / by an executor process, no-op re-submit, paired median: "
                     f"{statistics.median(a / b for a, b in zip(noop, by_executor)):.2f}x")
    if args.import_floor:
        label = cases[-1][0]
        lines.append(f"{label} / (import canalis + SQLite open), paired median: "
                     f"{statistics.median(a / b for a, b in zip(results[label][0], base)):.2f}x")
    if args.peer_python:
        peer_noop = results["no-op re-submit (peer install)"][0]
        lines.append(f"this install / peer install, no-op re-submit, paired median: "
                     f"{statistics.median(a / b for a, b in zip(noop, peer_noop)):.2f}x")
    # CPU time (user + system of the child) moves less than wall time when other processes share
    # the cores: the same ratios by CPU, for a machine that cannot be made quiet
    noop_cpu, base_cpu = results[cases[0][0]][1], results[FLOOR][1]
    lines.append(f"by CPU time, paired medians: no-op re-submit / (import canalis + SQLite open) "
                 f"{statistics.median(a / b for a, b in zip(noop_cpu, base_cpu)):.2f}x"
                 + (f"; this install / peer install "
                    f"{statistics.median(a / b for a, b in zip(noop_cpu, results['no-op re-submit (peer install)'][1])):.2f}x"
                    if args.peer_python else ""))
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
