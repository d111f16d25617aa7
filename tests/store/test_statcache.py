"""The stat cache: an unchanged re-snapshot reads no file, a changed one is re-hashed."""
from __future__ import annotations

import os
import time

from store_helpers import age, age_tree, write


def test_unchanged_resnapshot_reads_no_file_contents(store, tmp_path):
    root = write(tmp_path / "d", {f"f{i}.txt": f"content {i}" for i in range(50)} | {"big.bin": os.urandom(9 << 20)})
    age_tree(root)
    first = store.snapshot(root)
    assert first.hashed == 51 and first.cached == 0
    second = store.snapshot(root)
    assert second.tree == first.tree
    assert second.hashed == 0 and second.cached == 51
    assert not os.listdir(store.root / "tmp")


def test_changed_file_with_same_size_is_rehashed(store, tmp_path):
    root = write(tmp_path / "d", {"a.txt": "aaaa", "b.txt": "bbbb"})
    age_tree(root, 20)
    first = store.snapshot(root)
    (root / "a.txt").write_text("AAAA")  # same size, new content
    age(root / "a.txt", 5)  # a new mtime, old enough to be trusted
    second = store.snapshot(root)
    assert second.tree != first.tree
    assert second.hashed == 1 and second.cached == 1
    third = store.snapshot(root)
    assert third.hashed == 0 and third.tree == second.tree


def test_replaced_file_with_same_size_and_mtime_is_rehashed(store, tmp_path):
    root = write(tmp_path / "d", {"a.txt": "aaaa"})
    age_tree(root)
    first = store.snapshot(root)
    st = os.stat(root / "a.txt")
    (root / "new").write_text("zzzz")
    os.utime(root / "new", ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(root / "new", root / "a.txt")  # same size and mtime, other inode
    second = store.snapshot(root)
    assert second.hashed == 1 and second.tree != first.tree


def test_racy_entries_are_not_trusted(store, tmp_path):
    """A file written in the same clock tick as the cache entry could change without its
    mtime moving; such entries are re-hashed next time."""
    root = write(tmp_path / "d", {"a.txt": "fresh"})  # mtime is now
    store.snapshot(root)
    assert store.snapshot(root).hashed == 1  # too fresh to trust
    time.sleep(0.15)
    store.snapshot(root)  # re-hashed after the window: the entry is trusted from now on
    assert store.snapshot(root).hashed == 0


def test_blob_removed_behind_the_cache_is_stored_again(store, tmp_path):
    root = write(tmp_path / "d", {"a.txt": "hello"})
    age_tree(root)
    r = store.snapshot(root)
    (digest,) = [e.digest for e in store.get_tree(r.tree)]
    store.delete(digest)
    again = store.snapshot(root)
    assert again.tree == r.tree and again.hashed == 1
    assert store.get_bytes(digest) == b"hello"


def test_snapshot_without_the_stat_cache_records_nothing(store, tmp_path):
    root = write(tmp_path / "once", {f"f{i}.txt": f"content {i}" for i in range(5)})
    age_tree(root)
    first = store.snapshot(root, stat_cache=False)
    again = store.snapshot(root, stat_cache=False)
    assert first.tree == again.tree and again.hashed == 5 and again.cached == 0
    cached = store.snapshot(root)  # the default path still fills and then uses the cache
    assert cached.tree == first.tree and cached.hashed == 5
    assert store.snapshot(root).cached == 5
