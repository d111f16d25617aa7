"""verify checks every tree's entry sizes against its blobs' sizes, and the stat cache's too.

The trees a wrong pairing of digests with paths stores (as snapshots made before the
pairing was fixed did) are the case this exists for: `old_pairing` below is that code's
grouping and flattening, kept here as the model of what it stored.
"""
from __future__ import annotations

import os
import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore
from canalis.store.pack import PACKABLE
from canalis.store.tree import FILE, TreeEntry
from store_helpers import age_tree, write

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def old_pairing(sizes: list[int], group_files: int = 64, group_bytes: int = 16 << 20) -> list[int]:
    """For files to hash in walk order with these sizes, the index of the file whose digest
    the faulty snapshot code gave to each: groups of small files, every file of at least
    PACKABLE bytes in a group of its own appended as soon as it was seen (ahead of the open
    group of small files), digests flattened in group order and zipped with walk order."""
    groups, current, size = [], [], 0
    for i, s in enumerate(sizes):
        if s >= PACKABLE:
            groups.append([i])
            continue
        if current and (len(current) >= group_files or size + s > group_bytes):
            groups.append(current)
            current, size = [], 0
        current.append(i)
        size += s
    if current:
        groups.append(current)
    return [i for g in groups for i in g]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0, 1, 100, 4095, PACKABLE - 1, PACKABLE, PACKABLE + 1, 9 << 20]), min_size=1, max_size=80))
def test_every_tree_the_faulty_pairing_got_wrong_has_an_entry_whose_size_disagrees(sizes):
    """The claim docs/release-notes.md makes: a wrongly paired tree is always found by sizes
    (per tree; single entries of equal size can still be wrong unnoticed)."""
    got = old_pairing(sizes)
    if got != list(range(len(sizes))):
        assert any(sizes[i] != sizes[j] for i, j in enumerate(got))


def test_the_model_reproduces_the_reported_swap():
    # a large file walked after a small one: the two swap digests
    assert old_pairing([100, PACKABLE, 50]) == [1, 0, 2]
    assert old_pairing([PACKABLE, 100]) == [0, 1]  # large first: nothing moves


