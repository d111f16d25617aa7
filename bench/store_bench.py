"""Store benchmark: snapshot cold and warm, large-file hashing, against md5, plain read, cp -r and dvc add;
`store verify` (structure) against `store verify --deep` (every blob re-hashed) on the snapshot's store.

Run by hand, one benchmark at a time on the machine:

    bash bench/setup_dvc.sh                      # once: DVC in bench/.venv-dvc (optional)
    flock /tmp/canalis-bench.lock python bench/store_bench.py [--reps 5] [--out bench/results-store.md]
    flock /tmp/canalis-bench.lock python bench/store_bench.py --only verify --out bench/results-verify.md

Every number is the median of `--reps` runs made in this one invocation, side by side. The
page cache is warm for every contender (nothing drops caches: other work shares the
machine), so cold means "empty store", not "cold disk".
"""
from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_tree import make  # noqa: E402

DVC = HERE / ".venv-dvc" / "bin" / "dvc"
CANALIS = Path(sys.executable).parent / "canalis"  # the console script itself, not a pyenv shim


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def median_of(reps: int, fn, before=None) -> tuple[float, list[float]]:
    times = []
    for _ in range(reps):
        if before:
            before()
        times.append(timed(fn))
    return statistics.median(times), times


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)


def read_all(root: Path) -> int:
    n = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            with open(os.path.join(dirpath, f), "rb", buffering=0) as fh:
                n += len(fh.read())
    return n


