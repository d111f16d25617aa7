"""Storing a new version of a large file follows its earlier version's chunk list where the
bytes match (store/earlier.py) instead of cutting. The chunk list must be exactly the one
cutting from scratch gives, whatever the change: that is the property tested here, over
appends, truncations, overwrites, insertions and deletions placed anywhere, in particular
right at an earlier cut point (where the byte after a chunk decides FastCDC's cut).

The chunker is scaled down as in test_chunked.py (64 KiB threshold, 8 KiB chunks on
average, 32 KiB at most), so that a file of a few hundred KiB crosses many of the ingest's
buffers.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import blake3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore
from canalis.store import chunked
from canalis.store.pack import PACKABLE
from test_chunked import check_round_trip, content, cut_points, scaled

EDITS = ["same", "append", "truncate", "overwrite", "insert", "delete"]


def put(store: LocalStore, path: Path, workers: int | None = None) -> tuple[str, dict]:
    stats: dict = {}
    batch = store._batch()
    digest = chunked.ingest(store, str(path), batch, workers=workers, stats=stats)
    batch.commit()
    return digest, stats


def stored(tmp_path: Path, seed: int, size: int) -> tuple[LocalStore, bytes, str]:
    """A store holding a file of `size` bytes (v1): (the store, the file's bytes, its digest)."""
    store = LocalStore(tmp_path / "objects")
    base = content(seed, size, False)
    (tmp_path / "v1").write_bytes(base)
    return store, base, put(store, tmp_path / "v1")[0]


def edited(base: bytes, edit: str, at: int, n: int, seed: int) -> bytes:
    other = content(seed + 1, n, False)
    if edit == "append":
        return base + other
    if edit == "truncate":
        return base[:at]
    if edit == "overwrite":
        return base[:at] + other + base[at + n:]
    if edit == "insert":
        return base[:at] + other + base[at:]
    if edit == "delete":
        return base[:at] + base[at + n:]
    return base


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), text=st.booleans(), size=st.integers(2, 12), edit=st.sampled_from(EDITS),
       at_cut=st.booleans(), pick=st.integers(0, 10_000), shift=st.integers(-2, 2), n=st.integers(1, 70_000),
       workers=st.sampled_from([1, 3]))
def test_a_new_version_is_cut_exactly_as_from_scratch(tmp_path, seed, text, size, edit, at_cut, pick, shift, n, workers):
    with scaled(), tempfile.TemporaryDirectory(dir=tmp_path) as d:
        tmp = Path(d)
        base = content(seed, size * chunked.CHUNKED_MIN, text)
        cuts = cut_points(base)
        if at_cut:  # at (or a byte or two around) one of the earlier version's cut points
            at = cuts[pick % len(cuts)] + shift
        else:
            at = pick * len(base) // 10_000
        at = max(chunked.CHUNKED_MIN + 1, min(at, len(base)))
        new = edited(base, edit, at, n, seed)
        if len(new) <= chunked.CHUNKED_MIN:
            new = base + b"x"
        store = LocalStore(tmp / "objects")
        (tmp / "v1").write_bytes(base)
        d1, first = put(store, tmp / "v1", workers)
        assert first["earlier"] is None and first["followed"] == 0
        (tmp / "v2").write_bytes(new)
        d2, stats = put(store, tmp / "v2", workers)
        # the list of v2 is the from-scratch one (check_round_trip compares it with cutting
        # the whole content), and reads back byte for byte
        assert check_round_trip(store, tmp / "v2", new, tmp) == d2
        assert stats["cut"] + stats["followed"] == len(new)
        if len(store.chunks(d1)) > 2 and store.chunks(d2)[0] == store.chunks(d1)[0]:
            assert stats["earlier"] == d1
        unchanged = min(len(base) if edit in ("same", "append") else at, len(new))  # bytes before the first change
        if stats["earlier"] == d1 and unchanged > 8 * chunked.MAX_CHUNK:
            # followed through the unchanged part, up to about two chunks and MAX_CHUNK before the change
            assert stats["followed"] >= unchanged - 3 * chunked.MAX_CHUNK - cuts[0], stats
        assert store.verify(deep=True).ok


