"""Big step output: peak memory of `canalis submit` and `canalis logs` for a step that prints a lot.

Run by hand, one benchmark at a time on the machine:

    flock /tmp/canalis-bench.lock python bench/big_output_bench.py [--mib 1024] [--out bench/results-big-output.md]

A one-step pipeline writes `--mib` MiB to stdout, once as lines of 100 bytes and once with no
newline at all. `canalis submit` (which runs the step and echoes its output) and then
`canalis logs RUN` run as real processes with stdout sent to a file; a small wrapper reports
the peak resident set size of each (`getrusage(RUSAGE_CHILDREN).ru_maxrss`) and its wall time.
`--python` picks the interpreter whose canalis is measured (e.g. an older install, to compare).
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

SPEW = """
import sys
n, mode = int(sys.argv[1]), sys.argv[2]
unit = (b"x" * 99 + b"\\n") if mode == "lines" else b"y" * 100
chunk = unit * 10000
out = sys.stdout.buffer
left = n
while left > 0:
    out.write(chunk[:left])
    left -= len(chunk)
out.flush()
"""

PIPELINE = """
from canalis.core import Workspace
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
ws = Workspace(path={ws!r})
pipeline = Pipeline(ws, [PythonScriptStep(name="spew", script_name="spew.py", source_directory={src!r},
                                          arguments=[{size}, {mode!r}], allow_reuse=False)])
"""

MEASURE = textwrap.dedent("""
    import resource, subprocess, sys, time
    t = time.perf_counter()
    with open(sys.argv[1], "wb") as out:
        code = subprocess.run(sys.argv[2:], stdout=out, stderr=subprocess.DEVNULL).returncode
    print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, time.perf_counter() - t)
""")


def measure(python: str, argv: list[str], out: Path, cwd: Path) -> tuple[int, float, int]:
    """(peak RSS bytes, seconds, bytes written to stdout) of `python -m canalis argv`."""
    r = subprocess.run([sys.executable, "-c", MEASURE, str(out), python, "-m", "canalis", *argv],
                       capture_output=True, text=True, cwd=cwd, check=True)
    code, peak, seconds = r.stdout.split()
    if int(code) != 0:
        raise SystemExit(f"canalis {' '.join(argv)} exited with {code}")
    return int(peak), float(seconds), out.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    size = args.mib << 20
    rows = []
    with tempfile.TemporaryDirectory(prefix="canalis-bigout-") as tmp:
        tmp = Path(tmp)
        ws, src = tmp / "ws", tmp / "src"
        subprocess.run([args.python, "-m", "canalis", "init", str(ws)], check=True, capture_output=True)
        src.mkdir()
        (src / "spew.py").write_text(SPEW)
        for mode in ("lines", "noline"):
            pipe = tmp / f"pipe_{mode}.py"
            pipe.write_text(PIPELINE.format(ws=str(ws), src=str(src), size=size, mode=mode))
            peak, secs, written = measure(args.python, ["submit", str(pipe), "-e", "big"], tmp / "submit.out", tmp)
            tail = (tmp / "submit.out").read_bytes()[-4096:].decode(errors="replace")
            run_id = re.findall(r"Run (\S+): ", tail)[-1]  # (after a line with no newline it shares that line)
            rows.append((f"submit ({mode})", peak, secs, written))
            peak, secs, written = measure(args.python, ["logs", run_id, "--workspace", str(ws)], tmp / "logs.out", tmp)
            rows.append((f"logs ({mode})", peak, secs, written))
            for f in ("submit.out", "logs.out"):
                os.unlink(tmp / f)
    lines = [
        f"Step output: {args.mib} MiB to stdout. Machine: {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}. Interpreter measured: {args.python}.",
        "",
        "| command | peak RSS (MB) | wall (s) | bytes printed |",
        "|---|---:|---:|---:|",
    ] + [f"| {name} | {peak / 1e6:,.0f} | {secs:.1f} | {written:,} |" for name, peak, secs, written in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