def md5_all(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            with open(os.path.join(dirpath, f), "rb", buffering=0) as fh:
                hashlib.md5(fh.read()).hexdigest()


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, Linux {platform.release()}, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--work", default=str(HERE / "work"))
    ap.add_argument("--out", default=str(HERE / "results-store.md"))
    ap.add_argument("--big-gib", type=float, default=1.0)
    ap.add_argument("--only", choices=["all", "verify"], default="all",
                    help="verify: only time `store verify` and `store verify --deep` (snapshots the folder if needed)")
    args = ap.parse_args()
    reps = args.reps
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    if not data.exists():
        print("making", data, flush=True)
        make(str(data))
        time.sleep(0.5)  # let the newest mtimes leave the stat cache's racy window
    nbytes = read_all(data)
    nfiles = sum(len(f) for _, _, f in os.walk(data))
    res: dict[str, tuple[float, list[float]]] = {}
    print(f"{nfiles} files, {nbytes} bytes; {reps} runs of each", flush=True)
    if args.only == "verify":
        ws = work / "ws"
        if not (ws / ".canalis").exists():
            run([str(CANALIS), "init", str(ws)])
            run([str(CANALIS), "store", "snapshot", "--workspace", str(ws), str(data)])
        res.update(verify_times(ws, reps))
        report(args.out, res, reps, nfiles, nbytes, 0, "not run (--only verify)")
        return

    # -- cold: empty store / empty destination / empty DVC cache, interleaved per run so that
    # -- the machine's drift (other work, journal commits) hits every contender alike -------
    ws = work / "ws"
    dest = work / "cp"
    repo = work / "dvc"
    have_dvc = DVC.exists()
    if have_dvc and not (repo / "data").exists():
        shutil.rmtree(repo, ignore_errors=True)
        repo.mkdir()
        run(["cp", "-a", str(data), str(repo / "data")])  # DVC wants the data inside its repo
        run([str(DVC), "init", "--no-scm", "-q"], cwd=repo)
    snap = [str(CANALIS), "store", "snapshot", "--workspace", str(ws), str(data)]
    add = [str(DVC), "add", "-q", "data"]

    def settle():
        os.sync()  # no contender pays for the previous one's write-back
        time.sleep(0.5)

    cold = {"canalis snapshot, cold (empty store)": [], "cp -r": [], "dvc add, first (empty cache)": []}
    for _ in range(reps):
        shutil.rmtree(ws, ignore_errors=True)
        run([str(CANALIS), "init", str(ws)])
        settle()
        cold["canalis snapshot, cold (empty store)"].append(timed(lambda: run(snap)))
        shutil.rmtree(dest, ignore_errors=True)
        settle()
        cold["cp -r"].append(timed(lambda: run(["cp", "-r", str(data), str(dest)])))
        if have_dvc:
            for p in (repo / ".dvc" / "cache", repo / ".dvc" / "tmp"):
                shutil.rmtree(p, ignore_errors=True)
            (repo / "data.dvc").unlink(missing_ok=True)
            settle()
            cold["dvc add, first (empty cache)"].append(timed(lambda: run(add, cwd=repo)))
    shutil.rmtree(dest, ignore_errors=True)
    for k, v in cold.items():
        if v:
            res[k] = (statistics.median(v), v)

    # -- warm: unchanged tree, whole process ----------------------------------------------
    run(snap)
    out = json.loads(subprocess.run(snap + ["--json"], check=True, capture_output=True, text=True).stdout)
    assert out["hashed"] == 0, out
    warm = {"canalis snapshot, warm (unchanged, whole process)": [], "dvc add, unchanged": [],
            "python -c pass (interpreter start, for scale)": []}
    for _ in range(reps):
        warm["canalis snapshot, warm (unchanged, whole process)"].append(timed(lambda: run(snap)))
        if have_dvc:
            warm["dvc add, unchanged"].append(timed(lambda: run(add, cwd=repo)))
        warm["python -c pass (interpreter start, for scale)"].append(timed(lambda: run([sys.executable, "-c", "pass"])))
    for k, v in warm.items():
        if v:
            res[k] = (statistics.median(v), v)

    # -- the same bytes through simpler tools, in this process ------------------------------
    res["plain read (python, same files)"] = median_of(reps, lambda: read_all(data))
    res["md5 of every file (hashlib, same process)"] = median_of(reps, lambda: md5_all(data))
    dvc_note = (subprocess.run([str(DVC), "--version"], capture_output=True, text=True).stdout.strip()
                if have_dvc else "not installed (run bench/setup_dvc.sh)")

    # -- one large file -------------------------------------------------------------------
    big = work / "big.bin"
    size = int(args.big_gib * 2**30)
    if not big.exists() or big.stat().st_size != size:
        with open(big, "wb") as f:
            for _ in range(size // (64 << 20)):
                f.write(os.urandom(64 << 20))
    import blake3

    from canalis.store.blob import hash_path

    def md5_big():
        with open(big, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            hashlib.md5(m).hexdigest()

    def read_big():
        with open(big, "rb", buffering=0) as f:
            buf = bytearray(16 << 20)
            while f.readinto(buf):
                pass

    res["1 GiB: canalis hash (BLAKE3, mmap, all cores)"] = median_of(reps, lambda: hash_path(big))
    res["1 GiB: BLAKE3 one thread"] = median_of(reps, lambda: blake3.blake3().update_mmap(big))
    res["1 GiB: md5 (hashlib over mmap)"] = median_of(reps, md5_big)
    res["1 GiB: plain read (16 MiB buffers)"] = median_of(reps, read_big)

    res.update(verify_times(ws, reps))
    report(args.out, res, reps, nfiles, nbytes, size, dvc_note)


VERIFY = "canalis store verify (structure: headers, pack index, tree sizes)"
VERIFY_DEEP = "canalis store verify --deep (every blob decompressed and re-hashed)"


def verify_times(ws: Path, reps: int) -> dict:
    """Whole-process `store verify` and `store verify --deep` of the snapshot's store,
    interleaved run by run."""
    quick = [str(CANALIS), "store", "verify", "--workspace", str(ws)]
    times: dict[str, list[float]] = {VERIFY: [], VERIFY_DEEP: []}
    for _ in range(reps):
        times[VERIFY].append(timed(lambda: run(quick)))
        times[VERIFY_DEEP].append(timed(lambda: run(quick + ["--deep"])))
    return {k: (statistics.median(v), v) for k, v in times.items()}


def report(path, res, reps, nfiles, nbytes, bigsize, dvc_note) -> None:
    m = {k: v[0] for k, v in res.items()}
    lines = [
        "# Store benchmark results",
        "",
        f"Machine: {machine()}. Load average when the report was written: {', '.join(f'{x:.2f}' for x in os.getloadavg())};",
        "expect noise from other processes. Each figure is the median of the runs listed beside it, all made in one",
        f"invocation of `bench/store_bench.py` (median of {reps}). Folder: {nfiles} files, {nbytes / 1e6:.0f} MB",
        "(made by `bench/make_tree.py`: 90% 1-16 KiB, some 64 KiB-1 MiB, a few 4-24 MiB; one file in three",
        f"compressible text). DVC: {dvc_note}. Page cache warm for every contender (nothing drops caches);",
        "cold runs of canalis, `cp -r` and `dvc add` are interleaved (run 1 of each, run 2 of each ...), each",
        "after an untimed `sync` so that none pays for another's write-back. `canalis` is the installed",
        "console script (not a pyenv shim). canalis's cold snapshot includes its durability cost (every",
        "pack and loose blob is on disk before it becomes visible); `cp -r` and `dvc add` make no such promise.",
        "",
        "| what | median (s) | throughput | runs (s) |",
        "|---|---:|---:|---|",
    ]
    for k, (med, times) in res.items():
        size = bigsize if k.startswith("1 GiB") else nbytes
        thr = f"{size / med / 1e6:,.0f} MB/s" if "python -c" not in k and "warm" not in k and "unchanged" not in k else ""
        lines.append(f"| {k} | {med:.3f} | {thr} | {', '.join(f'{t:.3f}' for t in times)} |")

    def verdict(ok):
        return "met" if ok else "**missed**"

    lines += ["", "## Targets", "", "| target | measured | |", "|---|---|---|"]
    if VERIFY in m:
        lines.append(f"| `verify` (structure) faster than `verify --deep` | {m[VERIFY_DEEP] / m[VERIFY]:.1f}x "
                     f"({m[VERIFY]:.2f} s vs {m[VERIFY_DEEP]:.2f} s) | {verdict(m[VERIFY] < m[VERIFY_DEEP])} |")
    if "1 GiB: md5 (hashlib over mmap)" not in m:
        Path(path).write_text("\n".join(lines) + "\n")
        print("\n".join(lines))
        return
    hashx = m["1 GiB: md5 (hashlib over mmap)"] / m["1 GiB: canalis hash (BLAKE3, mmap, all cores)"]
    cold, warm, cp = (m["canalis snapshot, cold (empty store)"], m["canalis snapshot, warm (unchanged, whole process)"],
                      m["cp -r"])
    lines.append(f"| large-file hashing >= 5x md5 throughput | {hashx:.1f}x | {verdict(hashx >= 5)} |")
    lines.append(f"| warm re-snapshot of {nfiles} unchanged files < 0.5 s (whole process) | {warm:.3f} s | {verdict(warm < 0.5)} |")
    lines.append(f"| cold snapshot within 3x of `cp -r` | {cold / cp:.2f}x ({cold:.2f} s vs {cp:.2f} s) | {verdict(cold <= 3 * cp)} |")
    if "dvc add, first (empty cache)" in m:
        d1, d2 = m["dvc add, first (empty cache)"], m["dvc add, unchanged"]
        lines.append(f"| cold snapshot >= 2x faster than first `dvc add` | {d1 / cold:.1f}x | {verdict(d1 >= 2 * cold)} |")
        lines.append(f"| warm snapshot >= 2x faster than unchanged `dvc add` | {d2 / warm:.1f}x | {verdict(d2 >= 2 * warm)} |")
    else:
        lines.append("| snapshots >= 2x faster than `dvc add` | not measured: DVC not installed | |")
    Path(path).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
