"""`canalis verify`: the ledger's chain, every blob's digest, and that every digest the
ledger names is in the store, unless garbage collection removed it after the reference was
recorded (a digest named again after its removal must be back in the store). What registered
datasets and models and published pipelines name is never collected, so it must always be there.

An unfinished collection (an intent with no completion: the collector was killed, or is
still sweeping) explains the objects it meant to remove: they are not missing, and the
result names the collection so that `canalis gc` can finish it.
"""
from __future__ import annotations

from canalis.executor.references import collect, expand
from canalis.store.errors import StoreError


def verify_workspace(ledger, store) -> dict:
    chain = ledger.verify()
    blobs = store.verify()
    refs = collect(ledger)
    pending = refs.pending()
    missing, seen = [], set()

    def gone(digest: str, ref) -> bool:
        """Is `digest` absent for a reason the ledger records (so not missing)? Registered
        datasets and models and published pipelines (references of no run) are never
        collected: whatever they name must be there."""
        return ref.run_id is not None and refs.removed_after(digest, ref.seq, pending) is not None

    for ref in refs.items:
        if not store.exists(ref.digest):
            if not gone(ref.digest, ref) and ref.digest not in seen:
                missing.append({"digest": ref.digest, "why": ref.why})
                seen.add(ref.digest)
            continue
        if ref.digest in blobs.corrupt:
            continue
        try:
            names = expand(store, ref.digest, ref.kind)
        except StoreError as e:  # a corrupt or truncated tree is reported, not raised
            missing.append({"digest": ref.digest, "why": f"{ref.why}: unreadable tree ({type(e).__name__}: {e})"})
            continue
        for d in names[1:]:
            if d not in seen and not store.exists(d) and not gone(d, ref):
                missing.append({"digest": d, "why": f"entry of {ref.why}"})
                seen.add(d)
    unfinished = [
        {"gc_id": i.gc_id, "batch": i.batch, "seq": i.seq, "objects": len(i.digests),
         "removed": sum(1 for d in i.digests if not store.exists(d))}
        for i in refs.unfinished
    ]
    return {
        "ok": chain.ok and blobs.ok and not missing,
        "ledger": {"ok": chain.ok, "checked": chain.checked, "first_bad_seq": chain.first_bad_seq, "reason": chain.reason},
        "store": {"ok": blobs.ok, "checked": blobs.checked, "corrupt": list(blobs.corrupt), "reasons": dict(blobs.reasons),
                  "temp_files": [str(t) for t in blobs.temp_files], "damaged_packs": list(blobs.damaged_packs)},
        "missing": missing,
        "references": len(refs.items),
        "unfinished_collections": unfinished,
    }
