"""The on-disk encoding of one blob: a 16-byte header, then the body (zstd frame or raw).

    offset size  field
    0      4     magic b"CNLB"
    4      1     format version (1; 2 for a chunk list, see chunked.py)
    5      1     compression: 0 = none (raw bytes), 1 = zstd (one or more zstd frames),
                 2 = chunk list (version 2 only: the body lists the chunks holding the content)
    6      2     reserved, zero
    8      8     logical (uncompressed) size, unsigned little-endian
    16     ...   body

The address of a blob is the BLAKE3 hex digest of its uncompressed bytes, so
`tail -c +17 FILE | zstd -d | b3sum` (or `tail -c +17 FILE | b3sum` when raw) prints the
file's name. See docs/store-format.md.
"""
from __future__ import annotations

import io
import os
import re
import struct
import threading

import blake3

from canalis.store.errors import CorruptBlobError, InvalidDigestError, UnsupportedFormatError

MAGIC = b"CNLB"
BLOB_VERSION = 1
#: the header version of a chunk list record (a version 1 reader refuses it, as it should)
CHUNKED_VERSION = 2
HEADER = struct.Struct("<4sBBHQ")
HEADER_SIZE = HEADER.size  # 16
RAW = 0
ZSTD = 1
CHUNKED = 2

ZSTD_LEVEL = 3
#: the level of a chunked file's chunks: level 1 compresses 3-4x faster than 3, which is what
#: lets a large file enter the store at the speed of the disk (see docs/benchmarks.md)
CHUNK_LEVEL = 1
#: compression is kept only when it saves at least this fraction of the size
MIN_SAVING = 1 / 32
#: files up to this size are read into memory whole; larger ones stream
SMALL_FILE = 8 << 20
#: files from this size up are hashed with BLAKE3's multithreading over an mmap
LARGE_FILE = 4 << 20
CHUNK = 4 << 20
#: size of the sample that decides whether a large blob is worth compressing
SAMPLE = 64 << 10

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_local = threading.local()


def check_digest(digest: object) -> str:
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise InvalidDigestError(digest)
    return digest


def pack_header(compression: int, size: int, version: int = BLOB_VERSION) -> bytes:
    return HEADER.pack(MAGIC, version, compression, 0, size)


def unpack_header(raw: bytes, digest: str) -> tuple[int, int]:
    """(compression, logical size) of a header; raises CorruptBlobError / UnsupportedFormatError."""
    if len(raw) < HEADER_SIZE:
        raise CorruptBlobError(digest, f"truncated header ({len(raw)} of {HEADER_SIZE} bytes)")
    magic, version, compression, reserved, size = HEADER.unpack(raw[:HEADER_SIZE])
    if magic != MAGIC:
        raise CorruptBlobError(digest, f"bad magic {magic!r}, expected {MAGIC!r}")
    if version not in (BLOB_VERSION, CHUNKED_VERSION):
        raise UnsupportedFormatError(digest, version, CHUNKED_VERSION)
    if compression not in ((RAW, ZSTD) if version == BLOB_VERSION else (CHUNKED,)) or reserved != 0:
        raise CorruptBlobError(digest, f"unknown compression flag {compression} / reserved {reserved}")
    return compression, size


def compressor(level: int = ZSTD_LEVEL):
    """A per-thread compressor at `level` (zstandard objects must not be shared between threads)."""
    cctxs = getattr(_local, "cctxs", None)
    if cctxs is None:
        cctxs = _local.cctxs = {}
    c = cctxs.get(level)
    if c is None:
        import zstandard  # imported on first use: a warm snapshot never needs it

        c = cctxs[level] = zstandard.ZstdCompressor(level=level, write_content_size=True)
    return c


def decompressor():
    d = getattr(_local, "dctx", None)
    if d is None:
        import zstandard

        d = _local.dctx = zstandard.ZstdDecompressor()
    return d


def _zstd_error():
    import zstandard

    return zstandard.ZstdError


def pays(stored: int, logical: int) -> bool:
    return stored <= logical - max(1, int(logical * MIN_SAVING))


def encode(data: bytes, level: int = ZSTD_LEVEL) -> tuple[int, bytes | memoryview]:
    """(compression flag, body) for `data`: zstd at `level` when it pays, raw otherwise."""
    if len(data) >= 64:
        c = compressor(level)
        if len(data) > 4 * SAMPLE and not pays(len(c.compress(data[:SAMPLE])), SAMPLE):
            return RAW, data  # the first 64 KiB do not compress: do not spend time on the rest
        body = c.compress(data)
        if pays(len(body), len(data)):
            return ZSTD, body
    return RAW, data


