"""The process of a ParallelRunStep: cut the input into mini-batches, run the entry script's
`run(mini_batch)` on each (in a process pool here, or on a Dask cluster), write the results.

    python -m canalis.pipeline.steps.parallel_driver ENTRY_SCRIPT --settings JSON [--output DIR] -- ARGS...

- Items: the files of a FileDataset input (sorted by path; a mini-batch is a list of their
  paths) or the rows of a TabularDataset input (a mini-batch is a pandas DataFrame).
- Each worker process imports the entry script once and calls its `init()` once, with
  `sys.argv` = [entry script, *ARGS] as SDK v1 did; then `run(mini_batch)` per mini-batch.
  The number of elements `run` returns (list items, DataFrame rows) counts as succeeded items;
  the rest of the mini-batch (all of it when `run` raises) as failed.
- `append_row`: every result element becomes a line of `parallel_run_step.txt` in the output,
  in the order of the items (as a sequential loop over the mini-batches would write them).
- `error_threshold`: more failed items than this fails the step (-1: never).
- Reuse item by item: a mini-batch whose items all succeeded is kept under
  `.canalis/parallel/<family>/` (family: the source folder's files, the arguments, the output
  action); a later run whose input still holds all of a kept mini-batch's items (same path,
  same bytes) takes its results instead of running it, so adding files to a dataset runs
  only mini-batches of the new files.
- Progress and per-mini-batch logs go to the step's stdout; the counts are logged as metrics
  (`mini_batches`, `mini_batches_reused`, `items_succeeded`, `items_failed`).
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import json
import logging
import os
import sys
import threading
import traceback
from pathlib import Path

_LOADED: dict[str, object] = {}  # per worker process: setup key -> the entry script's module (init() done)
_LOCK = threading.Lock()
LOGGER_NAME = "canalis.parallel_run"


# -- in a worker process ---------------------------------------------------------------------


def _module(setup: dict):
    """The entry script's module in this process, imported and init()-ed on first use."""
    with _LOCK:
        mod = _LOADED.get(setup["key"])
        if mod is not None:
            return mod
        src = setup["source"]
        for folder in (setup["shim"], src):  # the entry script's folder, and `azureml_user` (EntryScript)
            if folder not in sys.path:
                sys.path.insert(0, folder)
        os.environ.update(setup["env"])
        sys.argv = [setup["entry"], *setup["arguments"]]
        spec = importlib.util.spec_from_file_location(f"canalis_entry_{setup['key'][:16]}",
                                                      os.path.join(src, setup["entry"]))
        mod = importlib.util.module_from_spec(spec)
        cwd = os.getcwd()
        os.chdir(src)
        try:
            spec.loader.exec_module(mod)
            if hasattr(mod, "init"):
                mod.init()
        finally:
            os.chdir(cwd)
        _LOADED[setup["key"]] = mod
        return mod


class MiniBatchTimeout(Exception):
    """run() of a mini-batch took longer than the config's run_invocation_timeout."""


def _run_within(fn, batch, timeout):
    """`fn(batch)`, stopped with `MiniBatchTimeout` after `timeout` seconds (None: no limit).
    In a process's main thread (the local pool) a SIGALRM timer stops it, also inside a blocking
    system call; in another thread (a Dask worker's) the exception is raised in that thread
    (`PyThreadState_SetAsyncExc`), which takes effect when it next runs Python code."""
    if not timeout or timeout <= 0:
        return fn(batch)
    message = f"run() took longer than run_invocation_timeout={timeout:g} s and was stopped"
    if threading.current_thread() is threading.main_thread():
        import signal

        def on_alarm(signum, frame):
            raise MiniBatchTimeout(message)

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            return fn(batch)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    import ctypes

    ident, lock, state = threading.get_ident(), threading.Lock(), {"done": False, "fired": False}

    def fire():
        with lock:
            if not state["done"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(MiniBatchTimeout))

    timer = threading.Timer(timeout, fire)
    timer.daemon = True
    timer.start()
    try:
        result = fn(batch)
    except MiniBatchTimeout:
        state["fired"] = True
    finally:
        with lock:
            state["done"] = True
        timer.cancel()
        if state["fired"]:  # fired as run() returned: take back an exception not yet raised
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)
    if state["fired"]:
        raise MiniBatchTimeout(message)
    return result


def run_mini_batch(setup: dict, index: int, batch) -> dict:
    """Run one mini-batch; returns its result lines, its counts, its log and where it ran."""
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    size = len(batch)
    where = _where()
    try:
        mod = _module(setup)
        result = _run_within(mod.run, batch, setup.get("timeout"))
        lines = _lines(result)
        return {"index": index, "lines": lines, "succeeded": min(len(lines), size) if result is not None else 0,
                "failed": max(0, size - len(lines)) if result is not None else size, "error": None,
                "log": log.getvalue(), "where": where}
    except Exception:  # noqa: BLE001 - the entry script's failure fails its items, not the step
        return {"index": index, "lines": [], "succeeded": 0, "failed": size, "error": traceback.format_exc(),
                "log": log.getvalue(), "where": where}
    finally:
        logger.removeHandler(handler)


