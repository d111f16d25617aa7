"""A pack index (objects/packindex.db) that disagrees with the packs is found by verify and
rebuilt from the packs by --repair; rebuilding never loses a blob."""
from __future__ import annotations

import os
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore
from canalis.store.errors import BlobNotFoundError, CorruptBlobError
from store_helpers import write


def small_files(n: int, seed: int = 0) -> dict[str, bytes]:
    return {f"d{i % 5}/f{i:04d}.txt": (b"%d-%06d " % (seed, i)) * (50 + i % 40) for i in range(n)}


def snapshot_in_two_packs(store, tmp_path) -> tuple[list, dict]:
    """Two snapshots, so two packs; returns (every entry, {digest: content})."""
    entries, content = [], {}
    for k in (1, 2):
        files = small_files(40, seed=k)
        tree = store.snapshot(write(tmp_path / f"src{k}", files), stat_cache=False).tree
        for e in store.get_tree(tree):
            entries.append(e)
            content[e.digest] = files[e.path]
    assert len(os.listdir(store.root / "packs")) == 2
    return entries, content


def sql(store, *statements) -> None:
    db = sqlite3.connect(store.root / "packindex.db")
    for s in statements:
        db.execute(s)
    db.commit()
    db.close()


def reads_back(store, content: dict) -> bool:
    return all(store.get_bytes(d, verify=True) == c for d, c in content.items())


def test_wrong_offsets_are_reported_and_repair_rebuilds_the_index(store, tmp_path):
    entries, content = snapshot_in_two_packs(store, tmp_path)
    sql(store, "UPDATE blobs SET offset = offset + 16 WHERE pack = (SELECT MIN(pack) FROM blobs)")
    fresh = LocalStore(store.root)  # a new process: the damaged rows are what it reads
    with pytest.raises(CorruptBlobError):
        [fresh.get_bytes(d) for d in content]
    for deep in (False, True):  # both variants see it
        r = fresh.verify(deep=deep)
        assert not r.ok and r.corrupt == [] and len(r.index_damaged) == 1
        (pack, n), = r.index_damaged.items()
        assert n == 40 and pack.endswith(".pack")
        assert "pack index is damaged" in r.reasons[pack] and "--repair" in r.reasons[pack]
    repaired = fresh.verify(repair=True)
    assert repaired.ok and repaired.index_rebuilt and repaired.removed == []
    assert reads_back(fresh, content)
    assert reads_back(LocalStore(store.root), content)
    assert fresh.verify().ok and fresh.verify(deep=True).ok


def test_missing_rows_are_reported_and_rebuilt(store, tmp_path):
    _, content = snapshot_in_two_packs(store, tmp_path)
    gone = next(iter(content))
    sql(store, f"DELETE FROM blobs WHERE digest = '{gone}'")
    fresh = LocalStore(store.root)
    assert not fresh.exists(gone)  # the pack still holds it; the index lost it
    r = fresh.verify()
    assert not r.ok and list(r.index_damaged.values()) == [1] and "not in the index" in next(iter(r.reasons.values()))
    assert fresh.verify(repair=True).ok
    assert fresh.exists(gone) and reads_back(fresh, content)


def test_rows_naming_a_pack_that_does_not_exist_are_reported_and_dropped(store, tmp_path):
    _, content = snapshot_in_two_packs(store, tmp_path)
    d = next(iter(content))
    sql(store, f"INSERT INTO blobs VALUES ('{d}', '{'e' * 64}', 8, 100)")
    fresh = LocalStore(store.root)
    r = fresh.verify()
    missing = str(store.root.resolve() / "packs" / ("e" * 64 + ".pack"))
    assert r.index_damaged == {missing: 1} and "does not exist" in r.reasons[missing]
    assert fresh.verify(repair=True).ok
    assert fresh._index.rows_per_pack().keys() == {n[:-5] for n in os.listdir(store.root / "packs")}
    assert reads_back(fresh, content)


def test_a_blob_placed_in_the_other_pack_is_reported(store, tmp_path):
    _, content = snapshot_in_two_packs(store, tmp_path)
    sql(store, "UPDATE blobs SET pack = (SELECT MAX(pack) FROM blobs) WHERE digest = "
               "(SELECT MIN(digest) FROM blobs WHERE pack = (SELECT MIN(pack) FROM blobs))")
    r = LocalStore(store.root).verify()
    assert sorted(r.index_damaged.values()) == [1, 1]  # missing from one pack, extra in the other
    assert LocalStore(store.root).verify(repair=True).ok and reads_back(LocalStore(store.root), content)


DAMAGE = st.sampled_from(["offset", "length", "delete", "other pack", "orphan"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(damage=st.lists(st.tuples(DAMAGE, st.integers(0, 79), st.integers(1, 5000)), min_size=1, max_size=12))
def test_whatever_rows_are_damaged_repair_loses_no_blob(tmp_path_factory, damage):
    tmp = tmp_path_factory.mktemp("ix")
    store = LocalStore(tmp / "objects")
    _, content = snapshot_in_two_packs(store, tmp)
    digests = sorted(content)
    packs = sorted(n[:-5] for n in os.listdir(store.root / "packs"))
    statements = []
    for kind, i, k in damage:
        d = digests[i % len(digests)]
        if kind == "offset":
            statements.append(f"UPDATE blobs SET offset = offset + {k} WHERE digest = '{d}'")
        elif kind == "length":
            statements.append(f"UPDATE blobs SET length = length + {k} WHERE digest = '{d}'")
        elif kind == "delete":
            statements.append(f"DELETE FROM blobs WHERE digest = '{d}'")
        elif kind == "other pack":
            statements.append(f"UPDATE OR REPLACE blobs SET pack = '{packs[k % 2]}' WHERE digest = '{d}'")
        else:
            statements.append(f"INSERT OR REPLACE INTO blobs VALUES ('{d}', '{k:064x}', 8, {k})")
    sql(store, *statements)
    fresh = LocalStore(store.root)
    repaired = fresh.verify(repair=True)
    assert repaired.ok and repaired.removed == [] and repaired.corrupt == []
    assert reads_back(LocalStore(store.root), content)
    assert LocalStore(store.root).verify(deep=True).ok


def test_rebuild_keeps_a_pack_it_cannot_read_out_of_the_index_and_reports_it(store, tmp_path):
    _, content = snapshot_in_two_packs(store, tmp_path)
    first = sorted((store.root / "packs").iterdir())[0]
    with open(first, "r+b") as f:
        f.truncate(os.path.getsize(first) - 3)
    fresh = LocalStore(store.root)
    assert fresh._index.rebuild()[0] == 1
    assert str(first) in fresh._index.damaged
    r = fresh.verify()
    assert r.damaged_packs == [str(first)] and r.index_damaged == {}
    with pytest.raises(BlobNotFoundError):
        [fresh.get_bytes(d) for d in content]
