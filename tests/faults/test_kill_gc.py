"""`canalis gc` killed with SIGKILL at random points of its sweep.

Before each kill the workspace holds four finished runs that the policy (`--keep-last 0`)
collects, each with a snapshot (one pack) and 500 loose blobs, and a registered dataset
that shares files with the first run. After the kill:

- `verify` reports nothing missing (objects an unfinished collection removed are explained);
- a writer registers, as a new dataset, the files of a run the killed collector was
  removing: content addressing gives the same digests back, stored again or found still
  there;
- the next gc finishes the interrupted collection without removing what the new dataset
  names, and `verify` is clean: no missing object, no unfinished collection.
"""
from __future__ import annotations

import os
import random
import shutil
import time

import pytest

from canalis import layout
from canalis.core import Dataset, Workspace
from canalis.executor.gc import collect_garbage
from canalis.executor.integrity import verify_workspace
from canalis.ledger import events as ev
from tests.faults.faults import CANALIS, clean, clone_workspace, count_events, kill, start, wait_until

RUNS = 4
FILES = 600
LOOSE = 500
ITERATIONS = 20


def _age(folder, seconds=7200):
    past = time.time() - seconds
    for p in folder.rglob("*"):
        if p.is_file():
            os.utime(p, (past, past))


def _build(root):
    layout.init(root)
    ws = Workspace(path=root)
    store, ledger = ws.store, ws.ledger
    data = ws.get_default_datastore()
    shared = {f"s{i:02d}.txt": f"shared {i}\n" for i in range(40)}
    for name, text in shared.items():
        (data.root / "kept").mkdir(parents=True, exist_ok=True)
        (data.root / "kept" / name).write_text(text)
    Dataset.File.from_files(path=(data, "kept/*.txt")).register(ws, "kept")
    for r in range(RUNS):
        folder = data.root / f"run{r}"
        folder.mkdir()
        for i in range(FILES):
            (folder / f"f{i:04d}.txt").write_text(f"run {r} file {i}\n")
        if r == 0:
            for name, text in shared.items():
                (folder / name).write_text(text)
        tree = store.snapshot(folder, ignore=False, stat_cache=False).tree
        logs = [store.put_bytes(f"run {r} log line {i}\n".encode()) for i in range(LOOSE)]
        run_id = f"old{r}"
        ledger.append(ev.RunSubmitted(run_id=run_id, experiment="gc", plan={
            "steps": [{"name": "s", "source_tree": tree, "inputs": [], "hash_paths": []}]}))
        ledger.append_many([ev.ArtifactUploaded(run_id=run_id, name=f"logs/{i}", digest=d, size=20)
                            for i, d in enumerate(logs)])
        ledger.append(ev.RunCompleted(run_id=run_id))
    ledger.close()
    _age(root / ".canalis" / "objects")


@pytest.fixture(scope="module")
def template(scratch):
    root = scratch / "template"
    _build(root)
    return root


def _sweep_seconds(template, scratch) -> float:
    """How long an uninterrupted sweep lasts here (from gc.started to exit): the range the
    random kill points are drawn from."""
    root = scratch / "measure"
    clone_workspace(template, root)
    proc = start([*CANALIS, "gc", "--keep-last", "0", "--grace", "0s", "--workspace", str(root)])
    wait_until(lambda: count_events(root, "gc.started") > 0, proc)
    t0 = time.monotonic()
    proc.wait(timeout=120)
    assert proc.returncode == 0, proc.stderr.read()
    shutil.rmtree(root)
    return time.monotonic() - t0


@pytest.mark.slow
def test_gc_killed_at_random_points_is_finished_by_the_next_gc(template, scratch):
    sweep = _sweep_seconds(template, scratch)
    interrupted = 0
    for seed in range(ITERATIONS):
        rng = random.Random(seed)
        root = scratch / f"gc{seed}"
        clone_workspace(template, root)
        proc = start([*CANALIS, "gc", "--keep-last", "0", "--grace", "0s", "--workspace", str(root)])
        if seed % 2:  # right after the intent of a random batch is recorded
            batch = rng.randint(1, 2)
            wait_until(lambda: count_events(root, "store.collection_intended") >= batch, proc, poll=0.002)
        else:  # at a random moment of the sweep
            wait_until(lambda: count_events(root, "gc.started") > 0, proc)
            time.sleep(rng.uniform(0, sweep))
        kill(proc)

        ws = Workspace(path=root)
        after_kill = verify_workspace(ws.ledger, ws.store)
        assert after_kill["ok"] and not after_kill["missing"], (seed, after_kill["missing"][:3])
        interrupted += bool(after_kill.get("unfinished_collections"))

        # a writer stores files the killed collector meant to remove and names them again
        again = Dataset.File.from_files(path=(ws.get_default_datastore(), "run2/*.txt")).register(ws, "again")
        report = collect_garbage(ws.ledger, ws.store, ws._layout.locks, keep_last=0, grace_seconds=0)
        result = verify_workspace(ws.ledger, ws.store)
        assert clean(result), (seed, result["missing"][:3], result["unfinished_collections"])
        if after_kill.get("unfinished_collections"):
            assert report.finished["collections"], seed
        for entry in ws.store.get_tree(again._tree):  # the new dataset is whole
            assert ws.store.get_bytes(entry.digest, verify=True) == (root / ".canalis" / "datastores" /
                                                                     "workspaceblobstore" / "run2" / entry.path).read_bytes()
        ws.ledger.close()
        shutil.rmtree(root)
    # the kill points are meant to land inside the sweep: at least one did
    assert interrupted >= 1
