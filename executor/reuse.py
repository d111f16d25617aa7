"""The reuse decision: replay the ledger for a completed step with the same key.

A candidate counts only when every output tree it recorded, and every blob in those
trees, is still in the store (garbage collection may have removed them). The ledger's
reuse index is a projection of `step.completed` events, rebuilt from the events alone,
so this never trusts a side cache. The lock that makes concurrent runs decide one at a
time is `locks.single_flight`.
"""
from __future__ import annotations

from canalis.ledger.rows import ReuseCandidate
from canalis.store.errors import BlobNotFoundError


def outputs_present(store, outputs: dict[str, str], trees: dict | None = None) -> bool:
    """Whether every output tree, and every blob each tree names, is in the store. The blobs
    of a tree are looked up together (`store.present`, one query for the packed ones); one
    that query does not find is looked up alone, which also reads packs another process has
    written since this store was opened. `trees`, when given, gets each tree's entries as read
    (digest -> entries), for a caller that would otherwise read them again. A tree is read
    without asking first whether it exists: reading it finds that out (one lookup, not two)."""
    for tree in outputs.values():
        try:
            entries = store.get_tree(tree)
        except BlobNotFoundError:  # removed (garbage collection)
            return False
        if trees is not None:
            trees[tree] = entries
        digests = [entry.digest for entry in entries]
        found = store.present(digests) if digests else set()
        if not all(store.exists(d) for d in digests if d not in found):
            return False
    return True


class Candidates:
    """The reuse candidates of many steps' keys, looked up together: those of `likely` keys
    are read in one query up front; any other key is read alone when asked. Each key's list is
    the complete one `ledger.reuse_candidates` gives, so a decision made with it is the same."""

    def __init__(self, ledger, likely):
        self.ledger = ledger
        self.known = ledger.reuse_candidates_many(likely) if likely else {}

    def __call__(self, key: str) -> list[ReuseCandidate]:
        found = self.known.get(key)
        return found if found is not None else self.ledger.reuse_candidates(key)


def find_reusable(ledger, store, key: str, trees: dict | None = None,
                  candidates: Candidates | None = None) -> ReuseCandidate | None:
    """The newest completed step run with `key` whose outputs are all still stored (`trees`:
    see `outputs_present`; `candidates`: the lookup of several steps at once, `Candidates`)."""
    for candidate in (candidates(key) if candidates is not None else ledger.reuse_candidates(key)):
        if outputs_present(store, candidate.outputs, trees):
            return candidate
    return None