def hash_bytes(data) -> str:
    if len(data) >= LARGE_FILE:
        return blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()
    return blake3.blake3(data).hexdigest()


def hash_path(path: str | os.PathLike, size: int | None = None) -> str:
    """BLAKE3 of a file's bytes; big files use an mmap and all cores."""
    if size is None:
        size = os.stat(path).st_size
    if size >= LARGE_FILE:
        h = blake3.blake3(max_threads=blake3.blake3.AUTO)
        h.update_mmap(path)
        return h.hexdigest()
    with open(path, "rb", buffering=0) as f:
        return blake3.blake3(f.read()).hexdigest()


class BlobReader:
    """A read-only binary stream of a blob's uncompressed bytes; checks the digest at EOF
    when `verify` is set (and raises CorruptBlobError naming the digest)."""

    def __init__(self, path: str, digest: str, verify: bool = False, record: bytes | None = None, opener=None):
        self.name = path
        self.digest = digest
        self._f = open(path, "rb") if record is None else io.BytesIO(record)  # record: from a pack
        try:
            self.compression, self.size = unpack_header(self._f.read(HEADER_SIZE), digest)
        except BaseException:
            self._f.close()
            raise
        self._hasher = blake3.blake3() if verify else None
        self._seen = 0
        self._done = False
        if self.compression == ZSTD:
            self._src = decompressor().stream_reader(self._f, read_across_frames=True)
        elif self.compression == CHUNKED:  # a chunk list: the content is its chunks, read in turn
            from canalis.store.chunklist import ChunkStream, decode_list

            try:
                chunks = decode_list(self._f.read(), digest, self.size)
            except BaseException:
                self._f.close()
                raise
            if opener is None:
                self._f.close()
                raise CorruptBlobError(digest, "a chunk list is always stored loose, never in a pack", path)
            self._src = ChunkStream(opener, chunks, digest, path)
        else:
            self._src = self._f

    # io protocol ------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    @property
    def closed(self) -> bool:
        return self._f.closed

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            parts = []
            while True:
                chunk = self.read(CHUNK)
                if not chunk:
                    return b"".join(parts)
                parts.append(chunk)
        try:
            data = self._src.read(n)
        except _zstd_error() as e:
            raise CorruptBlobError(self.digest, f"zstd body does not decompress: {e}", self.name) from None
        self._seen += len(data)
        if self._hasher is not None:
            self._hasher.update(data)
        if self._seen > self.size:
            raise CorruptBlobError(self.digest, f"body holds more than the {self.size} bytes the header says", self.name)
        if (not data and n) or self._seen == self.size:
            self._finish()  # checked as soon as the last byte is read, not only at EOF
        return data

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        if self._seen != self.size:
            raise CorruptBlobError(
                self.digest, f"body holds {self._seen} bytes, header says {self.size} (truncated?)", self.name
            )
        if self._hasher is not None and self._hasher.hexdigest() != self.digest:
            raise CorruptBlobError(self.digest, f"content hashes to {self._hasher.hexdigest()}", self.name)

    def close(self) -> None:
        if self._src is not self._f:
            self._src.close()
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __iter__(self):
        while True:
            chunk = self.read(CHUNK)
            if not chunk:
                return
            yield chunk


def read_all(path: str, digest: str, verify: bool) -> bytes:
    """The uncompressed bytes of the blob file at `path` (one read, one decompress)."""
    with open(path, "rb", buffering=0) as f:
        raw = f.read()
    return decode(raw, digest, verify, path)


def decode(raw: bytes, digest: str, verify: bool, path: str) -> bytes:
    """The uncompressed bytes of a blob file's bytes `raw` (a loose file or a pack record)."""
    compression, size = unpack_header(raw, digest)
    body = memoryview(raw)[HEADER_SIZE:]
    if compression == CHUNKED:  # LocalStore reads chunk lists through BlobReader
        raise CorruptBlobError(digest, "a chunk list is always stored loose, never in a pack", path)
    if compression == ZSTD:
        try:
            data = decompressor().decompressobj().decompress(body)
        except _zstd_error() as e:
            raise CorruptBlobError(digest, f"zstd body does not decompress: {e}", path) from None
    else:
        data = bytes(body)
    if len(data) != size:
        raise CorruptBlobError(digest, f"body holds {len(data)} bytes, header says {size} (truncated?)", path)
    if verify and hash_bytes(data) != digest:
        raise CorruptBlobError(digest, f"content hashes to {hash_bytes(data)}", path)
    return data
