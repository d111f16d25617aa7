"""Garbage collection deletes in batches; all the doomed blobs of one pack go in one batch,
so each pack is rewritten once."""
from __future__ import annotations

from canalis.executor import gc
from canalis.store.local import ObjectInfo


def info(i: int, pack: str | None) -> ObjectInfo:
    return ObjectInfo(f"{i:064x}", 10, 0.0, pack)


def test_each_packs_blobs_share_a_batch_and_batches_stay_near_the_limit(monkeypatch):
    monkeypatch.setattr(gc, "BATCH", 10)
    doomed = [info(i, "p1" if i % 3 == 0 else ("p2" if i % 3 == 1 else None)) for i in range(30)]
    doomed += [info(100 + i, "big") for i in range(25)]  # more than a batch: one batch alone
    batches = gc._batches(doomed)
    assert sorted(i.digest for b in batches for i in b) == sorted(i.digest for i in doomed)
    for pack in ("p1", "p2", "big"):
        holding = [b for b in batches if any(i.pack == pack for i in b)]
        assert len(holding) == 1, pack
    assert max(len(b) for b in batches if all(i.pack != "big" for i in b)) <= 10
    assert any(len(b) == 25 for b in batches)
