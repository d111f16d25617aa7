"""When a large file's chunks are compressed: at the put ("put"), or stored raw by the put
and compressed afterwards by `compress_packs`, which garbage collection runs ("later").
Either way the file reads back byte for byte and the store verifies; packs may hold raw and
zstd records side by side."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore, chunked
from canalis.store import pack as _pack
from canalis.store.blob import CHUNK_LEVEL, RAW, ZSTD, encode, unpack_header
from canalis.store.errors import StoreError

from test_chunked import content, scaled


def record_flags(store: LocalStore, digests) -> dict[str, int]:
    """{chunk digest: compression flag of its packed record}."""
    out = {}
    for d in digests:
        loc = store.locate(d)
        record = _pack.read_record(loc.path, loc.offset, 16)
        out[d] = unpack_header(record, d)[0]
    return out


def mixed(seed: int, size: int) -> bytes:
    """Compressible text and random bytes, in alternating runs a few chunks long."""
    parts, left, i = [], size, 0
    while left > 0:
        n = min(left, (3 + i % 4) * chunked.AVG_CHUNK)
        parts.append(content(seed + i, n, text=i % 2 == 0))
        left -= n
        i += 1
    return b"".join(parts)


def test_later_stores_chunks_raw_and_compress_packs_compresses_them(tmp_path):
    store = LocalStore(tmp_path / "objects", chunk_compression="later")
    data = content(3, chunked.CHUNKED_MIN + (3 << 20), text=True)
    (tmp_path / "big.csv").write_bytes(data)
    digest = store.put_file(tmp_path / "big.csv")
    chunks = [c for c, _ in store.chunks(digest)]
    assert set(record_flags(store, chunks).values()) == {RAW}  # nothing compressed at the put
    assert store.get_bytes(digest, verify=True) == data
    raw_bytes = store.stats()["stored_bytes"]
    [pack] = os.listdir(tmp_path / "objects" / "packs")
    old_mtime = os.stat(tmp_path / "objects" / "packs" / pack).st_mtime_ns

    compressed, saved = store.compress_packs()

    flags = record_flags(store, chunks)
    assert compressed == sum(f == ZSTD for f in flags.values()) >= len(chunks) - 1  # the short last one may stay raw
    assert 0 < saved == raw_bytes - store.stats()["stored_bytes"]
    assert store.stats()["stored_bytes"] < raw_bytes / 2
    [new] = os.listdir(tmp_path / "objects" / "packs")
    assert new != pack  # rewritten under its new index's name; the old pack is gone
    assert os.stat(tmp_path / "objects" / "packs" / new).st_mtime_ns == old_mtime  # the blobs keep their age
    assert store.get_bytes(digest, verify=True) == data
    out = tmp_path / "out.csv"
    store.checkout_file(digest, out, readonly=False, link=False)
    assert out.read_bytes() == data
    report = store.verify(deep=True)
    assert report.ok, report
    assert store.compress_packs() == (0, 0)  # nothing left to do: no pack is rewritten again
    assert os.listdir(tmp_path / "objects" / "packs") == [new]
    assert store._index.compress_checked() == {new[: -len(".pack")]}  # and none is looked at again


def test_put_compresses_chunks_as_before(tmp_path):
    store = LocalStore(tmp_path / "objects")
    assert store.chunk_compression == "put"
    data = content(4, chunked.CHUNKED_MIN + (1 << 20), text=True)
    (tmp_path / "big.csv").write_bytes(data)
    digest = store.put_file(tmp_path / "big.csv")
    flags = record_flags(store, [c for c, _ in store.chunks(digest)])
    assert ZSTD in flags.values()
    assert store.compress_packs() == (0, 0)


def test_incompressible_chunks_stay_raw_and_their_pack_is_not_rewritten(tmp_path):
    store = LocalStore(tmp_path / "objects", chunk_compression="later")
    data = content(5, chunked.CHUNKED_MIN + (1 << 20), text=False)
    (tmp_path / "big.bin").write_bytes(data)
    digest = store.put_file(tmp_path / "big.bin")
    packs = os.listdir(tmp_path / "objects" / "packs")
    assert store._index.compress_checked() == set()
    assert store.compress_packs() == (0, 0)
    assert os.listdir(tmp_path / "objects" / "packs") == packs
    assert set(record_flags(store, [c for c, _ in store.chunks(digest)]).values()) == {RAW}
    # noted in the pack index, so the next collection does not read the pack's records again
    assert LocalStore(tmp_path / "objects")._index.compress_checked() == {p[: -len(".pack")] for p in packs}
    os.unlink(tmp_path / "objects" / "packindex.db")  # derived data: lost, the pack is looked at once more
    again = LocalStore(tmp_path / "objects", chunk_compression="later")
    assert again._index.compress_checked() == set()
    assert again.compress_packs() == (0, 0)
    assert again._index.compress_checked() == {p[: -len(".pack")] for p in packs}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), size=st.integers(0, 6 << 17), then_put=st.booleans())
def test_raw_and_zstd_chunks_side_by_side_round_trip_and_verify(tmp_path, seed, size, then_put):
    """Any mix of compressible and random content, stored with "later", compressed in place,
    and (sometimes) a second file stored with "put" into the same store: every file reads
    back byte for byte, deep verify finds nothing, and each chunk record is zstd exactly
    when compressing it pays."""
    with scaled(), tempfile.TemporaryDirectory(dir=tmp_path) as d:
        tmp = Path(d)
        data = mixed(seed, chunked.CHUNKED_MIN + 1 + size)
        (tmp / "a").write_bytes(data)
        store = LocalStore(tmp / "objects", chunk_compression="later")
        a = store.put_file(tmp / "a")
        files = {a: data}
        if then_put:
            other = mixed(seed + 1, chunked.CHUNKED_MIN + 1 + size // 2)
            (tmp / "b").write_bytes(other)
            files[LocalStore(tmp / "objects", chunk_compression="put").put_file(tmp / "b")] = other
        store.compress_packs()
        for digest, expected in files.items():
            assert store.get_bytes(digest, verify=True) == expected
        report = store.verify(deep=True)
        assert report.ok, report
        for digest, expected in files.items():
            pos = 0
            for chunk, n in store.chunks(digest):
                body = expected[pos:pos + n]
                pos += n
                if n >= chunked.MIN_CHUNK:  # zstd exactly when it pays (a short last chunk may stay raw)
                    assert record_flags(store, [chunk])[chunk] == encode(body, CHUNK_LEVEL)[0]


def test_an_unknown_policy_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(StoreError, match="chunk compression 'sometimes' is not one of put, later; set store.chunk_compression"):
        LocalStore(tmp_path / "objects", chunk_compression="sometimes")


def test_a_reader_streaming_the_file_while_its_pack_is_compressed_reads_it_whole(tmp_path):
    store = LocalStore(tmp_path / "objects", chunk_compression="later")
    data = content(6, chunked.CHUNKED_MIN + (2 << 20), text=True)
    (tmp_path / "big.csv").write_bytes(data)
    digest = store.put_file(tmp_path / "big.csv")
    with store.open(digest, verify=True) as f:
        head = f.read(1 << 20)
        assert LocalStore(tmp_path / "objects").compress_packs()[0] > 0  # another process, say gc
        rest = f.read()
    assert head + rest == data


COMPRESSOR = """
import sys
from canalis.store import LocalStore
store = LocalStore(sys.argv[1])
print("ready", flush=True)
store.compress_packs()
"""


def test_a_compression_killed_midway_leaves_every_blob_readable(tmp_path):
    import signal

    from store_helpers import kill_once_writing

    store = LocalStore(tmp_path / "objects", chunk_compression="later")
    data = content(7, 3 * chunked.CHUNKED_MIN, text=True)
    (tmp_path / "big.csv").write_bytes(data)
    digest = store.put_file(tmp_path / "big.csv")
    tmp = tmp_path / "objects" / "tmp"
    if kill_once_writing(COMPRESSOR, [tmp_path / "objects"], tmp, 60) != -signal.SIGKILL or not os.listdir(tmp):
        pytest.skip("the compression finished before it could be killed (machine too fast)")
    store = LocalStore(tmp_path / "objects", chunk_compression="later")
    assert store.get_bytes(digest, verify=True) == data  # the old pack (or the new one) holds every chunk
    assert store.verify(repair=True, grace_seconds=0).removed  # the new pack's temp file
    assert store.compress_packs()[0] > 0 or store.stats()["stored_bytes"] < len(data) / 2
    assert store.get_bytes(digest, verify=True) == data
    report = store.verify(deep=True)
    assert report.ok, report