def _where() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except Exception:  # noqa: BLE001 - not on a Dask worker
        return f"pid {os.getpid()}"


def _lines(result) -> list[str]:
    if result is None:
        return []
    if hasattr(result, "to_csv"):  # a DataFrame: one line per row, values separated by spaces
        text = result.to_csv(sep=" ", header=False, index=False)
        return text.splitlines()
    return [str(x) for x in result]


# -- the driver ------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="parallel_driver")
    parser.add_argument("entry")
    parser.add_argument("--settings", required=True)
    parser.add_argument("--output", default=None)
    args, rest = parser.parse_known_args(argv)
    if rest and rest[0] == "--":
        rest = rest[1:]
    settings = json.loads(args.settings)
    from canalis.compat.steps import SHIM
    from canalis.core import Run
    from canalis.executor.channel import ENV_VAR

    ctx = json.loads(Path(os.environ[ENV_VAR]).read_text())
    run = Run.get_context()
    logging.getLogger(LOGGER_NAME).setLevel(settings.get("logging_level", "INFO"))
    items, keys = _items(ctx, run, settings)
    setup = {"source": os.getcwd(), "entry": args.entry, "arguments": list(rest),
             "env": {ENV_VAR: os.environ[ENV_VAR]}, "shim": str(SHIM)}
    family = _family(setup, settings)
    setup["key"] = family
    setup["timeout"] = settings.get("run_invocation_timeout")
    cache = _cache_dir(ctx, family)
    plan = _plan(items, keys, settings, cache)
    todo = [(i, b) for i, b in enumerate(plan) if b["cached"] is None]
    print(f"parallel run: {len(items)} item(s) in {len(plan)} mini-batch(es); {len(plan) - len(todo)} reused, "
          f"{len(todo)} to run", flush=True)
    results = {i: b["cached"] for i, b in enumerate(plan) if b["cached"] is not None}
    for r in _execute(setup, [(i, b["batch"]) for i, b in todo], settings, ctx):
        results[r["index"]] = r
        batch = plan[r["index"]]
        status = "failed" if r["error"] else f"{r['succeeded']} succeeded, {r['failed']} failed"
        print(f"mini-batch {r['index'] + 1}/{len(plan)} on {r['where']}: {status}", flush=True)
        for line in (r["log"] or "").splitlines():
            print(f"  [mini-batch {r['index'] + 1}] {line}", flush=True)
        if r["error"]:
            print(f"  [mini-batch {r['index'] + 1}] " + r["error"].rstrip().replace("\n", "\n  "), file=sys.stderr,
                  flush=True)
        elif r["failed"] == 0 and cache is not None:
            _keep(cache, batch["key"], batch["keys"], r)
    succeeded = sum(r["succeeded"] for r in results.values())
    failed = sum(r["failed"] for r in results.values())
    ordered = [results[i] for i in sorted(results, key=lambda i: plan[i]["order"])]
    if args.output is not None:
        out = Path(args.output)
        out.mkdir(parents=True, exist_ok=True)
        if settings["output_action"] == "append_row":
            with open(out / settings["append_row_file_name"], "w", encoding="utf-8") as f:
                for r in ordered:
                    for line in r["lines"]:
                        f.write(line + "\n")
    for name, value in (("mini_batches", len(plan)), ("mini_batches_reused", len(plan) - len(todo)),
                        ("items_succeeded", succeeded), ("items_failed", failed)):
        run.log(name, value)
    print(f"parallel run done: {succeeded} item(s) succeeded, {failed} failed, {len(plan) - len(todo)} mini-batch(es) "
          "reused", flush=True)
    threshold = settings["error_threshold"]
    if threshold != -1 and failed > threshold:
        print(f"{failed} item(s) failed, more than error_threshold={threshold}: the step fails", file=sys.stderr,
              flush=True)
        return 1
    return 0


def _items(ctx, run, settings):
    """The items in order and a key for each (path and bytes of a file; a row's position and values)."""
    import blake3

    spec = ctx["inputs"][settings["input"]]
    if settings["kind"] == "tabular":
        df = run.input_datasets[settings["input"]].to_pandas_dataframe()
        rows = df.to_csv(header=False, index=False).splitlines()
        return df, [blake3.blake3(f"{i}\0{r}".encode()).hexdigest() for i, r in enumerate(rows)]
    root = Path(spec["path"])
    if spec.get("file"):
        files = [root / spec["file"]]
    else:
        files = sorted((p for p in root.rglob("*") if p.is_file()), key=lambda p: p.relative_to(root).as_posix())
    keys = [blake3.blake3(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes()).hexdigest() for p in files]
    return [str(p) for p in files], keys


