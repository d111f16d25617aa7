"""What the default (structural) verify finds without reading whole blobs, and what only
`deep=True` finds."""
from __future__ import annotations

import os

from canalis.store.blob import HEADER
from canalis.store.checkout import CACHE_MTIME_NS
from store_helpers import write


def rewrite_header(path: str, offset: int = 0, **change) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        magic, version, compression, reserved, size = HEADER.unpack(f.read(HEADER.size))
        fields = {"magic": magic, "version": version, "compression": compression, "reserved": reserved, "size": size}
        fields.update(change)
        f.seek(offset)
        f.write(HEADER.pack(*fields.values()))


def test_a_header_size_that_disagrees_with_the_zstd_frame_is_found_without_decompressing(store):
    d = store.put_bytes(b"compressible " * 1000)
    os.chmod(store.path_of(d), 0o644)
    rewrite_header(store.path_of(d), size=13 * 1000 + 1)
    r = store.verify()
    assert r.corrupt == [d] and "zstd frame says 13000 bytes, header says 13001" in r.reasons[d]


def test_a_raw_body_of_another_length_is_found(store):
    d = store.put_bytes(os.urandom(3000))
    os.chmod(store.path_of(d), 0o644)
    with open(store.path_of(d), "ab") as f:
        f.write(b"extra")
    r = store.verify()
    assert r.corrupt == [d] and "raw body of 3005 bytes, header says 3000" in r.reasons[d]


def test_a_damaged_record_header_in_a_pack_is_found_and_repaired(store, tmp_path):
    files = {f"f{i}.txt": f"content {i} " * 30 for i in range(10)}
    tree = store.snapshot(write(tmp_path / "src", files), stat_cache=False).tree
    victim = store.get_tree(tree)[4]
    where = store.locate(victim.digest)
    os.chmod(where.path, 0o644)
    with open(where.path, "r+b") as f:
        f.seek(where.offset)
        f.write(b"XXXX")
    r = store.verify()
    assert r.corrupt == [victim.digest] and "bad magic" in r.reasons[victim.digest] and r.index_damaged == {}
    repaired = store.verify(repair=True)
    assert not repaired.ok and not store.exists(victim.digest)
    assert store.verify().ok


def test_content_damage_that_keeps_the_structure_needs_deep(store):
    data = os.urandom(5000)  # incompressible: stored raw
    d = store.put_bytes(data)
    os.chmod(store.path_of(d), 0o644)
    with open(store.path_of(d), "r+b") as f:
        f.seek(100)
        f.write(bytes([data[84] ^ 1]))
    assert store.verify().ok  # headers and lengths are sound: the structural check passes
    deep = store.verify(deep=True)
    assert deep.corrupt == [d] and "hashes to" in deep.reasons[d]


def test_checkout_cache_written_through_a_link_is_found_quick_and_a_disguised_write_deep(store, tmp_path):
    root = write(tmp_path / "src", {"a.txt": "aaaa\n", "b.txt": "bbbb\n"})
    tree = store.snapshot(root).tree
    store.checkout(tree, tmp_path / "out", link=True)
    linked = tmp_path / "out" / "a.txt"
    os.chmod(linked, 0o644)
    assert store.verify().ok  # a chmod alone: checkouts replace such a file before use
    linked.write_text("AAAA\n")  # same size, new mtime
    r = store.verify()
    assert len(r.cache_corrupt) == 1 and not r.ok
    b = tmp_path / "out" / "b.txt"
    os.chmod(b, 0o644)
    b.write_text("BBBB\n")
    os.utime(b, ns=(CACHE_MTIME_NS, CACHE_MTIME_NS))  # size and mtime as the cache made them
    assert len(store.verify().cache_corrupt) == 1  # only a.txt's
    deep = store.verify(deep=True)
    assert len(deep.cache_corrupt) == 2
    assert store.verify(repair=True, deep=True).ok
    assert store.verify(deep=True).ok and store.verify(deep=True).cache_corrupt == []
