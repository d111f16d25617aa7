"""Puts that become durable together: `with store.together() as ws: ws.put_file(...); ws.snapshot(...)`.

Each `put_*` or `snapshot` of the store makes what it wrote durable before it returns: a pack
or a loose blob `fsync`ed, then its folder. Something that writes several of them before one
ledger event names them all (a step's logs, its outputs' blobs and their trees) pays that
once per put. A write set gathers all of them in one batch (store/batch.py): small blobs,
trees included, go into one pack, and leaving the `with` block makes the whole set durable
and visible at once (an `fsync` of the pack, one of `objects/packs/`; large blobs as in any
batch). An exception inside the block discards the set: nothing of it becomes visible.

Digests are returned at once, but the objects can be read only after the set is committed;
the caller records the event naming them after the `with` block.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from canalis.store.blob import check_digest
from canalis.store.tree import TreeEntry, encode_manifest


class WriteSet:
    def __init__(self, store):
        self._store = store
        self._batch = store._batch()
        self._open = True

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError("this write set was committed or discarded; open another with store.together()")

    def put_bytes(self, data: bytes) -> str:
        self._check_open()
        return self._store._put_data(data, self._batch)

    def put_tree(self, entries: Iterable[TreeEntry]) -> str:
        return self.put_bytes(encode_manifest(entries))

    def put_file(self, path, digest: str | None = None) -> str:
        """Like `LocalStore.put_file`: a file that no longer hashes to a given `digest` raises
        SnapshotError (nothing of it is added)."""
        self._check_open()
        if digest is not None:
            check_digest(digest)
        return self._store._put_path(os.fspath(path), os.stat(path).st_size, False, self._batch, digest)

    def snapshot(self, folder, *, ignore: bool = True, stat_cache: bool = False):
        """Like `LocalStore.snapshot` without the stat cache (its rows would name blobs that
        are not durable yet)."""
        from canalis.store.snapshot import snapshot

        if stat_cache:
            raise ValueError("a write set's snapshot does not use the stat cache; call store.snapshot for that")
        self._check_open()
        return snapshot(self._store, folder, ignore=ignore, stat_cache=False, batch=self._batch)

    def put_files(self, mapping: dict[str, Path]):
        from canalis.store.snapshot import put_files

        self._check_open()
        return put_files(self._store, mapping, batch=self._batch)

    def commit(self) -> None:
        """Make every object of the set durable and visible (one `fsync` per pack, one per folder)."""
        self._check_open()
        self._open = False
        try:
            self._batch.commit()
        except BaseException:  # a full disk: no temp file of the set is left holding space
            self._batch.discard()
            raise

    def discard(self) -> None:
        """Remove the temp files of the set: none of its objects becomes visible."""
        if self._open:
            self._open = False
            self._batch.discard()

    def __enter__(self) -> "WriteSet":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()