def test_an_appended_file_is_followed_not_cut(tmp_path):
    """The real parameters (1 MiB chunks): after a 1% append to a 40 MiB file, all but the
    last few MiB are followed; the result is the list cutting from scratch gives."""
    store = LocalStore(tmp_path / "objects")
    base = content(11, 40 << 20, False)
    (tmp_path / "v1").write_bytes(base)
    d1, _ = put(store, tmp_path / "v1")
    new = base + content(12, len(base) // 100, False)
    (tmp_path / "v2").write_bytes(new)
    d2, stats = put(store, tmp_path / "v2")
    assert stats["earlier"] == d1
    assert stats["cut"] <= 2 * chunked.MAX_CHUNK + len(new) - len(base) + (1 << 20), stats
    fresh = LocalStore(tmp_path / "fresh")
    d3, alone = put(fresh, tmp_path / "v2")
    assert d3 == d2 and alone["earlier"] is None and alone["cut"] == len(new)
    assert store.chunks(d2) == fresh.chunks(d2)
    assert store.get_bytes(d2, verify=True) == new


def test_hints_that_name_a_deleted_or_unreadable_list_are_passed_over(tmp_path):
    with scaled():
        store, base, d1 = stored(tmp_path, 3, 6 * chunked.CHUNKED_MIN)
        head = store.chunks(d1)[0][0]
        assert store._index.lists_headed_by(head) == [d1]
        store.delete(d1)  # garbage collection deletes the list: its hint goes with it
        assert store._index.lists_headed_by(head) == []
        # a hint left behind (a database copied from elsewhere, a crash between the two)
        db = sqlite3.connect(tmp_path / "objects" / "packindex.db")
        db.execute("INSERT INTO chunk_heads VALUES (?, ?, ?)", (head, d1, 1))
        db.commit()
        db.close()
        (tmp_path / "v2").write_bytes(base + b"more")
        d2, stats = put(store, tmp_path / "v2")
        assert stats["earlier"] is None and stats["cut"] == len(base) + 4
        assert store.get_bytes(d2, verify=True) == base + b"more"


def test_the_latest_earlier_version_is_followed(tmp_path):
    with scaled():
        store = LocalStore(tmp_path / "objects")
        v1 = content(5, 6 * chunked.CHUNKED_MIN, False)
        v2 = v1 + content(6, 3 * chunked.CHUNKED_MIN, False)
        v3 = v2 + b"tail"
        for name, data in (("v1", v1), ("v2", v2)):
            (tmp_path / name).write_bytes(data)
            put(store, tmp_path / name)
        (tmp_path / "v3").write_bytes(v3)
        d3, stats = put(store, tmp_path / "v3")
        assert stats["earlier"] == blake3.blake3(v2).hexdigest()
        assert stats["followed"] > len(v1)
        assert check_round_trip(store, tmp_path / "v3", v3, tmp_path) == d3


def test_a_followed_chunk_missing_from_the_store_is_stored_again(tmp_path):
    """An earlier list whose chunk was lost (a damaged store): the new version still gets
    every chunk it names."""
    with scaled():
        store, base, d1 = stored(tmp_path, 9, 6 * chunked.CHUNKED_MIN)
        lost = store.chunks(d1)[3][0]
        store.delete(lost)
        assert not store.exists(lost)
        (tmp_path / "v2").write_bytes(base + b"more")
        d2, stats = put(store, tmp_path / "v2")
        assert stats["earlier"] == d1 and stats["followed"] > 0
        assert store.exists(lost)
        assert all(store.exists(c) for c, _ in store.chunks(d2))
        assert store.get_bytes(d2, verify=True) == base + b"more"


def test_a_snapshot_follows_the_earlier_version_of_a_changed_file(tmp_path):
    """The batch path (a folder's snapshot) notes and follows hints as a single put does."""
    with scaled():
        store = LocalStore(tmp_path / "objects")
        folder = tmp_path / "data"
        folder.mkdir()
        base = content(13, PACKABLE + 1000, True)  # smaller files are read whole, in groups
        (folder / "rows.csv").write_bytes(base)
        store.snapshot(folder, stat_cache=False)
        d1 = blake3.blake3(base).hexdigest()
        assert store._index.lists_headed_by(store.chunks(d1)[0][0]) == [d1]
        with open(folder / "rows.csv", "ab") as f:
            f.write(b"1,row,2\n" * 100)
        before = store.stats()["stored_bytes"]
        tree = store.snapshot(folder, stat_cache=False).tree
        (entry,) = store.get_tree(tree)
        assert store.get_bytes(entry.digest, verify=True) == (folder / "rows.csv").read_bytes()
        assert store.stats()["stored_bytes"] - before < 3 * chunked.MAX_CHUNK
        assert os.listdir(store.root / "tmp") == []


def test_after_a_change_in_the_middle_following_resumes(tmp_path):
    """Two edits inside a file (bytes overwritten, bytes inserted): cutting finds the earlier
    chunks again after each, and following resumes, so most of the file is not cut."""
    with scaled():
        store, base, d1 = stored(tmp_path, 21, 200 * chunked.MAX_CHUNK)
        a, b = len(base) * 3 // 10, len(base) * 6 // 10
        new = base[:a] + b"\x00" * 100 + base[a + 100:b] + b"inserted" * 125 + base[b:]
        (tmp_path / "v2").write_bytes(new)
        d2, stats = put(store, tmp_path / "v2")
        assert stats["earlier"] == d1
        assert stats["followed"] >= 0.75 * len(new), stats
        assert check_round_trip(store, tmp_path / "v2", new, tmp_path) == d2


def test_a_read_error_while_following_stores_nothing(tmp_path):
    from test_chunked_parallel import FailingStream

    with scaled():
        store, base, _ = stored(tmp_path, 17, 40 * chunked.MAX_CHUNK)
        before = sorted(store.iter_objects())
        new = base + content(18, 5 * chunked.MAX_CHUNK, False)
        batch = store._batch()
        with pytest.raises(OSError, match="Input/output error"):
            chunked.ingest_stream(store, FailingStream(new, len(base) - 3 * chunked.MAX_CHUNK), batch, workers=2)
        batch.discard()
        assert sorted(store.iter_objects()) == before
        assert os.listdir(store.root / "tmp") == []
