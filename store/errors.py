"""Errors raised by canalis.store. Each message names the thing and says what to do.

The store imports nothing from the face, so these derive from `StoreError`, not from
`canalis.errors.CanalisError`; the CLI turns both into one-line messages.
"""
from __future__ import annotations


class StoreError(Exception):
    """Base of every error of the content-addressed store."""


class InvalidDigestError(StoreError, ValueError):
    def __init__(self, digest: object):
        self.digest = digest
        super().__init__(
            f"{digest!r} is not a blob address; an address is 64 lowercase hex digits (a BLAKE3 digest)"
        )


class BlobNotFoundError(StoreError, KeyError):
    def __init__(self, digest: str, objects_dir: object = None):
        self.digest = digest
        where = f" in {objects_dir}" if objects_dir else ""
        super().__init__(
            f"blob {digest} is not in the store{where}; put it again, or check the digest "
            f"(`canalis store stats`, `canalis store verify`)"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class CorruptBlobError(StoreError):
    """A blob whose bytes do not hash to its name, or whose header or body is damaged."""

    def __init__(self, digest: str, reason: str, path: object = None):
        self.digest = digest
        self.reason = reason
        self.path = path
        super().__init__(
            f"blob {digest} is corrupt ({reason}); run `canalis store verify --repair` to quarantine "
            f"it, then put the original content again"
        )


class UnsupportedFormatError(StoreError):
    def __init__(self, digest: str, version: int, known: int):
        self.digest = digest
        self.version = version
        super().__init__(
            f"blob {digest} has store format version {version}; this canalis reads version {known}. "
            f"Use a canalis release that knows format {version}."
        )


class NotATreeError(StoreError):
    def __init__(self, digest: str, reason: str = "it does not start with the tree header"):
        self.digest = digest
        super().__init__(
            f"{digest} is not a tree ({reason}); pass the digest printed by `canalis store snapshot`"
        )


class InvalidTreeError(StoreError):
    """A tree manifest or a list of entries that breaks the rules (duplicates, bad fields)."""

    def __init__(self, what: str, reason: str):
        self.what = what
        super().__init__(f"tree {what} is invalid: {reason}")


class UnsafePathError(StoreError):
    """A manifest path or symlink that would make a checkout write or point outside its folder."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(
            f"refusing path {path!r}: {reason}; the tree may be crafted or damaged, nothing was written "
            f"outside the checkout folder"
        )


class CheckoutTargetError(StoreError):
    def __init__(self, dest: object, reason: str):
        self.dest = dest
        super().__init__(f"cannot check out into {dest}: {reason}")


class SnapshotError(StoreError):
    def __init__(self, folder: object, reason: str):
        self.folder = folder
        super().__init__(f"cannot snapshot {folder}: {reason}")


class CorruptPackError(StoreError):
    """A pack file whose head, trailer or index is damaged (its blobs cannot be located)."""

    def __init__(self, path: object, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(
            f"pack {path} is damaged ({reason}); run `canalis store verify --repair` to move it to "
            f"the quarantine, then put the content again"
        )


class DigestPrefixError(StoreError, ValueError):
    """A digest prefix that names no blob, or more than one (`candidates` lists some)."""

    def __init__(self, prefix: str, candidates: list[str] | None = None, shown: int = 8):
        self.prefix = prefix
        self.candidates = list(candidates or [])
        if not self.candidates:
            msg = (f"no blob or tree in the store starts with {prefix!r}; check the digest "
                   "(`canalis show RUN --json` and `canalis store ls TREE` print whole digests)")
        else:
            more = " ..." if len(self.candidates) > shown else ""
            msg = (f"{prefix!r} is the beginning of more than one digest ({', '.join(self.candidates[:shown])}{more}); "
                   "give more of it")
        super().__init__(msg)
