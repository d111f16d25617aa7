"""`canalis verify`: the ledger's chain, every blob's digest, and that every digest the
ledger names is in the store (unless garbage collection recorded its removal)."""
from __future__ import annotations

from canalis.executor.references import collect, expand
from canalis.store.errors import StoreError


def verify_workspace(ledger, store) -> dict:
    chain = ledger.verify()
    blobs = store.verify()
    refs = collect(ledger)
    missing, seen = [], set()
    for ref in refs.items:
        if ref.digest in refs.collected:
            continue
        if not store.exists(ref.digest):
            if ref.digest not in seen:
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
            if d not in seen and d not in refs.collected and not store.exists(d):
                missing.append({"digest": d, "why": f"entry of {ref.why}"})
                seen.add(d)
    return {
        "ok": chain.ok and blobs.ok and not missing,
        "ledger": {"ok": chain.ok, "checked": chain.checked, "first_bad_seq": chain.first_bad_seq, "reason": chain.reason},
        "store": {"ok": blobs.ok, "checked": blobs.checked, "corrupt": list(blobs.corrupt), "reasons": dict(blobs.reasons),
                  "temp_files": [str(t) for t in blobs.temp_files], "damaged_packs": list(blobs.damaged_packs)},
        "missing": missing,
        "references": len(refs.items),
    }
