"""LocalStore: the content-addressed store in one folder of the local filesystem.

    objects/ab/ab12...ef     blobs, named by the BLAKE3 digest of their uncompressed bytes
    objects/tmp/             temp files being written (renamed into place when complete)
    objects/cache/ab/...     decompressed, read-only copies that checkouts hard-link
    objects/quarantine/      blobs that `verify --repair` found corrupt
    objects/statcache.db     the stat cache of snapshots

See docs/store-format.md for the byte layout and the durability guarantee.
"""
from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import blake3

from canalis.store import blob as _blob
from canalis.store.blob import HEADER_SIZE, RAW, ZSTD, check_digest, pack_header, unpack_header
from canalis.store.errors import BlobNotFoundError, NotATreeError, SnapshotError, StoreError
from canalis.store.tree import TreeEntry, decode_manifest, encode_manifest

_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class SnapshotResult:
    """What `snapshot` / `put_files` made: the tree digest, file count, logical bytes, ignored
    entries, and how many files were read (`hashed`) versus taken from the stat cache (`cached`)."""

    tree: str
    files: int
    bytes: int
    ignored: int = 0
    hashed: int = 0
    cached: int = 0
    skipped: list = field(default_factory=list)


@dataclass
class VerifyReport:
    ok: bool
    checked: int
    corrupt: list = field(default_factory=list)  # digests
    temp_files: list = field(default_factory=list)  # paths of leftover temp files
    removed: list = field(default_factory=list)  # paths removed or quarantined by repair
    reasons: dict = field(default_factory=dict)  # digest -> what is wrong
    cache_corrupt: list = field(default_factory=list)  # checkout-cache files that were modified


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def syncfs(path: str) -> None:
    """Flush every dirty page and inode of the filesystem holding `path` (Linux syncfs(2))."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if fn(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


class LocalStore:
    """Blobs and trees in `objects_dir` (created if missing). Safe for several threads and
    processes at once: every blob is written to a temp file and renamed into place."""

    def __init__(self, objects_dir: str | os.PathLike):
        self.root = Path(objects_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = os.fspath(self.root.resolve())
        self._tmp = os.path.join(self._root, "tmp")
        os.makedirs(self._tmp, exist_ok=True)
        self._made_dirs: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalStore({self._root!r})"

    # -- paths ----------------------------------------------------------------------
    def path_of(self, digest: str) -> str:
        """Where blob `digest` lies (whether or not it exists)."""
        return os.path.join(self._root, digest[:2], digest)

    def _fanout(self, digest: str) -> str:
        d = os.path.join(self._root, digest[:2])
        if d not in self._made_dirs:
            os.makedirs(d, exist_ok=True)
            with self._lock:
                self._made_dirs.add(d)
        return d

    def _tmp_name(self) -> str:
        return os.path.join(self._tmp, f"{os.getpid()}-{secrets.token_hex(8)}.tmp")

    # -- writing --------------------------------------------------------------------
    def _write_body(self, compression: int, size: int, body, durable: bool) -> str:
        tmp = self._tmp_name()
        with open(tmp, "xb", buffering=0) as f:
            f.write(pack_header(compression, size))
            f.write(body)
            if durable:
                os.fsync(f.fileno())
        return tmp

    def _install(self, tmp: str, digest: str, durable: bool) -> None:
        d = self._fanout(digest)
        os.replace(tmp, os.path.join(d, digest))
        if durable:
            _fsync_dir(d)

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; returns its digest. A no-op (one `stat`) when the blob exists."""
        digest = _blob.hash_bytes(data)
        if not os.path.exists(self.path_of(digest)):
            compression, body = _blob.encode(data)
            self._install(self._write_body(compression, len(data), body, True), digest, True)
        return digest

    def _put_data(self, data: bytes, pending: dict) -> str:
        digest = _blob.hash_bytes(data)
        if not self._known(digest, pending):
            compression, body = _blob.encode(data)
            self._pend(pending, digest, self._write_body(compression, len(data), body, False))
        return digest

    def put_file(self, path: str | os.PathLike) -> str:
        """Store a file's content by streaming it (files larger than memory work)."""
        return self._put_path(os.fspath(path), os.stat(path).st_size, durable=True, pending=None)

    def _put_path(self, path: str, size: int, durable: bool, pending: dict | None) -> str:
        if size <= _blob.SMALL_FILE:
            with open(path, "rb", buffering=0) as f:
                data = f.read()
            digest = _blob.hash_bytes(data)
            if self._known(digest, pending):
                return digest
            compression, body = _blob.encode(data)
            tmp = self._write_body(compression, len(data), body, durable)
        else:
            digest = _blob.hash_path(path, size)
            if self._known(digest, pending):
                return digest
            tmp = self._stream_to_temp(path, digest, durable)
        if pending is None:
            self._install(tmp, digest, durable)
        else:
            self._pend(pending, digest, tmp)
        return digest

    def _known(self, digest: str, pending: dict | None) -> bool:
        return (pending is not None and digest in pending) or os.path.exists(self.path_of(digest))

    def _pend(self, pending: dict, digest: str, tmp: str) -> None:
        with self._lock:
            if digest in pending:
                os.unlink(tmp)
            else:
                pending[digest] = tmp

    def _stream_to_temp(self, path: str, digest: str, durable: bool) -> str:
        """Compress a big file into a temp file, checking it still hashes to `digest`."""
        import zstandard

        tmp = self._tmp_name()
        check = blake3.blake3(max_threads=blake3.blake3.AUTO)
        try:
            with open(path, "rb") as src, open(tmp, "xb") as out:
                head = src.read(1 << 20)
                sample = _blob.compressor().compress(head)
                compress = _blob.pays(len(sample), len(head))
                out.write(pack_header(ZSTD if compress else RAW, 0))
                if compress:
                    cctx = zstandard.ZstdCompressor(level=_blob.ZSTD_LEVEL, threads=os.cpu_count() or 1)
                    w = cctx.stream_writer(out, closefd=False)
                else:
                    w = out
                n = 0
                chunk = head
                while chunk:
                    check.update(chunk)
                    w.write(chunk)
                    n += len(chunk)
                    chunk = src.read(_blob.CHUNK)
                if compress:
                    w.flush(zstandard.FLUSH_FRAME)
                out.seek(0)
                out.write(pack_header(ZSTD if compress else RAW, n))
                stored = out.seek(0, 2)
                if compress and not _blob.pays(stored - HEADER_SIZE, n):
                    out.seek(0)
                    out.truncate()
                    out.write(pack_header(RAW, n))
                    src.seek(0)
                    check = blake3.blake3(max_threads=blake3.blake3.AUTO)
                    while chunk := src.read(_blob.CHUNK):
                        check.update(chunk)
                        out.write(chunk)
                out.flush()
                if durable:
                    os.fsync(out.fileno())
            if check.hexdigest() != digest:
                raise SnapshotError(path, "the file changed while it was being stored; snapshot it again")
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return tmp

    def _commit(self, pending: dict) -> None:
        """Make a batch of temp files durable, then visible: one syncfs, renames, one syncfs."""
        if not pending:
            return
        syncfs(self._tmp)
        for digest, tmp in pending.items():
            self._install(tmp, digest, False)
        syncfs(self._root)
        pending.clear()

    def _discard(self, pending: dict) -> None:
        for tmp in pending.values():
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        pending.clear()

    # -- reading --------------------------------------------------------------------
    def exists(self, digest: str) -> bool:
        return os.path.exists(self.path_of(check_digest(digest)))

    def _existing(self, digest: str) -> str:
        p = self.path_of(check_digest(digest))
        if not os.path.exists(p):
            raise BlobNotFoundError(digest, self._root)
        return p

    def get_bytes(self, digest: str, verify: bool = False) -> bytes:
        try:
            return _blob.read_all(self.path_of(check_digest(digest)), digest, verify)
        except FileNotFoundError:
            raise BlobNotFoundError(digest, self._root) from None

    def open(self, digest: str, verify: bool = False) -> BinaryIO:
        """A streaming reader of the uncompressed bytes (verify: raise CorruptBlobError at EOF
        if they do not hash to `digest`)."""
        try:
            return _blob.BlobReader(self.path_of(check_digest(digest)), digest, verify)  # type: ignore[return-value]
        except FileNotFoundError:
            raise BlobNotFoundError(digest, self._root) from None

    def size(self, digest: str) -> int:
        p = self._existing(digest)
        with open(p, "rb") as f:
            return unpack_header(f.read(HEADER_SIZE), digest)[1]

    def stored_size(self, digest: str) -> int:
        return os.stat(self._existing(digest)).st_size

    # -- trees ----------------------------------------------------------------------
    def put_tree(self, entries: Iterable[TreeEntry]) -> str:
        return self.put_bytes(encode_manifest(entries))

    def get_tree(self, digest: str) -> list[TreeEntry]:
        with self.open(digest) as f:
            head = f.read(15)
            if head != b"canalis-tree 1\n":
                raise NotATreeError(digest)
            data = head + f.read()
        return decode_manifest(data, digest)

    # -- folders ----------------------------------------------------------------------
    def snapshot(self, folder, *, ignore: bool = True, progress: bool = False, stat_cache: bool = True) -> SnapshotResult:
        """Store a folder as a tree. `stat_cache=False` for folders snapshotted once and then
        deleted (a step's outputs): their entries would only grow the cache."""
        from canalis.store.snapshot import snapshot

        return snapshot(self, folder, ignore=ignore, progress=progress, stat_cache=stat_cache)

    def put_files(self, mapping: dict[str, Path]) -> SnapshotResult:
        from canalis.store.snapshot import put_files

        return put_files(self, mapping)

    def checkout(self, tree: str, dest, *, readonly: bool = True, link: bool | None = None) -> None:
        from canalis.store.checkout import checkout

        checkout(self, tree, dest, readonly=readonly, link=link)

    def checkout_file(self, digest: str, dest_path, *, readonly: bool = True, link: bool | None = None) -> None:
        from canalis.store.checkout import checkout_file

        checkout_file(self, digest, dest_path, readonly=readonly, link=link)

    # -- housekeeping -------------------------------------------------------------------
    def iter_objects(self) -> Iterator[str]:
        """Every blob digest in the store (trees included; temp, cache and quarantine excluded)."""
        for d in sorted(os.scandir(self._root), key=lambda e: e.name):
            if len(d.name) == 2 and set(d.name) <= _HEX and d.is_dir(follow_symlinks=False):
                for f in sorted(os.listdir(d.path)):
                    if len(f) == 64 and f.startswith(d.name) and set(f) <= _HEX:
                        yield f

    def delete(self, digest: str) -> None:
        """Remove a blob (only garbage collection calls this). Missing blobs are ignored."""
        for p in (self.path_of(check_digest(digest)), *self._cache_paths(digest)):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    def _cache_paths(self, digest: str) -> tuple[str, str]:
        base = os.path.join(self._root, "cache", digest[:2], digest)
        return base, base + ".x"

    def stats(self) -> dict:
        objects = logical = stored = 0
        for digest in self.iter_objects():
            p = self.path_of(digest)
            try:
                with open(p, "rb") as f:
                    _, size = unpack_header(f.read(HEADER_SIZE), digest)
                    stored += os.fstat(f.fileno()).st_size
            except (FileNotFoundError, StoreError):
                continue
            objects += 1
            logical += size
        return {
            "objects": objects,
            "logical_bytes": logical,
            "stored_bytes": stored,
            "ratio": round(logical / stored, 3) if stored else 1.0,
        }

    def verify(self, repair: bool = False, grace_seconds: float = 3600) -> VerifyReport:
        from canalis.store.verify import verify

        return verify(self, repair=repair, grace_seconds=grace_seconds)
