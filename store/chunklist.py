"""The chunk list: the body of a chunked file's record (see chunked.py), and reading the
content back from its chunks. Kept apart from chunked.py so that blob.py can read chunk
lists without importing the writer (no import cycle).

    canalis-chunks 1
    <chunk digest> <chunk size>
    ...
"""
from __future__ import annotations

import re

from canalis.store.errors import CorruptBlobError

LIST_MAGIC = b"canalis-chunks 1\n"
_LINE = re.compile(rb"([0-9a-f]{64}) (0|[1-9][0-9]*)\Z")


def encode_list(chunks: list[tuple[str, int]]) -> bytes:
    return LIST_MAGIC + b"".join(b"%s %d\n" % (d.encode(), n) for d, n in chunks)


def decode_list(body: bytes, digest: str, size: int) -> list[tuple[str, int]]:
    """The (digest, size) of each chunk of chunk list `digest`; raises CorruptBlobError when
    the body does not parse or its sizes do not add up to the logical size `size`."""
    if not body.startswith(LIST_MAGIC) or not body.endswith(b"\n"):
        raise CorruptBlobError(digest, "chunk list does not start with 'canalis-chunks 1' or lacks its final newline")
    out = []
    for line in body[len(LIST_MAGIC):-1].split(b"\n") if len(body) > len(LIST_MAGIC) else []:
        m = _LINE.match(line)
        if m is None:
            raise CorruptBlobError(digest, f"chunk list line {len(out) + 2} does not parse: {line[:100]!r}")
        out.append((m.group(1).decode(), int(m.group(2))))
    total = sum(n for _, n in out)
    if total != size:
        raise CorruptBlobError(digest, f"chunk list adds up to {total} bytes, header says {size}")
    return out


class ChunkStream:
    """The concatenated content of a chunk list's chunks, read one chunk at a time through
    `opener(digest)` (a BlobReader of that chunk); a chunk whose size is not the listed one
    is a corrupt chunk list."""

    def __init__(self, opener, chunks: list[tuple[str, int]], digest: str, path: str):
        self._opener = opener
        self._chunks = chunks
        self._digest = digest
        self._path = path
        self._i = 0
        self._cur = None
        self._left = 0

    def read(self, n: int) -> bytes:
        while True:
            if self._cur is None:
                if self._i >= len(self._chunks):
                    return b""
                d, self._left = self._chunks[self._i]
                self._i += 1
                self._cur = self._opener(d)
            data = self._cur.read(min(n, self._left) if self._left else 1)
            if data:
                self._left -= len(data)
                if self._left < 0:
                    raise CorruptBlobError(self._digest, f"chunk {self._cur.digest} is larger than listed", self._path)
                return data
            if self._left:
                raise CorruptBlobError(self._digest, f"chunk {self._cur.digest} is shorter than listed", self._path)
            self._cur.close()
            self._cur = None

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()
            self._cur = None
