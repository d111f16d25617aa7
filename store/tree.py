"""Trees: a canonical, sorted manifest of (path, type, mode, size, digest).

Manifest bytes (stored as an ordinary blob; the tree's address is that blob's digest):

    canalis-tree 1\n
    <type> <mode> <size> <digest> <path>\n      one line per entry, sorted by path bytes

`type` is `file` or `symlink`; `mode` is octal `644`, `755` (files) or `777` (symlinks);
`size` is decimal bytes; `digest` the 64-hex BLAKE3 digest of the content (a symlink's
content is its target); `path` is the relative POSIX path in UTF-8 with the bytes `%`,
LF, CR, NUL and TAB written as `%25`, `%0A`, `%0D`, `%00`, `%09`.
"""
from __future__ import annotations

import os
from typing import Iterable

from canalis.store.blob import check_digest
from canalis.store.errors import InvalidDigestError, InvalidTreeError, NotATreeError, UnsafePathError
from canalis.store.frozen import Ordered

TREE_MAGIC = b"canalis-tree 1\n"
FILE = "file"
SYMLINK = "symlink"
MODES = {FILE: (0o644, 0o755), SYMLINK: (0o777,)}
_ESCAPE = {b"%": b"%25", b"\n": b"%0A", b"\r": b"%0D", b"\0": b"%00", b"\t": b"%09"}


class TreeEntry(Ordered):
    """One file or symlink of a tree. `path` is relative POSIX, `mode` is 0o644/0o755/0o777.
    Frozen, compared and ordered by its fields in this order (store/frozen.py)."""

    _fields = ("path", "type", "mode", "size", "digest")
    path: str
    type: str
    mode: int
    size: int
    digest: str

    def __init__(self, path: str, type: str, mode: int, size: int, digest: str):
        self.__dict__.update(path=path, type=type, mode=mode, size=size, digest=digest)


def file_mode(st_mode: int) -> int:
    """The mode bits that matter: executable by the owner or not."""
    return 0o755 if st_mode & 0o100 else 0o644


def check_path(path: str) -> str:
    """A manifest path must be relative, normalised, and free of `..` and NUL."""
    if not isinstance(path, str) or not path:
        raise UnsafePathError(str(path), "empty path")
    if path.startswith("/"):
        raise UnsafePathError(path, "absolute path")
    if "\0" in path:
        raise UnsafePathError(path, "NUL byte in path")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise UnsafePathError(path, f"path component {part!r} is not allowed (relative, normalised paths only)")
    return path


def _sort_key(e: TreeEntry) -> bytes:
    return os.fsencode(e.path)


def _escape(path: str) -> bytes:
    if path.isascii() and path.isprintable() and "%" not in path:
        return path.encode()
    raw = os.fsencode(path)
    for k in (b"%", b"\n", b"\r", b"\0", b"\t"):  # '%' first
        if k in raw:
            raw = raw.replace(k, _ESCAPE[k])
    return raw


def _unescape(raw: bytes) -> str:
    if b"%" in raw:
        out = bytearray()
        i = 0
        while i < len(raw):
            if raw[i : i + 1] == b"%":
                out += bytes([int(raw[i + 1 : i + 3], 16)])
                i += 3
            else:
                out.append(raw[i])
                i += 1
        raw = bytes(out)
    return os.fsdecode(raw)


def sort_entries(entries: Iterable[TreeEntry]) -> list[TreeEntry]:
    """Canonical order: by the UTF-8 (filesystem-encoded) bytes of the path."""
    out = list(entries)
    if all(e.path.isascii() for e in out):
        out.sort(key=lambda e: e.path)  # same order as the bytes, cheaper
    else:
        out.sort(key=_sort_key)
    return out


def normalise(entries: Iterable[TreeEntry]) -> list[TreeEntry]:
    """Entries checked and sorted canonically; raises on duplicates, bad fields, or a path that
    lies under another entry (a file or symlink cannot also be a folder)."""
    out = sort_entries(entries)
    seen: set[str] = set()
    for e in out:
        check_path(e.path)
        if e.type not in MODES:
            raise InvalidTreeError(e.path, f"type {e.type!r} is not 'file' or 'symlink'")
        if e.mode not in MODES[e.type]:
            raise InvalidTreeError(e.path, f"mode {e.mode:o} is not one of {[oct(m) for m in MODES[e.type]]}")
        if not isinstance(e.size, int) or e.size < 0:
            raise InvalidTreeError(e.path, f"size {e.size!r} is not a non-negative integer")
        try:
            check_digest(e.digest)
        except InvalidDigestError as err:
            raise InvalidTreeError(e.path, str(err)) from None
        if e.path in seen:
            raise InvalidTreeError(e.path, "path listed twice")
        seen.add(e.path)
    for e in out:
        parts = e.path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in seen:
                raise UnsafePathError(e.path, f"it lies under {parent!r}, which the tree lists as a file or symlink")
    return out


def encode_manifest(entries: Iterable[TreeEntry], *, check: bool = True) -> bytes:
    """The canonical manifest bytes. `check=False` only sorts: for entries a folder walk made,
    which are valid by construction."""
    out = normalise(entries) if check else sort_entries(entries)
    return encode_rows([(e.path, e.type, e.mode, e.size, e.digest) for e in out])


def encode_rows(rows: list[tuple[str, str, int, int, str]]) -> bytes:
    """Manifest bytes of (path, type, mode, size, digest) rows already in canonical order."""
    lines = [TREE_MAGIC]
    for path, typ, mode, size, digest in rows:
        lines.append(f"{typ} {mode:o} {size} {digest} ".encode() + _escape(path) + b"\n")
    return b"".join(lines)


def decode_manifest(data: bytes, digest: str = "?") -> list[TreeEntry]:
    if not data.startswith(TREE_MAGIC):
        raise NotATreeError(digest)
    if not data.endswith(b"\n"):
        raise NotATreeError(digest, "the manifest does not end with a newline")
    entries = []
    for n, line in enumerate(data[len(TREE_MAGIC) : -1].split(b"\n") if len(data) > len(TREE_MAGIC) else [], 2):
        try:
            typ, mode, size, dig, path = line.split(b" ", 4)
            entries.append(TreeEntry(_unescape(path), typ.decode(), int(mode, 8), int(size), dig.decode()))
        except ValueError as e:
            raise NotATreeError(digest, f"line {n} is malformed ({e})") from None
    out = normalise(entries)
    if out != entries:
        raise NotATreeError(digest, "entries are not in canonical order")
    return out
