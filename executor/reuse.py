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
    for tree in outputs.values():
        if not store.exists(tree):
            return False
        for entry in store.get_tree(tree):
            if not store.exists(entry.digest):
                return False
    return True


def find_reusable(ledger, store, key: str) -> ReuseCandidate | None:
    """The newest completed step run with `key` whose outputs are all still stored."""
    for candidate in ledger.reuse_candidates(key):
        if outputs_present(store, candidate.outputs):
            return candidate
    return None
