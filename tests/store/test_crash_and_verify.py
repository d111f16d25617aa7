"""Crash safety (a writer killed mid-write) and verify (corruption, temp files, verified reads)."""
from __future__ import annotations

import os
import signal

import pytest

from canalis.store.errors import CorruptBlobError
from store_helpers import kill_once_writing

WRITER = r"""
import os, sys
from canalis.store import LocalStore
store = LocalStore(sys.argv[1])
print("ready", flush=True)
store.put_file(sys.argv[2])
print("done", flush=True)
"""


def test_writer_killed_mid_write_leaves_no_visible_blob(store, tmp_path):
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:  # compressible, so writing takes a while
        for i in range(400):
            f.write((b"%08d canalis crash test line\n" % i) * 8000)
    tmp = store.root / "tmp"
    if kill_once_writing(WRITER, [store.root, src], tmp, 30) != -signal.SIGKILL or not os.listdir(tmp):
        pytest.skip("the writer finished before it could be killed (machine too fast)")
    assert list(store.iter_objects()) == []
    report = store.verify()
    assert report.temp_files and report.corrupt == []
    repaired = store.verify(repair=True, grace_seconds=0)
    assert repaired.ok and repaired.removed
    after = store.verify()
    assert after.ok and after.temp_files == [] and after.checked == 0


def test_young_temp_files_are_kept_by_repair(store):
    (store.root / "tmp" / "123-abc.tmp").write_bytes(b"partial")
    r = store.verify(repair=True, grace_seconds=3600)
    assert r.ok and r.temp_files and not r.removed
    assert (store.root / "tmp" / "123-abc.tmp").exists()


@pytest.mark.parametrize("payload", [b"x" * 100_000, os.urandom(50_000)], ids=["compressed", "raw"])
def test_flipped_byte_is_reported_by_verify_and_verified_reads(store, payload):
    d = store.put_bytes(payload)
    path = store.path_of(d)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(-10, 2)
        b = f.read(1)
        f.seek(-10, 2)
        f.write(bytes([b[0] ^ 0xFF]))
    report = store.verify(deep=True)  # content damage that keeps the structure: only re-hashing finds it
    assert not report.ok and report.corrupt == [d]
    with pytest.raises(CorruptBlobError, match=d):
        store.get_bytes(d, verify=True)
    with pytest.raises(CorruptBlobError, match=d):
        with store.open(d, verify=True) as f:
            f.read()
    repaired = store.verify(repair=True, deep=True)
    assert repaired.corrupt == [d] and not store.exists(d)
    assert store.put_bytes(payload) == d and store.verify(deep=True).ok  # putting it again restores it


def test_truncated_blob_is_reported(store):
    d = store.put_bytes(os.urandom(10_000))
    with open(store.path_of(d), "r+b") as f:
        f.truncate(5000)
    report = store.verify()
    assert report.corrupt == [d] and "truncated" in report.reasons[d]
    with pytest.raises(CorruptBlobError, match="truncated"):
        store.get_bytes(d)


def test_verified_stream_read_of_exactly_size_bytes_checks_the_digest(store):
    data = os.urandom(4096)
    d = store.put_bytes(data)
    with open(store.path_of(d), "r+b") as f:
        f.seek(100)
        f.write(b"\x00" if data[84] else b"\x01")
    with store.open(d, verify=True) as f:
        with pytest.raises(CorruptBlobError, match=d):
            f.read(4096)
