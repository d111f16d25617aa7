"""Chunked files: large content stored as content-defined chunks plus one chunk list.

A file larger than CHUNKED_MIN is cut with FastCDC (pyfastcdc) into chunks of MIN_CHUNK to
MAX_CHUNK bytes (AVG_CHUNK on average). Each chunk is an ordinary blob, packed like any small
blob. The file itself is a *chunk list*: a loose blob record whose header has version 2 and
kind CHUNKED, whose logical size is the file's size, and whose body is the text

    canalis-chunks 1
    <chunk digest> <chunk size>
    ...

Its address is the BLAKE3 of the whole file's bytes, as for any other blob, so a file's
digest (and every reuse key and `b3sum` check naming it) does not depend on how it is
stored. A cut point depends only on the bytes just before it, so appending to a file or
changing a few regions changes only the chunks around the change: a new version of a large
file costs its changed chunks.

The file is read once: the same bytes feed the whole-file hash, the chunker, each chunk's
hash and its compression, and memory stays bounded (the chunker's buffer of 2 x MAX_CHUNK and AHEAD chunks in flight).
See docs/store-format.md.
"""
from __future__ import annotations

import blake3

from canalis.store import blob as _blob
from canalis.store.chunklist import ChunkStream, decode_list, encode_list  # noqa: F401  (re-exported)
from canalis.store.errors import SnapshotError
from canalis.store.tree import TREE_MAGIC

#: content larger than this is stored chunked (smaller content is one blob)
CHUNKED_MIN = 8 << 20
AVG_CHUNK = 1 << 20
MIN_CHUNK = 256 << 10
MAX_CHUNK = 4 << 20
#: bytes read from the file at a time
READ = 4 << 20
#: chunks cut but not yet stored, at most (memory: AHEAD x MAX_CHUNK)
AHEAD = 8


def _cdc():
    from pyfastcdc import FastCDC

    return FastCDC(AVG_CHUNK, min_size=MIN_CHUNK, max_size=MAX_CHUNK, normalized_chunking=1)


class _HashingReader:
    """A file read through `readinto` that feeds every byte to the whole-file hash."""

    def __init__(self, f, hasher):
        self._f = f
        self._hasher = hasher
        self.size = 0

    def readinto(self, b) -> int:
        view = memoryview(b)[:READ]
        n = self._f.readinto(view)
        if n:
            self._hasher.update(view[:n])
            self.size += n
        return n or 0


def ingest(store, path: str, batch, expect: str | None = None) -> str:
    """Store the file at `path` as chunks (see ingest_stream); reads it once."""
    with open(path, "rb", buffering=0) as f:
        return ingest_stream(store, f, batch, expect, path)


def ingest_stream(store, f, batch, expect: str | None = None, path: str = "", replace: bool = False) -> str:
    """Store what binary stream `f` (with `readinto`) holds as chunks (new ones packed into `batch`) and a chunk list
    (a loose temp file in `batch`); returns the whole file's digest. Reads the file once:
    this thread reads, hashes the whole and cuts; a second one hashes and compresses each
    chunk (both release the GIL), at most AHEAD chunks behind. `expect`: the digest the
    caller computed; a mismatch means the file changed. `replace`: write the chunk list
    even when the digest is stored (upgrading a whole blob to a chunked one)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    whole = blake3.blake3(max_threads=blake3.blake3.AUTO)
    chunks: list[tuple[str, int]] = []
    seen: set[str] = set()

    def store_chunk(data: bytes) -> str:
        d = blake3.blake3(data).hexdigest()
        if d not in seen and not store._known(d, batch):
            compression, body = _blob.encode(data)
            batch.add_packed(d, compression, len(data), body)
        seen.add(d)
        return d

    pending: deque = deque()
    with ThreadPoolExecutor(1) as pool:
        try:
            reader = _HashingReader(f, whole)
            for c in _cdc().cut_stream(reader):
                pending.append((pool.submit(store_chunk, bytes(c.data)), c.length))  # c.data is reused
                while len(pending) > AHEAD:
                    fut, n = pending.popleft()
                    chunks.append((fut.result(), n))
            while pending:
                fut, n = pending.popleft()
                chunks.append((fut.result(), n))
        finally:
            for fut, _ in pending:
                fut.cancel()
    digest = whole.hexdigest()
    if expect is not None and expect != digest:
        raise SnapshotError(path, "the file changed while it was being stored; snapshot it again")
    if replace or not store._known(digest, batch):
        tmp = store._write_body(_blob.CHUNKED, reader.size, encode_list(chunks), False, _blob.CHUNKED_VERSION)
        batch.add_loose(digest, tmp)
    return digest


def upgrade(store, digest: str) -> bool:
    """Rewrite loose whole blob `digest` (a store format 2 blob larger than CHUNKED_MIN) as
    chunks and a chunk list under the same name; False when there is nothing to do. Its
    content is verified as it is read; the new chunk list replaces the file atomically."""
    path = store.path_of(digest)
    try:
        with open(path, "rb") as f:
            compression, size = _blob.unpack_header(f.read(_blob.HEADER_SIZE), digest)
    except FileNotFoundError:
        return False
    if compression == _blob.CHUNKED or size <= CHUNKED_MIN:
        return False
    batch = store._batch()
    try:
        with store.open(digest, verify=True) as src:
            head = src.read(len(TREE_MAGIC))
            if head == TREE_MAGIC:  # tree manifests stay whole blobs (verify finds them by content)
                return False
            src = _Prefixed(head, src)
            ingest_stream(store, src, batch, digest, path, replace=True)
        batch.commit()
    except BaseException:
        batch.discard()
        raise
    return True


class _Prefixed:
    """`readinto` over `head` and then stream `rest`."""

    def __init__(self, head: bytes, rest):
        self._head = head
        self._rest = rest

    def readinto(self, b) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return self._rest.readinto(b)


def chunk_digests(store, digests) -> list[str]:
    """The chunks of those of `digests` that are chunk lists (whole blobs and missing ones
    add nothing)."""
    out = []
    for d in digests:
        out += [c for c, _ in store.chunks(d)]
    return out


__all__ = ["CHUNKED_MIN", "ChunkStream", "chunk_digests", "decode_list", "encode_list", "ingest", "upgrade"]
