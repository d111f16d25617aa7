"""Pipeline benchmark (run by hand): per-step overhead and no-op re-submit against DVC.

    bash bench/setup_dvc.sh                 # once: DVC in bench/.venv-dvc
    python bench/pipeline_bench.py [--repeat 5] [--out bench/results-pipeline.md]

Measures, side by side in one run, median of --repeat:
  1. per-step overhead: a chain of 10 trivial steps run with regenerate_outputs (every
     step runs) in one process, per step, against a bare `python -c pass`;
  2. a 20-step chain, first run and no-op re-submit, each as a whole `canalis submit`
     process, against the same chain as a DVC pipeline (`dvc repro`, first and no-op).

    python bench/pipeline_bench.py --peer-python OTHER/bin/python --only-chain

also runs the chain with another canalis install (OTHER's interpreter), alternating the two
in every repeat, so that two versions are compared in one run on the same machine state.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DVC = HERE / ".venv-dvc" / "bin" / "dvc"

STEP = textwrap.dedent("""
    import os, sys
    inp, out = sys.argv[1], sys.argv[2]
    data = open(os.path.join(inp, "data.txt")).read() if inp != "-" else "seed"
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "data.txt"), "w").write(data + ".")
""")

PIPELINE = textwrap.dedent("""
    import os
    from canalis.core import Workspace
    from canalis.data import OutputFileDatasetConfig
    from canalis.pipeline.core import Pipeline
    from canalis.pipeline.steps import PythonScriptStep

    here = os.path.dirname(os.path.abspath(__file__))
    ws = Workspace.from_config(here)
    N = int(os.environ.get("CHAIN", "20"))
    steps, prev = [], "-"
    for i in range(N):
        out = OutputFileDatasetConfig(name=f"d{i}")
        steps.append(PythonScriptStep(name=f"s{i}", script_name="step.py", source_directory=os.path.join(here, "src"),
                                      arguments=[prev if prev == "-" else prev.as_input(), out]))
        prev = out
    pipeline = Pipeline(ws, steps)
