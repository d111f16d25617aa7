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

The file is read once, into a small ring of reusable buffers: the same bytes feed the
whole-file hash, the chunker, and on every core each chunk's hash and its compression, and
memory stays bounded (RING buffers of BLOCK x MAX_CHUNK bytes) whatever the file's size.
See docs/store-format.md.
"""
from __future__ import annotations

import os

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
#: the file is read into a ring of RING buffers of BLOCK x MAX_CHUNK bytes each (16 MiB);
#: a buffer is refilled once every chunk cut from it is stored (memory: RING x 16 MiB)
BLOCK = 4
RING = 4


def _cdc():
    from pyfastcdc import FastCDC

    return FastCDC(AVG_CHUNK, min_size=MIN_CHUNK, max_size=MAX_CHUNK, normalized_chunking=1)


def default_workers() -> int:
    """Threads that hash and compress chunks: one per core."""
    return max(1, os.cpu_count() or 1)


def ingest(store, path: str, batch, expect: str | None = None, workers: int | None = None) -> str:
    """Store the file at `path` as chunks (see ingest_stream); reads it once."""
    with open(path, "rb", buffering=0) as f:
        try:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)  # a larger read-ahead
        except (AttributeError, OSError):
            pass
        return ingest_stream(store, f, batch, expect, path, workers=workers)


def _fill(f, view) -> int:
    """Read into `view` until it is full or the stream ends; the bytes read."""
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def ingest_stream(store, f, batch, expect: str | None = None, path: str = "", replace: bool = False,
                  workers: int | None = None) -> str:
    """Store what binary stream `f` (with `readinto`) holds as chunks (new ones packed into
    `batch`) and a chunk list (a loose temp file in `batch`); returns the whole content's
    digest. The content is read once, into a ring of reusable buffers: this thread reads
    and cuts (FastCDC releases the GIL), one thread hashes the whole content in order, and
    `workers` threads (default: one per core) hash each chunk and, when it is not stored
    yet, compress and pack it; all of them release the GIL. The chunk list is the same
    whatever the number of workers. `expect`: the digest the caller computed; a mismatch
    means the file changed. `replace`: write the chunk list even when the digest is stored
    (upgrading a whole blob to a chunked one)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    max_chunk = MAX_CHUNK
    whole = blake3.blake3()
    chunks: list[tuple[str, int]] = []
    seen: set[str] = set()

    def store_chunk(data) -> str:
        d = blake3.blake3(data).hexdigest()
        if d not in seen and not store._known(d, batch):  # stored already: neither compressed nor written
            compression, body = _blob.encode(data, _blob.CHUNK_LEVEL)
            batch.add_packed(d, compression, len(data), body)
        seen.add(d)
        return d

    ring = [bytearray(BLOCK * max_chunk) for _ in range(RING)]
    in_flight: list[list] = [[] for _ in range(RING)]  # per buffer: the futures still reading it
    pending: deque = deque()  # (future, size) of every chunk not yet collected, in file order

    def collect(upto) -> None:
        """Wait for buffer `upto`'s work, collecting chunk digests in order."""
        for fut in in_flight[upto]:
            fut.result()
        in_flight[upto] = []
        while pending and pending[0][0].done():
            fut, n = pending.popleft()
            chunks.append((fut.result(), n))

    pool = ThreadPoolExecutor(workers)
    hasher = ThreadPoolExecutor(1)  # one thread, so the whole content is hashed in order
    total = 0
    try:
        cdc = _cdc()
        carry = b""  # bytes read but not cut yet (less than MAX_CHUNK)
        slot = 0
        eof = False
        while not eof:
            collect(slot)
            buf = ring[slot]
            view = memoryview(buf)
            view[: len(carry)] = carry
            got = _fill(f, view[len(carry):])
            eof = len(carry) + got < len(buf)
            total += got
            if got:
                in_flight[slot].append(hasher.submit(whole.update, view[len(carry): len(carry) + got]))
            filled = len(carry) + got
            pos = 0
            cuts = cdc.cut_buf(view[:filled])
            while pos < filled and (eof or filled - pos >= max_chunk):  # a cut needs MAX_CHUNK bytes ahead (or the end)
                c = next(cuts)
                fut = pool.submit(store_chunk, c.data)
                in_flight[slot].append(fut)
                pending.append((fut, c.length))
                pos += c.length
            carry = bytes(view[pos:filled])
            slot = (slot + 1) % RING
        for i in range(RING):
            collect(i)
        while pending:
            fut, n = pending.popleft()
            chunks.append((fut.result(), n))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # no worker writes to `batch` after this returns
        hasher.shutdown(wait=True, cancel_futures=True)
    digest = whole.hexdigest()
    if expect is not None and expect != digest:
        raise SnapshotError(path, "the file changed while it was being stored; snapshot it again")
    if replace or not store._known(digest, batch):
        tmp = store._write_body(_blob.CHUNKED, total, encode_list(chunks), False, _blob.CHUNKED_VERSION)
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