def _family(setup, settings) -> str:
    """What a kept mini-batch result depends on besides its items: the code and how it is called."""
    import blake3

    h = blake3.blake3()
    src = Path(setup["source"])
    for p in sorted(q for q in src.rglob("*") if q.is_file() and "__pycache__" not in q.parts):
        h.update(p.relative_to(src).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(json.dumps([setup["entry"], setup["arguments"], settings["output_action"], settings["kind"],
                         settings["batch"]]).encode())
    return h.hexdigest()


def _cache_dir(ctx, family):
    if not ctx.get("workspace"):
        return None
    path = Path(ctx["workspace"]) / ".canalis" / "parallel" / family[:32]
    path.mkdir(parents=True, exist_ok=True)
    return path


def _plan(items, keys, settings, cache) -> list[dict]:
    """The mini-batches: kept ones whose items are all present first claim their items, then
    the remaining items are cut in order. `order` is the position of a batch's first item."""
    import blake3

    unit, size = settings["batch"]
    position = {}
    for i, k in enumerate(keys):
        position.setdefault(k, i)
    claimed: set[int] = set()
    batches = []
    if cache is not None and settings["kind"] == "file":
        for f in sorted(cache.glob("*.json")):
            try:
                kept = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            idx = [position.get(k) for k in kept["keys"]]
            if None in idx or claimed.intersection(idx):
                continue
            claimed.update(idx)
            batches.append({"order": min(idx), "key": f.stem, "keys": kept["keys"], "batch": None,
                            "cached": {"index": None, "lines": kept["lines"], "succeeded": len(idx), "failed": 0,
                                       "error": None, "log": "", "where": "reused"}})
    free = [i for i in range(len(keys)) if i not in claimed]
    for chunk in _chunks(items, free, unit, size, settings["kind"]):
        ks = [keys[i] for i in chunk]
        key = blake3.blake3("\0".join(ks).encode()).hexdigest()
        batch = items.iloc[chunk].reset_index(drop=True) if settings["kind"] == "tabular" else [items[i] for i in chunk]
        cached = None
        if cache is not None and settings["kind"] == "tabular" and (cache / f"{key}.json").exists():
            kept = json.loads((cache / f"{key}.json").read_text())
            cached = {"index": None, "lines": kept["lines"], "succeeded": len(chunk), "failed": 0, "error": None,
                      "log": "", "where": "reused"}
        batches.append({"order": chunk[0], "key": key, "keys": ks, "batch": batch, "cached": cached})
    batches.sort(key=lambda b: b["order"])
    for i, b in enumerate(batches):
        if b["cached"] is not None:
            b["cached"] = {**b["cached"], "index": i}
    return batches


def _chunks(items, free, unit, size, kind):
    if unit in ("files", "rows"):
        return [free[i:i + size] for i in range(0, len(free), size)]
    per_row = max(1, int(items.memory_usage(deep=True).sum() / max(1, len(items)))) if kind == "tabular" else 1
    rows = max(1, size // per_row)
    return [free[i:i + rows] for i in range(0, len(free), rows)]


def _keep(cache: Path, key: str, keys: list, r: dict) -> None:
    tmp = cache / f".{key}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"keys": keys, "lines": r["lines"]}))
    os.replace(tmp, cache / f"{key}.json")


def _execute(setup, work, settings, ctx):
    """Yield each mini-batch's result as it ends: on the Dask cluster of the settings' compute
    target, or in a pool of processes here."""
    if not work:
        return
    target = _dask_target(ctx, settings.get("compute_target"))
    if target is not None:
        yield from _on_dask(setup, work, target)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n = settings.get("processes") or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=min(n, len(work))) as pool:
        futures = [pool.submit(run_mini_batch, setup, i, b) for i, b in work]
        for fut in as_completed(futures):
            yield fut.result()


def _dask_target(ctx, name):
    if not name or not ctx.get("workspace"):
        return None
    try:
        cfg = json.loads((Path(ctx["workspace"]) / ".canalis" / "config.json").read_text())
    except (OSError, ValueError):
        return None
    entry = cfg.get("compute_targets", {}).get(name) or {}
    return entry.get("requested", {}) if entry.get("type") == "dask" else None


def _on_dask(setup, work, requested):
    from canalis.executor.runners.dask import DaskCluster

    cluster = DaskCluster("parallel", requested)
    try:
        from distributed import as_completed

        client = cluster.client()
        futures = [client.submit(run_mini_batch, setup, i, b, pure=False) for i, b in work]
        for fut in as_completed(futures, loop=client.loop):
            yield fut.result()
    finally:
        cluster.close()


if __name__ == "__main__":  # run through its importable name, so worker processes find run_mini_batch
    from canalis.pipeline.steps import parallel_driver

    sys.exit(parallel_driver.main())
