"""Chunks are hashed and compressed on several threads: the result is the same as with one,
chunks really are worked on concurrently, and a failure in a worker stores nothing.

The chunker is scaled down as in test_chunked.py (`scaled`), so a file of a few hundred KiB
fills many of the ingest's ring buffers and carries a cut across each buffer's end.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import blake3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore
from canalis.store import blob as _blob
from canalis.store import chunked
from tests.store.test_chunked import content, cut_points, scaled


def ingest(tmp_path, name: str, data: bytes, workers: int) -> tuple[LocalStore, str]:
    store = LocalStore(tmp_path / f"objects-{name}")
    src = tmp_path / f"{name}.bin"
    src.write_bytes(data)
    batch = store._batch()
    digest = chunked.ingest(store, str(src), batch, workers=workers)
    batch.commit()
    return store, digest


def records(store: LocalStore, digest: str) -> list[bytes]:
    """The chunk list's file and every chunk's record, byte for byte, in file order."""
    with open(store.path_of(digest), "rb") as f:
        out = [f.read()]
    for c, _ in store.chunks(digest):
        loc = store.locate(c)
        with open(loc.path, "rb") as f:
            f.seek(loc.offset)
            out.append(f.read(loc.length))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), text=st.booleans(), size=st.integers(64 << 10, 1 << 20),
       workers=st.integers(2, 5), repeat=st.booleans())
def test_parallel_ingest_stores_exactly_what_one_worker_stores(tmp_path_factory, seed, text, size, workers, repeat):
    tmp_path = tmp_path_factory.mktemp("par")
    data = content(seed, size, text)
    if repeat:  # the same chunks twice in one file: stored once, whichever worker gets there first
        data = data[: size // 2] * 2
    with scaled():
        one, d1 = ingest(tmp_path, "one", data, 1)
        many, dn = ingest(tmp_path, "many", data, workers)
        assert d1 == dn == blake3.blake3(data).hexdigest()
        assert records(one, d1) == records(many, dn)
        cuts = cut_points(data)  # the cuts of the whole content at once, as the format defines them
        assert [n for _, n in many.chunks(dn)] == [b - a for a, b in zip([0, *cuts], cuts)]
        assert many.get_bytes(dn, verify=True) == data
        assert many.verify(deep=True).ok


def test_chunks_are_compressed_on_several_threads_at_once(tmp_path, monkeypatch):
    """Two chunk workers meet inside the compressor: each waits at a barrier for the other,
    which only a second thread working at the same time can release."""
    meet = threading.Barrier(2, timeout=60)  # the timeout only keeps a one-thread build from hanging
    threads = set()
    encode = _blob.encode

    def meeting_encode(data, level=_blob.ZSTD_LEVEL):
        if len(threads) < 2:
            threads.add(threading.get_ident())
            meet.wait()
        return encode(data, level)

    monkeypatch.setattr(_blob, "encode", meeting_encode)
    monkeypatch.setattr(chunked, "default_workers", lambda: 2, raising=False)  # even on one core
    store = LocalStore(tmp_path / "objects")
    data = content(5, 512 << 10, True)
    (tmp_path / "f").write_bytes(data)
    with scaled():
        digest = store.put_file(tmp_path / "f")
    assert len(threads) == 2
    assert store.get_bytes(digest, verify=True) == data


def test_a_failing_worker_stores_nothing_and_leaves_no_temp_file(tmp_path, monkeypatch):
    store = LocalStore(tmp_path / "objects")
    calls = []
    encode = _blob.encode

    def failing_encode(data, level=_blob.ZSTD_LEVEL):
        calls.append(1)
        if len(calls) == 7:
            raise OSError(28, "No space left on device")
        return encode(data, level)

    monkeypatch.setattr(_blob, "encode", failing_encode)
    with scaled():
        src = tmp_path / "f.bin"
        src.write_bytes(content(9, 1 << 20, False))
        with pytest.raises(OSError, match="No space left"):
            store.put_file(src)
    assert len(calls) >= 7
    assert list(store.iter_objects()) == []
    assert os.listdir(store.root / "tmp") == []
    monkeypatch.setattr(_blob, "encode", encode)
    with scaled():  # the same file again, now that the disk has room: stored whole
        digest = store.put_file(src)
    assert store.get_bytes(digest, verify=True) == src.read_bytes()
    assert store.verify(deep=True).ok


def test_workers_must_be_at_least_one(tmp_path):
    store = LocalStore(tmp_path / "objects")
    (tmp_path / "f").write_bytes(b"x" * 100)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        chunked.ingest(store, str(tmp_path / "f"), store._batch(), workers=0)


class FailingStream:
    """A stream that fails after `good` bytes, as a disk read error would."""

    def __init__(self, data: bytes, good: int):
        self._data, self._pos, self._good = data, 0, good

    def readinto(self, b) -> int:
        if self._pos >= self._good:
            raise OSError(5, "Input/output error")
        n = min(len(b), self._good - self._pos, len(self._data) - self._pos)
        b[:n] = self._data[self._pos: self._pos + n]
        self._pos += n
        return n


def test_a_read_error_midway_stores_nothing(tmp_path):
    store = LocalStore(tmp_path / "objects")
    data = content(11, 1 << 20, False)
    with scaled():
        batch = store._batch()
        with pytest.raises(OSError, match="Input/output error"):
            chunked.ingest_stream(store, FailingStream(data, 700 << 10), batch, workers=2)
        batch.discard()
    assert list(store.iter_objects()) == []
    assert os.listdir(store.root / "tmp") == []


SMALL_INGEST = r"""
import os, sys
from canalis.store import LocalStore
from canalis.store import chunked
import blake3, pyfastcdc, zstandard, sqlite3  # loaded before the baseline
store = LocalStore(sys.argv[1])
store.put_bytes(b"warm up")
def proc(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key)) * 1024
before = proc("VmRSS:")
store.put_file(sys.argv[2])
print(before, proc("VmHWM:"))
"""


def test_a_file_just_over_the_threshold_costs_memory_for_its_size_not_the_whole_ring(tmp_path):
    """The ring's buffers are touched only as far as they are read into: storing a 9 MiB
    file in a fresh process raises its peak memory by far less than the ring's 96 MiB."""
    src = tmp_path / "f.bin"
    src.write_bytes(os.urandom(chunked.CHUNKED_MIN + (1 << 20)))
    before, peak = map(int, subprocess.run(
        [sys.executable, "-c", SMALL_INGEST, str(tmp_path / "objects"), str(src)],
        check=True, capture_output=True, text=True).stdout.split())
    ring = chunked.RING * (chunked.BLOCK + 2) * chunked.MAX_CHUNK
    assert peak - before < ring // 2, f"peak grew by {(peak - before) >> 20} MiB for a 9 MiB file"
