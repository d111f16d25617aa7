"""The reuse decision: replay the ledger for a completed step with the same key.

A candidate counts only when every output tree it recorded, and every blob in those
trees, is still in the store (garbage collection may have removed them). The ledger's
reuse index is a projection of `step.completed` events, rebuilt from the events alone,
so this never trusts a side cache. The lock that makes concurrent runs decide one at a
time is `locks.single_flight`.
"""
from __future__ import annotations

from canalis.ledger.rows import ReuseCandidate


def outputs_present(store, outputs: dict[str, str]) -> bool:
    """Whether every output tree, and every blob each tree names, is in the store. The blobs
    of a tree are looked up together (`store.present`, one query for the packed ones); one
    that query does not find is looked up alone, which also reads packs another process has
    written since this store was opened."""
    for tree in outputs.values():
        if not store.exists(tree):
            return False
        digests = [entry.digest for entry in store.get_tree(tree)]
        found = store.present(digests) if digests else set()
        if not all(store.exists(d) for d in digests if d not in found):
            return False
    return True


def find_reusable(ledger, store, key: str) -> ReuseCandidate | None:
    """The newest completed step run with `key` whose outputs are all still stored."""
    for candidate in ledger.reuse_candidates(key):
        if outputs_present(store, candidate.outputs):
            return candidate
    return None
