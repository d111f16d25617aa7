"""verify, repair, crashes and the format 2 -> 3 upgrade, for chunked files."""
from __future__ import annotations

import json
import os
import signal

import blake3
import pytest

from canalis import layout as _layout
from canalis.store import FORMAT_VERSION, chunked
from canalis.store.blob import CHUNKED, RAW, pack_header
from canalis.store.errors import CorruptBlobError
from store_helpers import kill_once_writing

SIZE = chunked.CHUNKED_MIN + (3 << 20)


@pytest.fixture(scope="module")
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def stored(store, tmp_path, data):
    (tmp_path / "f").write_bytes(data)
    return store.put_file(tmp_path / "f")


def _flip_in_record(store, digest: str) -> None:
    """Change one byte in the body of blob `digest` (a packed chunk)."""
    where = store.locate(digest)
    with open(where.path, "r+b") as f:
        f.seek(where.offset + where.length - 100)
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0xFF]))


def test_a_corrupt_chunk_is_found_by_deep_verify_and_repaired_by_putting_the_file_again(store, stored, tmp_path, data):
    chunk = store.chunks(stored)[1][0]
    _flip_in_record(store, chunk)
    assert store.verify().ok  # structure only: a changed body byte needs --deep
    with pytest.raises(CorruptBlobError):
        store.get_bytes(stored, verify=True)
    deep = store.verify(deep=True)
    assert not deep.ok and chunk in deep.corrupt and stored in deep.corrupt
    assert "chunk 2 of" in deep.reasons[stored] or "hashes to" in deep.reasons[stored]
    repaired = store.verify(deep=True, repair=True)
    assert not repaired.ok  # quarantined content is gone until it is put again
    assert not store.exists(stored) and not store.exists(chunk)
    assert {p.split(".")[0] for p in os.listdir(store.root / "quarantine")} >= {stored, chunk}
    assert store.put_file(tmp_path / "f") == stored
    assert store.get_bytes(stored, verify=True) == data
    assert store.verify(deep=True).ok


def test_a_missing_chunk_is_found_by_the_structural_check(store, stored):
    chunk = store.chunks(stored)[-1][0]
    store.delete_many([chunk])
    report = store.verify()
    assert not report.ok and report.corrupt == [stored]
    assert f"({chunk}) is missing" in report.reasons[stored]


def test_a_damaged_chunk_list_is_corrupt(store, stored):
    path = store.path_of(stored)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.seek(-3, 2)
        f.write(b"zz\n")  # the last size no longer parses
    report = store.verify()
    assert not report.ok and report.corrupt == [stored] and "does not parse" in report.reasons[stored]
    with pytest.raises(CorruptBlobError, match="does not parse"):
        store.get_bytes(stored)


WRITER = r"""
import sys
from canalis.store import LocalStore
store = LocalStore(sys.argv[1])
print("ready", flush=True)
store.put_file(sys.argv[2])
"""


def test_a_writer_killed_while_storing_a_chunked_file_leaves_no_visible_blob(store, tmp_path):
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(160):
            f.write(os.urandom(1 << 20))
    tmp = store.root / "tmp"
    if kill_once_writing(WRITER, [store.root, big], tmp, 60) != -signal.SIGKILL or not os.listdir(tmp):
        pytest.skip("the writer finished before it could be killed (machine too fast)")
    assert list(store.iter_objects()) == []  # no chunk, no chunk list: nothing was renamed
    assert store.verify().temp_files
    assert store.verify(repair=True, grace_seconds=0).removed
    assert store.verify().ok and os.listdir(tmp) == []


def test_a_format_2_workspace_is_read_as_is_and_upgraded_in_place(tmp_path, data):
    lay = _layout.init(tmp_path / "ws")
    store = lay.open_store()
    digest = blake3.blake3(data).hexdigest()
    # what a format 2 store wrote for a large file: one loose whole blob
    store._install(store._write_body(RAW, len(data), data, True), digest, True)
    cfg = lay.read_config()
    cfg["store"]["format"] = 2
    lay.write_config(cfg)
    store = lay.open_store()
    assert json.loads(lay.config_path.read_text())["store"]["format"] == FORMAT_VERSION == 3
    assert store.get_bytes(digest, verify=True) == data and store.chunks(digest) == []
    assert store.upgrade() == [digest]
    with open(store.path_of(digest), "rb") as f:
        assert f.read(16) == pack_header(CHUNKED, len(data), 2)
    assert sum(n for _, n in store.chunks(digest)) == len(data)
    assert store.get_bytes(digest, verify=True) == data
    assert store.upgrade() == []  # nothing left to do
    assert store.verify(deep=True).ok
