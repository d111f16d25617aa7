"""Pack files: many small blobs in one file, so that storing 10,000 small files writes and
syncs a handful of files instead of 10,000.

A pack lives at `objects/packs/<name>.pack`:

    offset      size    field
    0           4       magic b"CNLP"
    4           1       pack format version (1)
    5           3       reserved, zero
    8           ...     records; each record is byte for byte a loose blob file
                        (16-byte blob header + body, see blob.py)
    X           48*N    index: N entries sorted by digest, each
                        32 bytes raw digest, u64 LE record offset, u64 LE record length
    end-24      8       N, u64 LE
    end-16      8       X, the index offset, u64 LE
    end-8       8       magic b"CNLPEND1"

`<name>` is the BLAKE3 hex digest of the index and the trailer (the last 48*N + 24 bytes),
so a pack's name checks its table of contents; each record checks itself through its
blob's digest. Packs are written to `objects/tmp/` and renamed into place whole, like
loose blobs: a pack is either complete and visible, or absent.
"""
from __future__ import annotations

import os
import struct

import blake3

from canalis.store.errors import CorruptPackError
from canalis.store.frozen import FrozenValue

MAGIC = b"CNLP"
PACK_VERSION = 1
HEAD = MAGIC + bytes([PACK_VERSION, 0, 0, 0])
ENTRY = struct.Struct("<32sQQ")
TRAILER = struct.Struct("<QQ8s")
END = b"CNLPEND1"
SUFFIX = ".pack"

#: blobs below this logical size go into packs when stored in a batch (snapshot, put_files)
PACKABLE = 4 << 20
#: a pack is closed and a new one started once it holds this many bytes
PACK_TARGET = 32 << 20


class Entry(FrozenValue):
    """One record of a pack: its blob's digest, offset and length (frozen, store/frozen.py)."""

    _fields = ("digest", "offset", "length")
    digest: str
    offset: int
    length: int

    def __init__(self, digest: str, offset: int, length: int):
        self.__dict__.update(digest=digest, offset=offset, length=length)


def is_pack_name(filename: str) -> bool:
    stem = filename[: -len(SUFFIX)]
    return filename.endswith(SUFFIX) and len(stem) == 64 and all(c in "0123456789abcdef" for c in stem)


def encode_index(entries: list[Entry]) -> bytes:
    return b"".join(ENTRY.pack(bytes.fromhex(e.digest), e.offset, e.length) for e in sorted(entries, key=lambda e: e.digest))


def pack_name(index_and_trailer: bytes) -> str:
    return blake3.blake3(index_and_trailer).hexdigest()


class PackWriter:
    """Appends records to a temp file; `finish` writes the index and trailer and returns the
    pack's name. Not thread-safe: the caller serialises `add`."""

    def __init__(self, tmp_path: str):
        self.tmp_path = tmp_path
        self._f = open(tmp_path, "xb", buffering=1 << 20)
        self._f.write(HEAD)
        self.size = len(HEAD)
        self.entries: list[Entry] = []
        self.name: str | None = None

    def add(self, digest: str, header: bytes, body) -> None:
        self._f.write(header)
        self._f.write(body)
        length = len(header) + len(body)
        self.entries.append(Entry(digest, self.size, length))
        self.size += length

    def add_record(self, digest: str, record) -> None:
        self._f.write(record)
        self.entries.append(Entry(digest, self.size, len(record)))
        self.size += len(record)

    def written(self) -> int:
        """Hand every byte added so far to the kernel (the buffer is flushed); returns the size."""
        self._f.flush()
        return self.size

    def finish(self) -> str:
        tail = encode_index(self.entries) + TRAILER.pack(len(self.entries), self.size, END)
        self._f.write(tail)
        self._f.flush()
        self.size += len(tail)
        self.name = pack_name(tail)
        return self.name

    def close(self) -> None:
        self._f.close()


def read_index(path: str) -> list[Entry]:
    """The entries of the pack at `path`; raises CorruptPackError when its head, trailer or
    index is damaged (the records are checked when read)."""
    name = os.path.basename(path)[: -len(SUFFIX)]
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < len(HEAD) + TRAILER.size:
            raise CorruptPackError(path, f"only {size} bytes, shorter than an empty pack")
        head = f.read(len(HEAD))
        if head[:4] != MAGIC:
            raise CorruptPackError(path, f"bad magic {head[:4]!r}, expected {MAGIC!r}")
        if head[4] != PACK_VERSION:
            raise CorruptPackError(path, f"pack format version {head[4]}, this canalis reads {PACK_VERSION}")
        f.seek(size - TRAILER.size)
        count, index_at, end = TRAILER.unpack(f.read(TRAILER.size))
        if end != END:
            raise CorruptPackError(path, f"bad trailer {end!r} (truncated?)")
        if index_at + count * ENTRY.size + TRAILER.size != size or index_at < len(HEAD):
            raise CorruptPackError(path, f"trailer says {count} entries at {index_at}, file has {size} bytes")
        f.seek(index_at)
        tail = f.read(size - index_at)
    if name and is_pack_name(os.path.basename(path)) and pack_name(tail) != name:
        raise CorruptPackError(path, "its index does not hash to its name")
    entries = []
    for i in range(count):
        raw, offset, length = ENTRY.unpack_from(tail, i * ENTRY.size)
        if offset < len(HEAD) or offset + length > index_at:
            raise CorruptPackError(path, f"entry {i} points outside the records ({offset}+{length})")
        entries.append(Entry(raw.hex(), offset, length))
    return entries


def read_record(path: str, offset: int, length: int) -> bytes:
    """The bytes of one record (a loose blob file's bytes); short when the pack was truncated."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)
