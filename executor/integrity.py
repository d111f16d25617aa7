"""`canalis verify`: the ledger's chain, the store (structure, or with `deep` every blob's
content), and every digest the ledger names: present in the store unless garbage collection
removed it after the reference was recorded (a digest named again after its removal must be
back in the store), every tree it names readable and its entries' sizes equal to their
blobs' sizes. What no run names is never collected, so it must always be there: registered
dataset and model versions, published pipelines' snapshots and `hash_paths` entries, the
plan document of every recorded run, and the folder listings of data-change schedules (the
one each was created with, and the one its last fire stored). A tree whose entries disagree
with their blobs is traced through the ledger to the runs, step runs, datasets, models and
published pipelines that used it.

An unfinished collection (an intent with no completion: the collector was killed, or is
still sweeping) explains the objects it meant to remove: they are not missing, and the
result names the collection so that `canalis gc` can finish it.
"""
from __future__ import annotations

from canalis.executor.references import collect
from canalis.store.errors import NotATreeError, StoreError
from canalis.store.structure import size_mismatches


def verify_workspace(ledger, store, deep: bool = False, repair: bool = False) -> dict:
    chain = ledger.verify()
    blobs = store.verify(deep=deep, repair=repair)
    refs = collect(ledger)
    pending = refs.pending()
    faulty = {t: list(m) for t, m in blobs.faulty_trees.items()}
    checked_trees = getattr(blobs, "checked_trees", set())
    missing, seen, expanded = [], set(), {}

    def gone(digest: str, ref) -> bool:
        """Is `digest` absent for a reason the ledger records (so not missing)? References of
        no run (registrations, published pipelines, plans of runs, schedules' folder listings)
        are never collected: whatever they name must be there."""
        return ref.run_id is not None and refs.removed_after(digest, ref.seq, pending) is not None

    for ref in refs.items:
        if ref.digest not in expanded:
            expanded[ref.digest] = _expand(store, ref, blobs, checked_trees, faulty)
        status, entries = expanded[ref.digest]
        if status == "missing":
            if not gone(ref.digest, ref) and ref.digest not in seen:
                missing.append({"digest": ref.digest, "why": ref.why})
                seen.add(ref.digest)
            continue
        if status != "ok":  # unreadable tree: reported for every reference that names it
            missing.append({"digest": ref.digest, "why": f"{ref.why}: {status}"})
            continue
        for d in entries:
            if d not in seen and not store.exists(d) and not gone(d, ref):
                missing.append({"digest": d, "why": f"entry of {ref.why}"})
                seen.add(d)
    unfinished = [
        {"gc_id": i.gc_id, "batch": i.batch, "seq": i.seq, "objects": len(i.digests),
         "removed": sum(1 for d in i.digests if not store.exists(d))}
        for i in refs.unfinished
    ]
    traced = [_trace(tree, mismatches, refs, ledger) for tree, mismatches in sorted(faulty.items())]
    store_part = blobs.as_dict()
    store_part["faulty_trees"] = [{"tree": t["tree"], "entries": t["entries"]} for t in traced]
    store_part["ok"] = blobs.ok and not faulty
    return {
        "ok": chain.ok and store_part["ok"] and not missing,
        "deep": deep,
        "ledger": {"ok": chain.ok, "checked": chain.checked, "first_bad_seq": chain.first_bad_seq, "reason": chain.reason},
        "store": store_part,
        "missing": missing,
        "references": len(refs.items),
        "faulty_trees": traced,
        "affected": _affected(traced),
        "unfinished_collections": unfinished,
    }


def _expand(store, ref, blobs, checked_trees: set, faulty: dict) -> tuple[str, list[str]]:
    """("ok", entry digests) | ("missing", []) | (why the tree is unreadable, []). A tree the
    store's own check did not cover (a manifest stored in a pack) has its sizes checked here."""
    if not store.exists(ref.digest):
        return "missing", []
    if ref.kind == "blob" or ref.digest in blobs.corrupt:
        return "ok", []
    try:
        entries = store.get_tree(ref.digest)
    except NotATreeError as e:
        if ref.kind == "any":  # a hash_paths entry may be a single file's blob
            return "ok", []
        return f"unreadable tree ({type(e).__name__}: {e})", []
    except StoreError as e:  # a corrupt or truncated tree is reported, not raised
        return f"unreadable tree ({type(e).__name__}: {e})", []
    if ref.digest not in checked_trees and ref.digest not in faulty:
        bad = size_mismatches(entries, lambda d: _size(store, d))
        if bad:
            faulty[ref.digest] = [m.as_dict() for m in bad]
    return "ok", [e.digest for e in entries]


def _size(store, digest: str) -> int | None:
    try:
        return store.size(digest)
    except StoreError:
        return None  # absent or corrupt: reported as such


def _trace(tree: str, mismatches: list, refs, ledger) -> dict:
    """A faulty tree with what used it, from the ledger's references to it."""
    used_by, step_runs = [], {}
    for ref in refs.items:
        if ref.digest != tree:
            continue
        ids = [ref.step_run_id] if ref.step_run_id else []
        if ref.step and not ids and ref.run_id:
            if ref.run_id not in step_runs:
                step_runs[ref.run_id] = ledger.step_runs(ref.run_id)
            ids = [r.step_run_id for r in step_runs[ref.run_id] if r.step_name == ref.step]
        used_by.append({
            "why": ref.why, "run_id": ref.run_id, "step": ref.step, "step_run_ids": ids,
            "dataset": ref.dataset, "model": ref.model, "pipeline": ref.pipeline,
        })
    return {"tree": tree, "entries": mismatches, "used_by": used_by}


def _affected(traced: list) -> dict:
    runs, step_runs, datasets, models, pipelines = set(), set(), set(), set(), set()
    for t in traced:
        for u in t["used_by"]:
            if u["run_id"]:
                runs.add(u["run_id"])
            step_runs.update(u["step_run_ids"])
            if u["dataset"]:
                datasets.add(f"{u['dataset']['name']} v{u['dataset']['version']}")
            if u["model"]:
                models.add(f"{u['model']['name']} v{u['model']['version']}")
            if u["pipeline"]:
                pipelines.add(u["pipeline"])
    return {"runs": sorted(runs), "step_runs": sorted(step_runs), "datasets": sorted(datasets),
            "models": sorted(models), "published_pipelines": sorted(pipelines)}
