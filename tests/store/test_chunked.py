"""Chunked files (store format 3): content larger than CHUNKED_MIN is stored as FastCDC
chunks plus a chunk list whose address is the BLAKE3 of the whole content.

Most tests scale the chunker down (`scaled`: a 64 KiB threshold, 8 KiB chunks on average)
so that hypothesis can try many sizes quickly; the code under test is the same, only its
parameters shrink. One test uses the real parameters (8 MiB threshold, 1 MiB chunks).
"""
from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import blake3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore
from canalis.store import chunked
from canalis.store.blob import CHUNKED, CHUNKED_VERSION, HEADER_SIZE, pack_header
from canalis.store.errors import SnapshotError

SCALED = {"CHUNKED_MIN": 64 << 10, "AVG_CHUNK": 8 << 10, "MIN_CHUNK": 2 << 10, "MAX_CHUNK": 32 << 10}


@contextlib.contextmanager
def scaled():
    old = {k: getattr(chunked, k) for k in SCALED}
    for k, v in SCALED.items():
        setattr(chunked, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(chunked, k, v)


def content(seed: int, size: int, text: bool) -> bytes:
    rng = random.Random(seed)
    if text:  # compressible: zstd pays for it
        line = b"%d,row,%d\n"
        out = b"".join(line % (i, rng.randrange(1000)) for i in range(size // 8 + 1))
        return out[:size]
    return rng.randbytes(size)


def cut_points(data: bytes) -> list[int]:
    return [c.offset + c.length for c in chunked._cdc().cut_buf(data)]


def check_round_trip(store: LocalStore, path: Path, data: bytes, tmp: Path) -> str:
    digest = store.put_file(path)
    assert digest == blake3.blake3(data).hexdigest()  # the address is the whole content's BLAKE3
    assert store.size(digest) == len(data)
    assert store.get_bytes(digest, verify=True) == data
    with store.open(digest, verify=True) as f:  # odd read sizes cross chunk boundaries
        parts, n = [], 1
        while part := f.read(n):
            parts.append(part)
            n = n * 3 + 1
    assert b"".join(parts) == data
    listed = store.chunks(digest)
    if len(data) > chunked.CHUNKED_MIN:
        assert sum(n for _, n in listed) == len(data)
        assert [d for d, _ in listed] == [blake3.blake3(data[a:b]).hexdigest() for a, b in
                                           zip([0, *cut_points(data)], cut_points(data))]
    else:
        assert listed == []
    out = tmp / f"out-{digest[:8]}"
    store.checkout_file(digest, out, readonly=False, link=False)
    assert out.read_bytes() == data
    return digest


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), text=st.booleans(), where=st.sampled_from(["threshold", "cut", "any"]),
       delta=st.integers(-3, 3), pick=st.integers(0, 1000))
def test_chunked_files_round_trip_byte_for_byte(tmp_path, seed, text, where, delta, pick):
    with scaled(), tempfile.TemporaryDirectory(dir=tmp_path) as d:
        tmp = Path(d)
        base = content(seed, 5 * chunked.CHUNKED_MIN, text)
        if where == "threshold":
            size = chunked.CHUNKED_MIN + delta
        elif where == "cut":  # a file ending right at, before or after one of its cut points
            cuts = [c for c in cut_points(base) if c > chunked.CHUNKED_MIN]
            size = cuts[pick % len(cuts)] + delta
        else:
            size = pick * len(base) // 1000
        data = base[:size]
        (tmp / "f").write_bytes(data)
        store = LocalStore(tmp / "objects")
        digest = check_round_trip(store, tmp / "f", data, tmp)
        assert store.verify(deep=True).ok
        # the same content again, through a snapshot (the batch path), stores nothing new
        before = store.stats()["stored_bytes"]
        (tmp / "dir").mkdir()
        os.replace(tmp / "f", tmp / "dir" / "f")
        tree = store.snapshot(tmp / "dir", stat_cache=False).tree
        assert [e.digest for e in store.get_tree(tree)] == [digest]
        assert store.stats()["stored_bytes"] - before < 1024  # the tree manifest only


def test_real_threshold_whole_blob_below_chunked_above(store, tmp_path):
    at = content(1, chunked.CHUNKED_MIN, False)
    above = at + b"!"
    (tmp_path / "at").write_bytes(at)
    (tmp_path / "above").write_bytes(above)
    d_at = check_round_trip(store, tmp_path / "at", at, tmp_path)
    d_above = check_round_trip(store, tmp_path / "above", above, tmp_path)
    with open(store.path_of(d_at), "rb") as f:
        assert f.read(6)[4:6] == bytes([1, 0])  # version 1, raw: a whole blob
    with open(store.path_of(d_above), "rb") as f:
        head = f.read(HEADER_SIZE)
    assert head == pack_header(CHUNKED, len(above), CHUNKED_VERSION)
    chunks = store.chunks(d_above)
    assert 2 <= len(chunks) <= len(above) // chunked.MIN_CHUNK
    assert all(n <= chunked.MAX_CHUNK for _, n in chunks)
    assert all(store.locate(c).pack is not None for c, _ in chunks)  # chunks are packed blobs
    assert store.verify(deep=True).ok


def test_appending_one_percent_stores_at_most_two_percent_new_bytes(tmp_path):
    with scaled():
        store = LocalStore(tmp_path / "objects")
        data = content(7, 8 << 20, False)
        (tmp_path / "v1").write_bytes(data)
        store.put_file(tmp_path / "v1")
        before = store.stats()["stored_bytes"]
        (tmp_path / "v2").write_bytes(data + content(8, len(data) // 100, False))
        d2 = store.put_file(tmp_path / "v2")
        new = store.stats()["stored_bytes"] - before
        assert new <= 0.02 * len(data), f"{new} new bytes for a 1% append to {len(data)}"
        assert store.get_bytes(d2, verify=True) == (tmp_path / "v2").read_bytes()


def test_a_file_that_changes_while_stored_is_refused(store, tmp_path):
    data = content(3, chunked.CHUNKED_MIN + 5, False)
    (tmp_path / "f").write_bytes(data)
    wrong = blake3.blake3(b"what the caller thought it wrote").hexdigest()
    with pytest.raises(SnapshotError, match="changed while it was being stored"):
        store.put_file(tmp_path / "f", digest=wrong)
    assert not store.exists(wrong)
    assert list(store.iter_objects()) == [] and os.listdir(store.root / "tmp") == []


# Peak memory is this process's own high-water mark (VmHWM), not getrusage's ru_maxrss: Linux
# carries the parent's peak into ru_maxrss across fork/vfork and exec, so a child of a test
# process that has grown to 550 MiB would report at least that.
INGEST = r"""
import os, sys
from canalis.store import LocalStore
store = LocalStore(sys.argv[1])
def proc(name, key):
    with open(f"/proc/self/{name}") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key))
before = proc("io", "rchar:")
store.put_file(sys.argv[2])
print(proc("io", "rchar:") - before, proc("status", "VmHWM:") * 1024)
"""


def test_ingest_reads_each_byte_once_with_bounded_memory(tmp_path):
    """A 384 MiB file is stored in a fresh process: the bytes it reads are the file's size
    (plus a little: the store's own databases), and its peak memory stays far below the
    file's size (no memory map of the whole file, no second pass)."""
    big = tmp_path / "big.bin"
    size = 384 << 20
    with open(big, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))  # distinct chunks, no compression
    out = subprocess.run([sys.executable, "-c", INGEST, str(tmp_path / "objects"), str(big)],
                         check=True, capture_output=True, text=True).stdout.split()
    read, peak = int(out[0]), int(out[1])
    assert size <= read <= size + (8 << 20), read
    assert peak < 200 << 20, f"peak RSS {peak >> 20} MiB for a {size >> 20} MiB file"


def test_a_file_not_in_the_page_cache_is_stored_the_same_in_many_packs(tmp_path, monkeypatch):
    """A file that was not cached is read with drop-behind; its chunks fill several packs,
    whose write-back is started as they grow and which leave the page cache once synced:
    the same chunk list, the same bytes, and a store that verifies."""
    from canalis.store import batch as batch_mod

    monkeypatch.setattr(batch_mod, "PACK_TARGET", 256 << 10)
    monkeypatch.setattr(batch_mod, "WRITEBACK_STEP", 48 << 10)
    with scaled():
        data = content(11, 3 << 20, False)
        (tmp_path / "f").write_bytes(data)
        cached = LocalStore(tmp_path / "cached")
        digest = cached.put_file(tmp_path / "f")
        monkeypatch.setattr(chunked, "_cached", lambda fd: False)
        store = LocalStore(tmp_path / "objects")
        assert check_round_trip(store, tmp_path / "f", data, tmp_path) == digest
        assert store.chunks(digest) == cached.chunks(digest)
        assert len(os.listdir(store.root / "packs")) > 3
        assert os.listdir(store.root / "tmp") == []
        assert store.verify(deep=True).ok


def test_whether_a_file_is_cached_is_asked_without_reading_it(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x" * 10000)
    fd = os.open(f, os.O_RDONLY)
    try:
        os.read(fd, 10000)
        assert chunked._cached(fd)  # just read: cached (or the question cannot be asked)
        assert os.lseek(fd, 0, os.SEEK_CUR) == 10000  # the file position is left alone
    finally:
        os.close(fd)