""")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(cmd, cwd, env=None):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{out.stdout}\n{out.stderr}")
    return out


def make_canalis_project(root: Path, chain: int) -> None:
    from canalis import layout

    layout.init(root)
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "step.py").write_text(STEP)
    (root / "pipeline.py").write_text(PIPELINE)


def make_dvc_project(root: Path, chain: int) -> None:
    root.mkdir(parents=True)
    run(["git", "init", "-q"], root)
    run([str(DVC), "init", "-q"], root)
    run([str(DVC), "config", "core.analytics", "false"], root)
    (root / "step.py").write_text(STEP)
    stages = []
    prev = "-"
    for i in range(chain):
        deps = ["step.py"] + ([prev] if prev != "-" else [])
        stages.append(f"  s{i}:\n    cmd: {sys.executable} step.py {prev} d{i}\n    deps: [{', '.join(deps)}]\n    outs: [d{i}]\n")
        prev = f"d{i}"
    (root / "dvc.yaml").write_text("stages:\n" + "".join(stages))


def canalis_cmd(*args, python=sys.executable):
    return [python, "-c", "from canalis.cli import main; main()", *args]


def bench_overhead(tmp: Path, repeat: int) -> dict:
    from canalis.core import Experiment, Workspace
    import runpy

    root = tmp / "overhead"
    make_canalis_project(root, 10)
    os.environ["CHAIN"] = "10"
    pipeline = runpy.run_path(str(root / "pipeline.py"))["pipeline"]
    ws = Workspace(path=root)
    per_step, bare = [], []
    for _ in range(repeat):
        def go():
            r = Experiment(ws, "overhead").submit(pipeline, regenerate_outputs=True, max_concurrent_steps=1)
            assert r.wait_for_completion() == "Completed"
        per_step.append(timed(go) / 10)
        bare.append(statistics.median(timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)) for _ in range(10)))
    return {"step": statistics.median(per_step), "bare": statistics.median(bare)}


def bench_chain(tmp: Path, repeat: int, chain: int, peer: str | None = None) -> dict:
    results = {"canalis_first": [], "canalis_noop": [], "dvc_first": [], "dvc_noop": [], "peer_first": [], "peer_noop": []}
    env = dict(os.environ, CHAIN=str(chain))
    for i in range(repeat):
        for label, python in (("canalis", sys.executable), *((("peer", peer),) if peer else ())):
            c = tmp / f"{label}{i}"
            make_canalis_project(c, chain)
            if label == "peer":  # the workspace made by the peer's own canalis
                shutil.rmtree(c / ".canalis")
                run([python, "-c", f"from canalis import layout; layout.init({str(c)!r})"], c)
            cmd = canalis_cmd("submit", "pipeline.py", "-e", "chain", "-q", python=python)
            results[f"{label}_first"].append(timed(lambda: run(cmd, c, env)))
            results[f"{label}_noop"].append(timed(lambda: run(cmd, c, env)))
        if DVC.exists():
            d = tmp / f"dvc{i}"
            make_dvc_project(d, chain)
            results["dvc_first"].append(timed(lambda: run([str(DVC), "repro", "-q"], d)))
            results["dvc_noop"].append(timed(lambda: run([str(DVC), "repro", "-q"], d)))
    return {k: statistics.median(v) if v else None for k, v in results.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chain", type=int, default=20)
    ap.add_argument("--out", default=str(HERE / "results-pipeline.md"))
    ap.add_argument("--peer-python", default=None, help="interpreter of another canalis install to compare the chain with")
    ap.add_argument("--only-chain", action="store_true", help="skip the per-step overhead measurement")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="canalis-pipeline-bench-"))
    try:
        o = None if args.only_chain else bench_overhead(tmp, args.repeat)
        c = bench_chain(tmp, args.repeat, args.chain, args.peer_python)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        f"Median of {args.repeat}; {os.cpu_count()} cores; Python {sys.version.split()[0]}.",
        "",
        "| measurement | canalis | peer | ratio | target |",
        "|---|---|---|---|---|",
    ]
    if o is not None:
        lines.append(f"| per-step time, trivial step (10-step chain, every step runs) | {o['step']*1000:.0f} ms | bare `python -c pass`: {o['bare']*1000:.0f} ms | overhead {1000*(o['step']-o['bare']):.0f} ms | overhead < 150 ms |")
    if c["peer_first"] is not None:
        lines += [
            f"| {args.chain}-step chain, first run (whole `canalis submit` process) | {c['canalis_first']:.2f} s | peer install: {c['peer_first']:.2f} s | {c['canalis_first']/c['peer_first']:.2f}x | – |",
            f"| {args.chain}-step chain, no-op re-submit | {c['canalis_noop']:.2f} s | peer install: {c['peer_noop']:.2f} s | {c['canalis_noop']/c['peer_noop']:.2f}x | not worse |",
        ]
    if c["dvc_first"] is not None:
        lines += [
            f"| {args.chain}-step chain, first run (whole `canalis submit` process) | {c['canalis_first']:.2f} s | `dvc repro`: {c['dvc_first']:.2f} s | {c['dvc_first']/c['canalis_first']:.1f}x | – |",
            f"| {args.chain}-step chain, no-op re-submit | {c['canalis_noop']:.2f} s | no-op `dvc repro`: {c['dvc_noop']:.2f} s | {c['dvc_noop']/c['canalis_noop']:.1f}x | < 1 s and ≥ 3x |",
        ]
    else:
        lines += [f"| {args.chain}-step chain, first run | {c['canalis_first']:.2f} s | DVC not installed | – | – |",
                  f"| {args.chain}-step chain, no-op re-submit | {c['canalis_noop']:.2f} s | DVC not installed | – | < 1 s |"]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
