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
memory stays bounded (RING buffers of (BLOCK + 2) x MAX_CHUNK bytes) whatever the file's size.
A new version of a file already stored is not cut where it matches the earlier version's
chunks: those are checked by their hashes instead (store/earlier.py), with the same result.
See docs/store-format.md.
"""
from __future__ import annotations

import os
import threading

import blake3

from canalis.store import blob as _blob
from canalis.store import earlier as _earlier
from canalis.store.chunklist import ChunkStream, decode_list, encode_list  # noqa: F401  (re-exported)
from canalis.store.errors import SnapshotError
from canalis.store.stagetimes import timed
from canalis.store.tree import TREE_MAGIC

#: content larger than this is stored chunked (smaller content is one blob)
CHUNKED_MIN = 8 << 20
AVG_CHUNK = 1 << 20
MIN_CHUNK = 256 << 10
MAX_CHUNK = 4 << 20
#: the file is read into a ring of RING buffers, each BLOCK x MAX_CHUNK bytes (16 MiB) plus
#: 2 x MAX_CHUNK of room for what the previous one left uncut (a chunk and the one after it,
#: when following an earlier version); a buffer is read into again once every chunk cut from
#: it is stored (memory: RING x 24 MiB, its room mostly untouched)
BLOCK = 4
RING = 4


def _cdc():
    from pyfastcdc import FastCDC

    return FastCDC(AVG_CHUNK, min_size=MIN_CHUNK, max_size=MAX_CHUNK, normalized_chunking=1)


def default_workers() -> int:
    """Threads that hash and compress chunks: one per core."""
    return max(1, os.cpu_count() or 1)


def ingest(store, path: str, batch, expect: str | None = None, workers: int | None = None,
           stats: dict | None = None) -> str:
    """Store the file at `path` as chunks (see ingest_stream); reads it once."""
    with open(path, "rb", buffering=0) as f:
        try:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)  # a larger read-ahead
        except (AttributeError, OSError):
            pass
        if not _cached(f.fileno()):
            f = _DropBehind(f)
        return ingest_stream(store, f, batch, expect, path, workers=workers, stats=stats)


def _cached(fd: int) -> bool:
    """Whether the file's first page is in the page cache (a read that may not wait for the
    disk succeeds); True where that cannot be asked."""
    try:
        os.preadv(fd, [bytearray(1)], 0, os.RWF_NOWAIT)
    except BlockingIOError:
        return False
    except (AttributeError, OSError):
        pass
    return True


class _DropBehind:
    """`readinto` of a file that was not in the page cache: what was read leaves the cache
    again (the bytes are in the ring), so that storing a large file does not push out what
    the machine's other work caches, nor pay for growing the cache by the file's size."""

    def __init__(self, f):
        self._f = f
        self._fd = f.fileno()
        self._at = 0

    def readinto(self, b) -> int:
        n = self._f.readinto(b)
        if n:
            try:
                os.posix_fadvise(self._fd, self._at, n, os.POSIX_FADV_DONTNEED)
            except OSError:  # advice only: a file system that refuses it is read as before
                pass
            self._at += n
        return n


def _fill(f, view) -> int:
    """Read into `view` until it is full or the stream ends; the bytes read."""
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


class _Ring:
    """RING buffers of 2 x MAX_CHUNK + BLOCK x MAX_CHUNK bytes. A reader thread fills a free
    buffer's tail (after 2 x MAX_CHUNK bytes of room for the bytes the previous buffer left
    uncut) and hands it to the cutter; a buffer is free again once the cutter is done with
    it and every hash and chunk job reading it has finished (a count per buffer)."""

    def __init__(self, max_chunk: int):
        import queue

        self.head = 2 * max_chunk
        import mmap

        # anonymous maps: their pages are zero-filled only when first written, so storing a
        # file just over CHUNKED_MIN does not pay for clearing the whole ring
        self.bufs = [mmap.mmap(-1, self.head + BLOCK * max_chunk) for _ in range(RING)]
        self.views = [memoryview(b) for b in self.bufs]
        self.holds = [0] * RING
        self.free: queue.SimpleQueue = queue.SimpleQueue()
        self.filled: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        for i in range(RING):
            self.free.put(i)

    def hold(self, i: int, n: int = 1) -> None:
        with self._lock:
            self.holds[i] += n

    def release(self, i: int) -> None:
        with self._lock:
            self.holds[i] -= 1
            if self.holds[i]:
                return
        self.free.put(i)

    def read(self, f, hash_later, hashed: list) -> None:
        """The reader thread: fill free buffers in turn and hand each region read to
        `hash_later` (which returns a future), until the end (or an error, or None put into
        `free` to stop it)."""
        try:
            while True:
                i = self.free.get()
                if i is None:
                    return
                self.hold(i, 2)  # the cutter's, and the whole-content hash's
                region = self.views[i][self.head:]
                n = timed("read", _fill, f, region)
                if n:
                    fut = hash_later(region[:n])
                    fut.add_done_callback(lambda _, i=i: self.release(i))
                    hashed.append(fut)
                else:
                    self.release(i)
                self.filled.put((i, n))
                if n < len(region):
                    return
        except BaseException as e:  # handed to the cutter, which raises it
            self.filled.put((None, e))


def ingest_stream(store, f, batch, expect: str | None = None, path: str = "", replace: bool = False,
                  workers: int | None = None, stats: dict | None = None) -> str:
    """Store what binary stream `f` (with `readinto`) holds as chunks (new ones packed into
    `batch`) and a chunk list (a loose temp file in `batch`); returns the whole content's
    digest. The content is read once, into a ring of reusable buffers: one thread reads
    (so the disk works while the rest computes), one hashes the whole content in order,
    this one cuts (FastCDC), and `workers` threads (default: one per core) hash each chunk
    and, when it is not stored yet, compress and pack it; all of them release the GIL. The
    chunk list is the same whatever the number of workers. `expect`: the digest the caller
    computed; a mismatch means the file changed. `replace`: write the chunk list even when
    the digest is stored (upgrading a whole blob to a chunked one). When the first chunk
    starts a chunk list stored before (an earlier version), its chunks are followed instead
    of cut for as long as they match (store/earlier.py). `stats`, when given, receives
    "cut" and "followed" (bytes) and "earlier" (the chunk list followed, or None)."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    max_chunk = MAX_CHUNK
    whole = blake3.blake3()
    chunks: list[tuple[str, int]] = []
    seen: set[str] = set()
    later = getattr(store, "chunk_compression", "put") == "later"

    def store_chunk(data, expect: str | None = None) -> str:
        d = timed("chunk hash", _hex, data)
        if expect is not None and d != expect:  # a region of an earlier version that differs: not a chunk
            return d
        if d not in seen and not timed("lookup", store._known, d, batch):  # stored already: neither compressed nor written
            if later:  # stored raw now, compressed by compress_packs (garbage collection)
                compression, body = _blob.RAW, data
            else:
                compression, body = timed("compress", _blob.encode, data, _blob.CHUNK_LEVEL)
            timed("pack write", batch.add_packed, d, compression, len(data), body)
        seen.add(d)
        return d

    ring = _Ring(max_chunk)

    def submit(i: int, data, expect: str | None = None):
        """Hash (and store when new) a region of buffer i in a worker; the buffer is held until then."""
        ring.hold(i)
        fut = pool.submit(store_chunk, data, expect)
        fut.add_done_callback(lambda _: ring.release(i))
        return fut

    pending: deque = deque()  # (future, size) of every chunk not yet collected, in file order
    hashed: list = []
    pool = ThreadPoolExecutor(workers)
    hasher = ThreadPoolExecutor(1)  # one thread, so the whole content is hashed in order
    reader = threading.Thread(target=ring.read, args=(f, lambda region: hasher.submit(timed, "whole hash", whole.update, region), hashed),
                              name="canalis-ingest-reader", daemon=True)
    total = 0
    followed = 0
    at = 0  # the file offset of `pos`: where it was last cut
    done = 0  # the file offset where the chunks collected so far end
    earlier = None  # an earlier version's chunk list, followed while it matches
    looked = getattr(store, "_index", None) is None  # whether the earlier version was looked for
    found = None
    try:
        reader.start()
        cdc = _cdc()
        carry = b""  # bytes read but not cut yet (less than MAX_CHUNK; 2 x MAX_CHUNK when following)
        eof = False
        while not eof:
            i, got = ring.filled.get()
            if i is None:
                raise got
            total += got
            eof = got < BLOCK * max_chunk
            start = ring.head - len(carry)
            view = ring.views[i]
            view[start: ring.head] = carry
            filled = ring.head + got
            pos = start
            if earlier is None and found is not None and chunks and found.realign(at, chunks[-1][0], done):
                earlier = found  # cutting gave an earlier chunk again: follow on from here
            while True:
                if earlier is not None:
                    regions, going = earlier.regions(filled - pos, eof, max_chunk)
                    first = earlier.next
                    futs = [submit(i, view[pos + rel: pos + rel + n], earlier.chunks[first + k][0])
                            for k, (rel, n) in enumerate(regions)]
                    ok = earlier.confirm([fut.result() for fut in futs])
                    for fut, (_, n) in zip(futs, earlier.chunks[first:first + ok]):
                        pending.append((fut, n))
                        pos += n
                        at += n
                        followed += n
                    if going and (not regions or ok == len(regions) - 1):
                        break  # every candidate confirmed: follow on in the next buffer
                    earlier = None  # cut from here on
                cuts = timed("cut", cdc.cut_buf, view[pos:filled])
                while pos < filled and (eof or filled - pos >= max_chunk):  # a cut needs MAX_CHUNK bytes ahead (or the end)
                    c = timed("cut", next, cuts)
                    pending.append((submit(i, c.data), c.length))
                    pos += c.length
                    at += c.length
                    if not looked:  # the first chunk: is it the first of a file stored before?
                        looked = True
                        earlier = found = timed("earlier version", _earlier.find, store, _hex(c.data), c.length)
                        if earlier is not None:
                            break
                if earlier is None:
                    break
            carry = bytes(view[pos:filled])
            ring.release(i)
            while pending and pending[0][0].done():
                fut, n = pending.popleft()
                chunks.append((fut.result(), n))
                done += n
        while pending:
            fut, n = pending.popleft()
            chunks.append((fut.result(), n))
        reader.join()
        for fut in hashed:
            fut.result()
    finally:
        ring.free.put(None)  # stops the reader if it is waiting for a buffer
        pool.shutdown(wait=True, cancel_futures=True)  # no worker writes to `batch` after this returns
        hasher.shutdown(wait=True, cancel_futures=True)
        reader.join()
    digest = whole.hexdigest()
    if stats is not None:
        stats.update(cut=total - followed, followed=followed, earlier=found.digest if found else None)
    if expect is not None and expect != digest:
        raise SnapshotError(path, "the file changed while it was being stored; snapshot it again")
    if replace or not store._known(digest, batch):
        tmp = store._write_body(_blob.CHUNKED, total, encode_list(chunks), False, _blob.CHUNKED_VERSION)
        batch.add_loose(digest, tmp)
    if chunks:
        batch.note_head(digest, chunks[0][0])
    return digest


def _hex(data) -> str:
    return blake3.blake3(data).hexdigest()


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
