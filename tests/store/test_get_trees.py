"""Many trees read together (`LocalStore.get_trees`): each tree it gives is what `get_tree`
gives, and it leaves out only what `get_tree` would have to find elsewhere or refuse."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from canalis.store.errors import StoreError
from canalis.store.local import LocalStore
from tests.store.store_helpers import numbered_files


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 4), min_size=1, max_size=4), data=st.data())
def test_trees_read_together_are_those_read_one_by_one(sizes, data):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = LocalStore(root / "objects")
        packed, loose, blobs = [], [], []
        for n, count in enumerate(sizes):
            files = numbered_files(root, n, count)
            if files:
                with store.together() as together:  # packed with its blobs
                    tree = together.put_files(files).tree
                packed.append(tree)
                blobs += [e.digest for e in store.get_tree(tree)]
                loose.append(store.put_tree([e for e in store.get_tree(tree) if e.path != "f0.txt"]))  # a loose one
        removed = data.draw(st.lists(st.sampled_from(packed + loose), unique=True, max_size=2) if packed else st.just([]))
        store.delete_many(removed)
        asked = data.draw(st.lists(st.sampled_from(packed + loose + blobs + ["e" * 64, "not-a-digest"]), max_size=8))
        together = store.get_trees(asked)
        assert set(together) <= set(asked)
        for digest in asked:
            try:
                alone = store.get_tree(digest)
            except StoreError:
                alone = None
            if digest in together:
                assert together[digest] == alone
            elif digest in packed and digest not in removed:
                raise AssertionError(f"the packed tree {digest} was left out")
