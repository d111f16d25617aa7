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

    @classmethod
    def of_latest_run(cls, ledger, experiment: str) -> "Candidates":
        """The candidates of the keys the experiment's latest run had, read in one query: those
        a re-submit of the same pipeline most likely asks for. A key none has is not among them
        (asked, it is read alone, and has none)."""
        found = cls.__new__(cls)
        found.ledger, found.known = ledger, ledger.last_run_candidates(experiment)
        return found

    def __call__(self, key: str) -> list[ReuseCandidate]:
        found = self.known.get(key)
        return found if found is not None else self.ledger.reuse_candidates(key)


class Prefetched:
    """The store as `outputs_present` reads it, with the output trees of many candidates and
    the blobs they name looked up together up front (`store.get_trees`, one `store.present`):
    a run whose steps are all reused asks for each step's trees in turn, and would otherwise
    query once per tree and once per tree's blobs. What was not found up front is asked of
    the store when asked for, so every answer is the store's own. Made and used under
    `writing`: garbage collection removes nothing in between."""

    def __init__(self, store, trees):
        self.store = store
        get_trees = getattr(store, "get_trees", None)
        self.trees = get_trees(trees) if get_trees is not None else {}
        digests = list(dict.fromkeys(e.digest for entries in self.trees.values() for e in entries))
        self.stored = store.present(digests) if digests else set()

    def get_tree(self, digest: str):
        found = self.trees.get(digest)
        return found if found is not None else self.store.get_tree(digest)

    def present(self, digests: list[str]) -> set[str]:
        found = {d for d in digests if d in self.stored}
        rest = [d for d in digests if d not in found]
        return found | self.store.present(rest) if rest else found

    def exists(self, digest: str) -> bool:
        return self.store.exists(digest)


def first_candidates_trees(candidates: Candidates) -> list[str]:
    """The output trees of each likely key's newest candidate: those a reuse check reads first."""
    return [tree for found in candidates.known.values() if found for tree in found[0].outputs.values()]


def find_reusable(ledger, store, key: str, trees: dict | None = None,
                  candidates: Candidates | None = None) -> ReuseCandidate | None:
    """The newest completed step run with `key` whose outputs are all still stored (`trees`:
    see `outputs_present`; `candidates`: the lookup of several steps at once, `Candidates`)."""
    for candidate in (candidates(key) if candidates is not None else ledger.reuse_candidates(key)):
        if outputs_present(store, candidate.outputs, trees):
            return candidate
    return None