def faulty_tree(store, tmp_path, sizes: list[int]) -> tuple[str, dict, list[TreeEntry]]:
    """Store files of these sizes and a tree pairing them as the faulty code did, in walk
    order = name order. Returns (tree, {path: bytes}, correct entries)."""
    files = {f"f{i:03d}.bin": (b"%03d" % i) * (s // 3) + b"x" * (s % 3) for i, s in enumerate(sizes)}
    root = write(tmp_path / "src", files)
    good = sorted(store.get_tree(store.snapshot(root, stat_cache=False).tree))
    paired = old_pairing([e.size for e in good])
    entries = [TreeEntry(e.path, FILE, 0o644, e.size, good[j].digest) for e, j in zip(good, paired)]
    return store.put_tree(entries), files, good


def test_a_tree_from_the_faulty_pairing_is_reported_with_path_and_sizes(store, tmp_path):
    tree, files, good = faulty_tree(store, tmp_path, [100, PACKABLE + 10, 50])
    r = store.verify()
    assert not r.ok and list(r.faulty_trees) == [tree]
    assert r.faulty_trees[tree] == [
        {"path": "f000.bin", "digest": good[1].digest, "declared": 100, "actual": PACKABLE + 10},
        {"path": "f001.bin", "digest": good[0].digest, "declared": PACKABLE + 10, "actual": 100},
    ]
    assert r.trees == 2  # the good snapshot and the faulty tree
    deep = store.verify(deep=True)
    assert deep.faulty_trees == r.faulty_trees and not deep.ok
    repaired = store.verify(repair=True)  # history is reported, never rewritten
    assert repaired.faulty_trees == r.faulty_trees and store.get_tree(tree)


@st.composite
def tampered_trees(draw):
    sizes = draw(st.lists(st.integers(0, 3000), min_size=1, max_size=25))
    n = len(sizes)
    tamper = draw(st.sets(st.integers(0, n - 1), max_size=n))
    how = draw(st.lists(st.sampled_from(["size", "digest"]), min_size=n, max_size=n))
    delta = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    return sizes, tamper, how, delta


@SETTINGS
@given(spec=tampered_trees())
def test_tampered_entry_sizes_are_always_reported_and_untampered_never(tmp_path_factory, spec):
    sizes, tamper, how, delta = spec
    tmp = tmp_path_factory.mktemp("t")
    store = LocalStore(tmp / "objects")
    good = []
    for i, s in enumerate(sizes):
        data = os.urandom(s)
        good.append(TreeEntry(f"d{i % 3}/f{i}", FILE, 0o644, s, store.put_bytes(data)))
    entries, expected = [], {}
    for i, e in enumerate(good):
        if i not in tamper:
            entries.append(e)
        elif how[i] == "size":  # the entry declares another size
            entries.append(TreeEntry(e.path, FILE, 0o644, e.size + delta[i], e.digest))
            expected[e.path] = (e.size + delta[i], e.size)
        else:  # the entry names a blob of another size
            other = store.put_bytes(os.urandom(e.size + delta[i]))
            entries.append(TreeEntry(e.path, FILE, 0o644, e.size, other))
            expected[e.path] = (e.size, e.size + delta[i])
    clean = store.put_tree(good)
    tree = store.put_tree(entries)
    r = store.verify()
    assert clean not in r.faulty_trees
    got = {m["path"]: (m["declared"], m["actual"]) for m in r.faulty_trees.get(tree, [])}
    assert got == expected
    assert r.ok == (not expected)


def test_tree_manifests_are_stored_loose(store, tmp_path):
    """The structural check finds trees among loose blobs: every way of making a tree must
    store its manifest loose (a single put)."""
    root = write(tmp_path / "src", {f"f{i}": str(i) * 50 for i in range(20)})
    trees = [store.snapshot(root).tree, store.snapshot(root, ignore=False, stat_cache=False).tree,
             store.put_files({f"x/{p.name}": p for p in root.iterdir()}).tree,
             store.put_tree([TreeEntry("a", FILE, 0o644, 1, store.put_bytes(b"a"))])]
    for t in trees:
        assert store.locate(t).pack is None
    assert set(trees) <= store.verify().checked_trees


def test_a_file_that_only_starts_like_a_manifest_is_not_a_tree(store):
    store.put_bytes(b"canalis-tree 1\nthis is prose about the format, not a manifest\n")
    r = store.verify()
    assert r.ok and r.trees == 0


def poison(store, root, a: str, b: str) -> None:
    """Make the stat cache pair files a and b with each other's digests, as the faulty code
    recorded them."""
    db = sqlite3.connect(store.root / "statcache.db")
    pa, pb = str(root / a), str(root / b)
    (da,), (db_,) = (db.execute("SELECT digest FROM stat_cache WHERE path = ?", (p,)).fetchone() for p in (pa, pb))
    db.execute("UPDATE stat_cache SET digest = ? WHERE path = ?", (db_, pa))
    db.execute("UPDATE stat_cache SET digest = ? WHERE path = ?", (da, pb))
    db.commit()
    db.close()


def test_stat_cache_entries_of_a_wrong_pairing_are_reported_and_dropped_so_a_resnapshot_is_right(store, tmp_path):
    files = {"small.txt": "s" * 10, "big.txt": "b" * 5000, "same1.txt": "1" * 40, "same2.txt": "2" * 40}
    root = write(tmp_path / "src", files)
    age_tree(root)
    right = store.snapshot(root).tree
    poison(store, root, "small.txt", "big.txt")
    poison(store, root, "same1.txt", "same2.txt")  # equal sizes: invisible by itself
    wrong = store.snapshot(root).tree  # an unchanged folder is answered by the stat cache
    assert wrong != right and store.snapshot(root).cached == 4
    r = store.verify()
    assert not r.ok and sorted(e["path"] for e in r.stat_cache) == sorted([str(root / "small.txt"), str(root / "big.txt")])
    assert wrong in r.faulty_trees
    repaired = store.verify(repair=True)
    assert repaired.stat_cache_dropped == 4  # every entry that snapshot wrote, the equal-sized pair too
    again = store.snapshot(root)
    assert again.tree == right and again.hashed == 4
    assert store.verify().stat_cache == []
