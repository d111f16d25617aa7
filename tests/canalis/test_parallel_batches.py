"""How ParallelRunStep cuts items into mini-batches and reuses kept ones, as properties: every
item is in exactly one mini-batch; without kept results the mini-batches are the sequential
cut; after items are added, kept mini-batches whose items are all still there are reused and
only the new items run."""
from __future__ import annotations

import tempfile
from pathlib import Path

import blake3
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.pipeline.steps.parallel_driver import _keep, _plan

names = st.lists(st.text(alphabet="abcdefgh", min_size=1, max_size=6), unique=True, max_size=40)


def keyed(items):
    return [blake3.blake3(i.encode()).hexdigest() for i in items]


def plan(items, size, cache):
    return _plan(items, keyed(items), {"batch": ["files", size], "kind": "file"}, cache)


def members(batches, items):
    """The items of each batch, in batch order (kept batches by their keys)."""
    by_key = dict(zip(keyed(items), items))
    return [[by_key[k] for k in b["keys"]] for b in batches]


@settings(max_examples=60, deadline=None)
@given(first=names, added=names, size=st.integers(1, 7))
def test_items_are_cut_once_and_kept_batches_are_reused(first, added, size):
    first = sorted(first)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        batches = plan(first, size, cache)
        assert [i for b in members(batches, first) for i in b] == first  # the sequential cut
        assert all(len(b) <= size for b in members(batches, first))
        for b in batches:
            _keep(cache, b["key"], b["keys"], {"lines": [f"{i} ok" for i in b["batch"]]})
        both = sorted(set(first) | set(added))
        again = plan(both, size, cache)
        cut = [i for b in members(again, both) for i in b]
        assert sorted(cut) == both and len(cut) == len(both)  # each item in exactly one mini-batch
        reused = [b for b in again if b["cached"] is not None]
        assert len(reused) == len(batches)  # every kept mini-batch still has all its items
        ran = sorted(i for b in again if b["cached"] is None for i in b["batch"])
        assert ran == sorted(set(added) - set(first))  # only the new items run
        if all(a > max(first, default="") for a in set(added) - set(first)):  # appended at the end
            assert cut == both
