"""The interface the rest of canalis programs against. `LocalStore` is its local
implementation; a remote one (e.g. over fsspec) implements the same methods and the
executor does not change.

`Store` holds exactly what the executor and the face call (tests/store/test_protocol.py
checks that nothing outside `store/` calls more, and that `LocalStore` satisfies it):

- writing: `put_bytes`, `put_file`, `put_files` (chosen files), `put_tree`, `snapshot` (a folder),
  `together` (a write set: several puts made durable at once);
- reading: `exists`, `present` (which of many), `size`, `get_bytes`, `open` (streaming), `get_tree`;
- materialising: `checkout` (a tree into a folder), `checkout_file`;
- housekeeping, for garbage collection and audits: `object_info`, `delete_many`, `verify`,
  `chunk_digests` (the chunks a kept chunked file needs), `upgrade` (older formats' large blobs to chunked),
  `compress_packs` (compress chunks a put stored raw).

The `canalis store` commands also use `stored_size` and `stats`, which describe the local
layout, so they are `LocalStore`'s own.
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Iterable, Iterator, Protocol, runtime_checkable

from canalis.store.tree import TreeEntry


@runtime_checkable
class Store(Protocol):
    # writing
    def put_bytes(self, data: bytes) -> str: ...
    def put_file(self, path, digest: str | None = None) -> str: ...
    def put_files(self, mapping: dict[str, Path]): ...
    def put_tree(self, entries: Iterable[TreeEntry]) -> str: ...
    def snapshot(self, folder, *, ignore: bool = True, progress: bool = False, stat_cache: bool = True): ...
    def together(self): ...  # a WriteSet: puts made durable and visible together (store/writeset.py)

    # reading
    def resolve_prefix(self, prefix: str) -> str: ...  # the one digest starting with prefix (DigestPrefixError)
    def exists(self, digest: str) -> bool: ...
    def present(self, digests: list[str]) -> set[str]: ...
    def size(self, digest: str) -> int: ...
    def get_bytes(self, digest: str, verify: bool = False) -> bytes: ...
    def open(self, digest: str, verify: bool = False) -> BinaryIO: ...
    def get_tree(self, digest: str) -> list[TreeEntry]: ...

    # materialising
    def checkout(self, tree: str, dest, *, readonly: bool = True) -> None: ...
    def checkout_file(self, digest: str, dest_path, *, readonly: bool = True) -> None: ...

    # housekeeping
    def object_info(self) -> Iterator: ...  # ObjectInfo(digest, stored_bytes, mtime, pack) per blob
    def delete_many(self, digests: Iterable[str]) -> int: ...
    def verify(self, repair: bool = False, grace_seconds: float = 3600, deep: bool = False): ...
    def chunk_digests(self, digests: Iterable[str]) -> list[str]: ...  # chunks of those stored chunked
    def upgrade(self) -> list[str]: ...  # whole blobs over CHUNKED_MIN rewritten chunked, same digests
    def compress_packs(self) -> tuple[int, int]: ...  # raw packed chunks compressed: (records, bytes saved)

    # a process closes its store before it exits: its databases closed in turn with other
    # processes' (store/sqlite_wal.py); a store used afterwards opens them again
    def close(self) -> None: ...
