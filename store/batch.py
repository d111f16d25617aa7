"""A batch of blobs written together (one snapshot, one `put_files`), made durable together.

Small blobs are appended to pack files; large ones are written as loose temp files. Nothing
is visible until `commit`, which makes every temp file durable, renames them all into place,
makes the renames durable, and then records the packs in the pack index. `discard` removes
the temp files of a batch that failed. A crash at any point leaves complete blobs or temp
files, never a partial blob under a real name.
"""
from __future__ import annotations

import os
import threading

from canalis.store.blob import pack_header
from canalis.store.durable import fsync_path, make_durable, start_writeback
from canalis.store.pack import PACK_TARGET, SUFFIX, PackWriter
from canalis.store.stagetimes import timed

#: with more files than this to sync, one syncfs(2) is cheaper than an fsync each
FSYNC_EACH_MAX = 8
#: the write-back of a pack's bytes is started each time this many more are written
WRITEBACK_STEP = 8 << 20


class Batch:
    def __init__(self, store):
        self.store = store
        self.loose: dict[str, str] = {}  # digest -> temp file
        self.packed: set[str] = set()
        self.heads: dict[str, str] = {}  # chunk list -> its first chunk, noted in the pack index at commit
        self._open: PackWriter | None = None
        self._full: list[PackWriter] = []
        self._lock = threading.Lock()
        self._syncing: dict[str, object] = {}  # temp path of a full pack -> its fsync, started early
        self._sync_pool = None
        self._kicked = 0  # bytes of the open pack whose write-back was started

    def __contains__(self, digest: str) -> bool:
        return digest in self.loose or digest in self.packed

    def __len__(self) -> int:
        return len(self.loose) + len(self.packed)

    def add_loose(self, digest: str, tmp: str) -> None:
        with self._lock:
            if digest in self:
                os.unlink(tmp)
            else:
                self.loose[digest] = tmp

    def note_head(self, chunk_list: str, head: str) -> None:
        """Chunk list `chunk_list` (in this batch or stored already) starts with chunk `head`:
        a hint where a later version of the file finds it (store/earlier.py)."""
        with self._lock:
            self.heads[chunk_list] = head

    def add_packed(self, digest: str, compression: int, size: int, body) -> None:
        header = pack_header(compression, size)
        with self._lock:
            if digest in self:
                return
            if self._open is None:
                self._open = PackWriter(self.store._tmp_name())
            self._open.add(digest, header, body)
            self.packed.add(digest)
            if self._open.size >= PACK_TARGET:
                self._open.finish()
                self._full.append(self._open)
                self._sync_early(self._open.tmp_path)
                self._open, self._kicked = None, 0
            elif self._open.size - self._kicked >= WRITEBACK_STEP:
                self._writeback_early(self._open)

    def _in_background(self, stage: str, fn, *args):
        """Run fn(*args) in the batch's one background thread (in the order handed over)."""
        if self._sync_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._sync_pool = ThreadPoolExecutor(1)
        return self._sync_pool.submit(timed, stage, fn, *args)

    def _writeback_early(self, w: PackWriter) -> None:
        """Start the write-back of what was added to the open pack since the last time (left
        alone, the kernel writes dirty pages some time later): the disk writes while the
        batch goes on, and the fsync of the full pack finds little left to do."""
        size = w.written()
        self._in_background("write-back (early)", start_writeback, w.tmp_path, self._kicked, size - self._kicked)
        self._kicked = size

    def _sync_early(self, tmp: str) -> None:
        """Start the fsync of a full pack now, in the background, so that the disk writes it
        while the batch goes on (a large file fills many packs); `commit` waits for it. The
        pack stays in the page cache: the next step of a pipeline often checks it out at once."""
        self._syncing[tmp] = self._in_background("fsync (early)", fsync_path, tmp)

    def _wait_syncs(self) -> set:
        done = set()
        for tmp, fut in self._syncing.items():
            fut.result()
            done.add(tmp)
        if self._sync_pool is not None:
            self._sync_pool.shutdown()
            self._sync_pool = None
        self._syncing = {}
        return done

    def _writers(self) -> list[PackWriter]:
        return self._full + ([self._open] if self._open is not None else [])

    def commit(self) -> None:
        timed("commit", self._commit)

    def _commit(self) -> None:
        if self._open is not None:
            self._open.finish()
            self._full.append(self._open)
            self._open, self._kicked = None, 0
        packs = self._full
        temps = [w.tmp_path for w in packs] + list(self.loose.values())
        heads, self.heads = self.heads, {}
        if not temps:
            self.store._index.note_heads(heads)
            return
        store = self.store
        for w in packs:
            w.close()
        synced = self._wait_syncs()
        make_durable([t for t in temps if t not in synced], store._tmp, FSYNC_EACH_MAX)  # the bytes first ...
        folders = set()
        if packs:
            os.makedirs(store._packs, exist_ok=True)
            folders.add(store._packs)
        for w in packs:
            os.replace(w.tmp_path, os.path.join(store._packs, w.name + SUFFIX))
        for digest, tmp in self.loose.items():
            folders.add(store._install(tmp, digest, False))
        make_durable(folders, store._root, FSYNC_EACH_MAX)  # ... then the names
        for w in packs:
            store._index.add(w.name, w.entries, w.size)
        store._index.note_heads(heads)  # after the lists are in place: a hint never names a list not yet there
        self._full, self.loose, self.packed = [], {}, set()

    def discard(self) -> None:
        try:
            self._wait_syncs()
        except OSError:
            pass
        for w in self._writers():
            w.close()
        for tmp in [w.tmp_path for w in self._writers()] + list(self.loose.values()):
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        self._open, self._full, self.loose, self.packed, self.heads = None, [], {}, set(), {}
        self._kicked = 0
