"""Blobs: round trips, dedup, compression that never hurts, streaming, concurrency."""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import blake3
from canalis.store import LocalStore
from canalis.store.blob import CHUNK, HEADER_SIZE
from canalis.store.errors import BlobNotFoundError, InvalidDigestError


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000))
def test_round_trip_of_arbitrary_bytes(tmp_path_factory, data):
    store = LocalStore(tmp_path_factory.mktemp("s") / "objects")
    d = store.put_bytes(data)
    assert d == blake3.blake3(data).hexdigest()
    assert store.get_bytes(d, verify=True) == data
    assert store.size(d) == len(data)
    with store.open(d, verify=True) as f:
        assert f.read() == data


@pytest.mark.parametrize("size", [0, 1, 100, 3 * 1024 * 1024, CHUNK + 17, 9 * 1024 * 1024 + 3])
@pytest.mark.parametrize("compressible", [True, False])
def test_round_trip_of_files(store, tmp_path, size, compressible):
    data = (b"canalis " * (size // 8 + 1))[:size] if compressible else os.urandom(size)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    d = store.put_file(p)
    assert d == blake3.blake3(data).hexdigest()
    assert store.exists(d) and store.size(d) == size
    assert store.get_bytes(d, verify=True) == data
    with store.open(d, verify=True) as f:
        chunks = []
        while chunk := f.read(1 << 20):
            chunks.append(chunk)
    assert b"".join(chunks) == data
    assert store.put_bytes(data) == d  # same address either way


def test_identical_content_is_stored_once(store, tmp_path):
    a = store.put_bytes(b"same bytes" * 100)
    (tmp_path / "x").write_bytes(b"same bytes" * 100)
    assert store.put_file(tmp_path / "x") == a
    assert list(store.iter_objects()) == [a]
    before = os.stat(store.path_of(a)).st_mtime_ns
    store.put_bytes(b"same bytes" * 100)  # a no-op: the blob is not rewritten
    assert os.stat(store.path_of(a)).st_mtime_ns == before


@pytest.mark.parametrize("size", [1, 1000, 1 << 20, 10 << 20])
def test_incompressible_data_grows_by_at_most_the_header(store, tmp_path, size):
    data = os.urandom(size)
    (tmp_path / "r").write_bytes(data)
    for d in (store.put_bytes(data), store.put_file(tmp_path / "r")):
        assert os.path.getsize(store.path_of(d)) <= size + HEADER_SIZE


def test_compressible_data_is_compressed(store):
    d = store.put_bytes(b"a" * 100_000)
    assert os.path.getsize(store.path_of(d)) < 1000
    assert store.stats()["ratio"] > 50


def test_missing_and_malformed_digests_raise_specific_errors(store):
    with pytest.raises(BlobNotFoundError, match="0" * 64):
        store.get_bytes("0" * 64)
    with pytest.raises(BlobNotFoundError):
        store.open("0" * 64)
    with pytest.raises(InvalidDigestError, match="64 lowercase hex"):
        store.get_bytes("../../etc/passwd")
    assert not store.exists("f" * 64)


def test_threads_putting_the_same_blob_at_once(store):
    data = os.urandom(2 << 20)
    out, errors = [], []

    def put():
        try:
            out.append(store.put_bytes(data))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(out)) == 1
    assert store.get_bytes(out[0], verify=True) == data
    assert store.verify().ok


def test_processes_putting_the_same_blob_at_once(store, tmp_path):
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(12 << 20))
    code = "import sys; from canalis.store import LocalStore; print(LocalStore(sys.argv[1]).put_file(sys.argv[2]))"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(store.root), str(src)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    digests = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(digests) == 1
    report = store.verify(repair=False)
    assert report.ok and report.temp_files == []


def test_iter_objects_and_delete(store):
    a, b = store.put_bytes(b"a"), store.put_bytes(b"b")
    assert sorted(store.iter_objects()) == sorted([a, b])
    store.delete(a)
    assert list(store.iter_objects()) == [b]
    store.delete(a)  # deleting twice is fine
