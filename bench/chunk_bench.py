"""Large files in the store: cold ingest against `cp` and `dvc add`, chunk-level dedup of an
appended file, checkout of a chunked file against a whole blob.

Run by hand, one benchmark at a time on the machine:

    bash bench/setup_dvc.sh            # makes bench/.venv-dvc (optional: DVC rows need it)
    flock /tmp/canalis-bench.lock python bench/chunk_bench.py [--gib 2] [--reps 3] [--dir /tmp] \
        [--kinds random,csv] [--peer /path/to/other/venv/bin/canalis] [--no-checkout] \
        [--append-only] [--policies later,put] [--profile]

For each kind of content (random bytes: incompressible; CSV rows: compressible) a file of
`--gib` GiB is made in `--dir` (deleted at the end). Every timed run is cold: before it,
`sync` and `posix_fadvise(DONTNEED)` drop the source from the page cache (no root needed),
so each contender reads it from the disk. Contenders, interleaved run by run:

- `cp SRC DST`; `cp SRC DST && sync DST` (cp with the durability canalis gives);
- `canalis store put SRC` in a fresh workspace (whole process: start, read, hash, chunk,
  compress, write, fsync), with its peak RSS (`wait4`); with `--peer OTHER/bin/canalis`,
  the same for another install (e.g. the commit before a change), alternating with this one;
- `dvc add` of the file in a fresh DVC repository (its cache on the same disk);
- with `--policies later,put`, this install once per chunk compression policy
  (`store.chunk_compression` in the workspace's config: "later" stores chunks raw and `gc`
  compresses them, "put" compresses them as they are stored); the first is the row
  "canalis store put";
- with `--profile`, one more cold put per policy with CANALIS_INGEST_PROFILE=1: the per-stage
  wall and thread CPU seconds (read, cut, whole hash, chunk hash, lookup, compress, pack write,
  fsync, commit), not timed against the others;
- after the timed runs, `canalis gc` of the last "later" workspace (compressing its chunks) is
  timed and its stored bytes reported.

Then: the file with 1% appended, and the file with 1% rewritten in its middle, are each put
into a store that holds the original (new stored bytes, time against a cold
`cat FILE > /dev/null` taken in the same round, CPU seconds of the process; the peer too),
and `dvc add` of the appended one (DVC's cache growth); `--append-only` measures only these
rows; and a checkout of the chunked file against a checkout of the same content stored
as one whole blob (how store format 2 stored it).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DVC = HERE / ".venv-dvc" / "bin" / "dvc"
CANALIS = Path(sys.executable).with_name("canalis")
#: another install's `canalis` (--peer), measured in the same run, alternating with this one
PEER: Path | None = None
CHECKOUT = True
#: measure the cold ingest rows (--append-only skips them)
COLD = True
#: chunk compression policies of this install to measure; the first is "canalis store put"
POLICIES = ["later"]
PROFILE = False


def drop(path: Path) -> None:
    os.sync()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


#: CPU seconds (user + system) of the last process `timed` ran
LAST_CPU = [0.0]


def timed(argv, cwd=None, env=None) -> tuple[float, int]:
    """(seconds, peak RSS bytes) of one process; its CPU seconds are left in LAST_CPU."""
    t = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode != 0:
        raise SystemExit(f"{argv} failed ({p.returncode}): {err}")
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss * 1024


def make(path: Path, size: int, kind: str) -> None:
    with open(path, "wb") as f:
        left = size
        i = 0
        while left > 0:
            if kind == "random":
                block = os.urandom(min(left, 8 << 20))
            else:
                block = "".join(f"{i + j},{(i + j) * 7919 % 100003},{(i + j) % 97}.{j % 10},label_{(i + j) % 13}\n"
                                for j in range(100_000)).encode()[:left]
                i += 100_000
            f.write(block)
            left -= len(block)


def init_ws(exe: Path, ws: Path, policy: str | None) -> None:
    """A fresh workspace; `policy`: its store.chunk_compression (None: leave the config as is,
    e.g. for a peer that does not know the setting)."""
    subprocess.run([str(exe), "init", str(ws)], check=True, capture_output=True)
    if policy is not None:
        import json

        cfg_path = ws / ".canalis" / "config.json"
        cfg = json.loads(cfg_path.read_text())
        cfg.setdefault("store", {})["chunk_compression"] = policy
        cfg_path.write_text(json.dumps(cfg))


def profile_put(src: Path, ws: Path, policy: str) -> list[str]:
    """The per-stage lines of one cold put (CANALIS_INGEST_PROFILE=1)."""
    init_ws(CANALIS, ws, policy)
    drop(src)
    out = subprocess.run([str(CANALIS), "store", "put", str(src), "--workspace", str(ws)], check=True,
                         capture_output=True, text=True, env={**os.environ, "CANALIS_INGEST_PROFILE": "1"})
    shutil.rmtree(ws)
    return [line[len("ingest-stage "):] for line in out.stderr.splitlines() if line.startswith("ingest-stage ")]


def du(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def store_bytes(ws: Path) -> int:
    return du(ws / ".canalis" / "objects") - du(ws / ".canalis" / "objects" / "cache")


def med(xs):
    return statistics.median(xs)


def new_version_rows(work: Path, kind: str, src: Path, path: Path, label: str, size: int, reps: int, rows: list) -> None:
    """A new version of `src` at `path` put into a store holding `src`, against a cold read of
    it; this install and the peer alternating."""
    ws = work / "ws"
    reads = []
    puts: dict[str, list] = {f"canalis store put {label}": []}
    if PEER is not None:
        puts[f"peer: canalis store put {label}"] = []
    new = {}
    cpu: dict[str, list] = {}
    for rep in range(reps):  # alternating: a cold read, then each install's put into a store holding the original
        drop(path)
        reads.append(timed(["sh", "-c", f"cat '{path}' > /dev/null"])[0])
        for name in puts:
            exe = PEER if name.startswith("peer") else CANALIS
            shutil.rmtree(ws, ignore_errors=True)
            subprocess.run([str(exe), "init", str(ws)], check=True, capture_output=True)
            subprocess.run([str(exe), "store", "put", str(src), "--workspace", str(ws)], check=True, capture_output=True)
            before = store_bytes(ws)
            drop(path)
            puts[name].append(timed([str(exe), "store", "put", str(path), "--workspace", str(ws)])[0])
            cpu.setdefault(name, []).append(LAST_CPU[0])
            new[name] = store_bytes(ws) - before
    rows.append(f"| {kind} | cold: cat {label.split()[0]} > /dev/null (read it once) | {med(reads):.2f} | | | "
                f"{', '.join(f'{x:.2f}' for x in reads)} |")
    peer = puts.get(f"peer: canalis store put {label}")
    for name, xs in puts.items():
        vs = f"; {med(xs) / med(peer):.2f}x peer" if peer and not name.startswith("peer") else ""
        rows.append(f"| {kind} | {name} | {med(xs):.2f} | | {med(xs) / med(reads):.2f}x the read{vs}; "
                    f"CPU {med(cpu[name]):.2f} s (user + system); new stored bytes {new[name] / 1e6:,.1f} MB = "
                    f"{100 * new[name] / size:.2f}% of the file | {', '.join(f'{x:.2f}' for x in xs)} |")


def bench_kind(work: Path, kind: str, size: int, reps: int, rows: list, notes: list) -> None:
    src = work / f"{kind}.bin"
    make(src, size, kind)
    mb = size / 1e6
    mine = {"canalis store put": POLICIES[0], **{f"canalis store put (chunk_compression {p})": p for p in POLICIES[1:]}}
    res = {k: [] for k in ("cp", "cp + sync", *mine, "peer: canalis store put", "dvc add")}
    rss = {k: [] for k in (*mine, "peer: canalis store put")}
    gc_ws = None
    for rep in range(reps if COLD else 0):
        for name in res:
            if name == "dvc add" and not DVC.exists():
                continue
            if name.startswith("cp"):
                dst = work / "cp.out"
                drop(src)
                cmd = ["cp", str(src), str(dst)] if name == "cp" else ["sh", "-c", f"cp '{src}' '{dst}' && sync '{dst}'"]
                res[name].append(timed(cmd)[0])
                dst.unlink()
            elif name in rss:
                exe = PEER if name.startswith("peer") else CANALIS
                if exe is None:
                    continue
                ws = work / "ws"
                init_ws(exe, ws, mine.get(name))
                drop(src)
                s, peak = timed([str(exe), "store", "put", str(src), "--workspace", str(ws)])
                res[name].append(s)
                rss[name].append(peak)
                if rep == reps - 1:
                    stored = store_bytes(ws)
                    notes.append(f"{kind}, {name}: the store holds {stored / 1e6:,.0f} MB for the {mb:,.0f} MB file")
                    if mine.get(name) == "later" and gc_ws is None:
                        gc_ws = work / "ws-gc"
                        os.replace(ws, gc_ws)
                        continue
                shutil.rmtree(ws)
            else:
                repo = work / "dvc"
                repo.mkdir()
                subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
                subprocess.run([str(DVC), "init", "-q"], cwd=repo, check=True)
                shutil.copyfile(src, repo / "data.bin")
                drop(repo / "data.bin")
                res[name].append(timed([str(DVC), "add", "-q", "data.bin"], cwd=repo)[0])
                shutil.rmtree(repo)
    cp, cps = (med(res["cp"]), med(res["cp + sync"])) if COLD else (0, 0)
    for name, xs in res.items():
        if not xs:
            continue
        m = med(xs)
        extra = f"{m / cp:.2f}x cp, {m / cps:.2f}x cp + sync"
        if name in rss:
            extra += f"; peak RSS {max(rss[name]) / 2**20:.0f} MiB"
        if name == "canalis store put" and res["peer: canalis store put"]:
            extra += f"; {m / med(res['peer: canalis store put']):.2f}x peer"
        rows.append(f"| {kind} | cold: {name} | {m:.2f} | {mb / m:,.0f} MB/s | {extra} | {', '.join(f'{x:.2f}' for x in xs)} |")

    if gc_ws is not None:  # the chunks the "later" put stored raw, compressed by gc
        s, _ = timed([str(CANALIS), "gc", "--workspace", str(gc_ws)])
        rows.append(f"| {kind} | canalis gc after the put (compresses its chunks) | {s:.2f} | {mb / s:,.0f} MB/s | "
                    f"the store then holds {store_bytes(gc_ws) / 1e6:,.0f} MB | {s:.2f} |")
        shutil.rmtree(gc_ws)
    if PROFILE:
        for policy in POLICIES:
            stages = profile_put(src, work / "ws", policy)
            notes.append(f"{kind}, per-stage profile of one cold put (chunk_compression {policy}; wall and "
                         f"thread CPU seconds summed over threads): " + "; ".join(stages))

    # dedup: 1% appended, put into the store holding the original
    ws = work / "ws"
    ws.mkdir()
    v2 = work / f"{kind}-v2.bin"
    shutil.copyfile(src, v2)
    with open(v2, "ab") as f:
        tail = work / "tail.bin"
        make(tail, size // 100, kind)
        f.write(tail.read_bytes())
        tail.unlink()
    new_version_rows(work, kind, src, v2, "v2 (1% appended)", size, reps, rows)
    v3 = work / f"{kind}-v3.bin"  # 1% of the file rewritten in its middle (a few row groups of a Parquet file)
    shutil.copyfile(src, v3)
    with open(v3, "r+b") as f:
        mid = work / "mid.bin"
        make(mid, size // 100, kind)
        f.seek(size // 2)
        f.write(mid.read_bytes()[::-1])
        mid.unlink()
    new_version_rows(work, kind, src, v3, "v3 (1% rewritten in the middle)", size, reps, rows)
    v3.unlink()
    if DVC.exists():
        repo = work / "dvc"
        repo.mkdir()
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run([str(DVC), "init", "-q"], cwd=repo, check=True)
        shutil.copyfile(src, repo / "data.bin")
        subprocess.run([str(DVC), "add", "-q", "data.bin"], cwd=repo, check=True)
        cache0 = du(repo / ".dvc" / "cache")
        (repo / "data.bin").unlink()
        shutil.copyfile(v2, repo / "data.bin")
        drop(repo / "data.bin")
        s = timed([str(DVC), "add", "-q", "data.bin"], cwd=repo)[0]
        grown = du(repo / ".dvc" / "cache") - cache0
        rows.append(f"| {kind} | dvc add v2 (1% appended) | {s:.2f} | | new cache bytes {grown / 1e6:,.1f} MB = "
                    f"{100 * grown / size:.2f}% of the file | {s:.2f} |")
        shutil.rmtree(repo)

    if not CHECKOUT:
        shutil.rmtree(ws)
        src.unlink()
        v2.unlink()
        return
    # checkout: the chunked file against the same content as one whole blob (format 2), in a
    # store this install wrote
    shutil.rmtree(ws)
    subprocess.run([str(CANALIS), "init", str(ws)], check=True, capture_output=True)
    from canalis.store import LocalStore  # the interpreter's own install (the checkout's folders are laid out otherwise)
    from canalis.store.blob import RAW, ZSTD, compressor, pays

    store = LocalStore(ws / ".canalis" / "objects")
    digest = subprocess.run([str(CANALIS), "store", "put", str(src), "--workspace", str(ws)], check=True,
                            capture_output=True, text=True).stdout.strip()
    whole_ws = work / "ws-whole"
    whole = LocalStore(whole_ws / "objects")
    tmp = whole._tmp_name()
    with open(src, "rb") as f, open(tmp, "wb") as out:  # a format 2 whole blob: streamed zstd or raw
        head = f.read(1 << 20)
        comp = pays(len(compressor().compress(head)), len(head))
        from canalis.store.blob import pack_header
        out.write(pack_header(ZSTD if comp else RAW, size))
        w = compressor().stream_writer(out, closefd=False) if comp else out
        w.write(head)
        while block := f.read(4 << 20):
            w.write(block)
        if comp:
            import zstandard

            w.flush(zstandard.FLUSH_FRAME)
    whole._install(tmp, digest, True)
    outs = {"chunked": [], "whole blob": []}
    for _ in range(reps):
        for name, st in (("chunked", store), ("whole blob", whole)):
            dest = work / "co.out"
            os.sync()
            t = time.perf_counter()
            st.checkout_file(digest, dest, readonly=False, link=False)
            outs[name].append(time.perf_counter() - t)
            dest.unlink()
    for name, xs in outs.items():
        rows.append(f"| {kind} | checkout (copy, verified), {name} | {med(xs):.2f} | {mb / med(xs):,.0f} MB/s | "
                    f"{med(xs) / med(outs['whole blob']):.2f}x whole blob | {', '.join(f'{x:.2f}' for x in xs)} |")
    shutil.rmtree(ws)
    shutil.rmtree(whole_ws)
    src.unlink()
    v2.unlink()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--kinds", default="random,csv")
    ap.add_argument("--out", default=str(HERE / "results-chunk.md"))
    ap.add_argument("--peer", help="another install's canalis executable, measured alternating with this one")
    ap.add_argument("--no-checkout", action="store_true", help="skip the checkout rows")
    ap.add_argument("--append-only", action="store_true", help="only the 1%% appended rows (no cold ingest, no checkout)")
    ap.add_argument("--policies", default="later",
                    help="chunk compression policies of this install to measure, comma-separated (later,put)")
    ap.add_argument("--profile", action="store_true", help="add a per-stage profile of one put per policy")
    args = ap.parse_args()
    global PEER, CHECKOUT, POLICIES, PROFILE, COLD
    POLICIES = args.policies.split(",")
    PROFILE = args.profile
    PEER = Path(args.peer) if args.peer else None
    CHECKOUT = not (args.no_checkout or args.append_only)
    COLD = not args.append_only
    size = int(args.gib * (1 << 30))
    work = Path(tempfile.mkdtemp(prefix="canalis-chunk-bench-", dir=args.dir))
    rows, notes = [], []
    load0 = os.getloadavg()
    try:
        for kind in args.kinds.split(","):
            bench_kind(work, kind, size, args.reps, rows, notes)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load1 = os.getloadavg()
    dvc = subprocess.run([str(DVC), "--version"], capture_output=True, text=True).stdout.strip() if DVC.exists() else "not installed"
    lines = [
        f"Machine: {os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}; "
        f"DVC {dvc}. File: {size / 2**30:g} GiB. Load average at start {load0[0]:.2f}, at end {load1[0]:.2f}. "
        f"Median of {args.reps}, runs interleaved, each cold (sync + posix_fadvise DONTNEED on the source).",
        "",
        "| content | what | median (s) | throughput | ratio / notes | runs (s) |",
        "|---|---|---:|---:|---|---|",
        *rows,
        "",
        *[f"- {n}" for n in notes],
    ]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
