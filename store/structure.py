"""Structural checks: what `verify` checks without decompressing or hashing whole blobs.

- A record (a loose blob file, or a record in a pack) starts with a valid header, and its
  stored length agrees with the header: a raw body is exactly the logical size; a zstd body
  starts with a zstd frame whose header, when it states the content size, states the same.
- A pack index row names the record the pack's own index names (digest, offset, length).
- A tree entry's size equals the logical size of the blob it names.

These read a record's first bytes only (the header, the zstd frame header, and for loose
blobs enough of the content to see whether it is a tree manifest), so they cost about one
small read per blob. Re-hashing the content is `verify(deep=True)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from canalis.store.blob import CHUNKED, HEADER_SIZE, RAW, decompressor, unpack_header
from canalis.store.errors import CorruptBlobError
from canalis.store.pack import Entry
from canalis.store.tree import TREE_MAGIC, TreeEntry

#: bytes read at the start of a record: its header and the longest zstd frame header (18)
PEEK = 64
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class Head:
    """What a record's first bytes say: the blob's logical size, and whether its content
    starts like a tree manifest (None when not looked at)."""

    size: int
    tree: bool | None = None
    chunks: tuple = ()  # a chunk list's (digest, size) pairs


def check_record(read: Callable[[int, int], bytes], stored: int, digest: str, peek_tree: bool = False,
                 loose: bool = True) -> Head:
    """Check the record of blob `digest`, `stored` bytes long, through `read(offset, n)`
    (offsets from the record's start). A chunk list (always loose) is read whole and parsed.
    Raises CorruptBlobError (or UnsupportedFormatError)."""
    start = read(0, min(stored, PEEK))
    compression, size = unpack_header(start, digest)
    body = stored - HEADER_SIZE
    if compression == CHUNKED:
        if not loose:
            raise CorruptBlobError(digest, "a chunk list in a pack (chunk lists are always stored loose)")
        from canalis.store.chunklist import decode_list

        return Head(size, False if peek_tree else None, tuple(decode_list(read(HEADER_SIZE, body), digest, size)))
    if compression == RAW:
        if body != size:
            hint = " (truncated?)" if body < size else ""
            raise CorruptBlobError(digest, f"raw body of {body} bytes, header says {size}{hint}")
        tree = start[HEADER_SIZE : HEADER_SIZE + len(TREE_MAGIC)] == TREE_MAGIC if peek_tree else None
        return Head(size, tree)
    _check_frame_header(start[HEADER_SIZE:], body, size, digest)
    tree = None
    if peek_tree:
        tree = size >= len(TREE_MAGIC) and _zstd_prefix(read, stored, digest, len(TREE_MAGIC)) == TREE_MAGIC
    return Head(size, tree)


def _check_frame_header(frame: bytes, body: int, size: int, digest: str) -> None:
    import zstandard

    if body < len(ZSTD_MAGIC) or frame[: len(ZSTD_MAGIC)] != ZSTD_MAGIC:
        raise CorruptBlobError(digest, "the header says zstd but the body does not start with a zstd frame")
    try:
        stated = zstandard.get_frame_parameters(frame).content_size
    except zstandard.ZstdError as e:
        raise CorruptBlobError(digest, f"zstd frame header unreadable: {e}") from None
    if stated != zstandard.CONTENTSIZE_UNKNOWN and stated != size:
        raise CorruptBlobError(digest, f"zstd frame says {stated} bytes, header says {size}")


def _zstd_prefix(read, stored: int, digest: str, want: int) -> bytes:
    """The first `want` bytes of a zstd body (decompresses the first block only)."""
    import zstandard

    d = decompressor().decompressobj()
    out, at, step = b"", HEADER_SIZE, 4096
    try:
        while len(out) < want and at < stored:
            chunk = read(at, min(step, stored - at))
            if not chunk:
                break
            out += d.decompress(chunk)
            at += len(chunk)
            step *= 4
    except zstandard.ZstdError as e:
        raise CorruptBlobError(digest, f"zstd body does not decompress: {e}") from None
    return out[:want]


@dataclass(frozen=True)
class SizeMismatch:
    """A tree entry whose declared size differs from its blob's size."""

    path: str
    digest: str
    declared: int
    actual: int

    def as_dict(self) -> dict:
        return {"path": self.path, "digest": self.digest, "declared": self.declared, "actual": self.actual}


def size_mismatches(entries: list[TreeEntry], size_of: Callable[[str], int | None]) -> list[SizeMismatch]:
    """Entries whose size is not their blob's size. `size_of` returns None for a blob it
    cannot tell (absent or corrupt: reported elsewhere)."""
    out = []
    for e in entries:
        actual = size_of(e.digest)
        if actual is not None and actual != e.size:
            out.append(SizeMismatch(e.path, e.digest, e.size, actual))
    return out


def index_disagreements(entries: list[Entry], rows) -> tuple[int, str | None]:
    """(how many blobs the pack index places differently from the pack's own index, an
    example). `rows` are the index's (digest, pack, offset, length) rows for that pack."""
    truth = {e.digest: (e.offset, e.length) for e in entries}
    recorded = {r[0]: (r[2], r[3]) for r in rows}
    bad = sorted(d for d in truth.keys() | recorded.keys() if truth.get(d) != recorded.get(d))
    if not bad:
        return 0, None
    d = bad[0]
    if d not in recorded:
        example = f"blob {d} is in the pack but not in the index"
    elif d not in truth:
        example = f"the index places blob {d} in it, the pack does not hold it"
    else:
        example = (f"blob {d} recorded at offset {recorded[d][0]} (length {recorded[d][1]}), "
                   f"the pack has it at {truth[d][0]} (length {truth[d][1]})")
    return len(bad), example
