"""LocalStore: the content-addressed store in one folder of the local filesystem.

    objects/ab/ab12...ef     loose blobs, named by the BLAKE3 digest of their uncompressed bytes
    objects/packs/*.pack     pack files: small blobs stored by a snapshot, many per file
    objects/packindex.db     where each packed blob lies (derived from the packs)
    objects/tmp/             temp files being written (renamed into place when complete)
    objects/cache/ab/...     decompressed, read-only copies that checkouts hard-link
    objects/quarantine/      blobs that `verify --repair` found corrupt
    objects/statcache.db     the stat cache of snapshots

See docs/store-format.md for the byte layout and the durability guarantee.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterable, Iterator

from canalis.store import blob as _blob
from canalis.store import pack as _pack
from canalis.store.blob import HEADER_SIZE, check_digest, pack_header, unpack_header
from canalis.store.durable import fsync_path, syncfs  # noqa: F401  (syncfs: re-exported)
from canalis.store.errors import (
    BlobNotFoundError, DigestPrefixError, InvalidDigestError, NotATreeError, SnapshotError, StoreError,
)
from canalis.store.frozen import FrozenValue
from canalis.store.packindex import PackIndex
from canalis.store.stagetimes import report, timed
from canalis.store.tree import TREE_MAGIC, TreeEntry, decode_manifest, encode_manifest


class _Chunked:
    """store/chunked.py (large files as chunks), imported when a file is large enough or a
    chunked blob is read: a store that holds small files only never loads it. Each name is
    read from the module when used (so a test that scales its sizes scales them here too)."""

    def __getattr__(self, name):
        from canalis.store import chunked

        return getattr(chunked, name)


_chunked = _Chunked()

if TYPE_CHECKING:  # built where they are made; imported lazily by the methods that make them
    from canalis.store.batch import Batch
    from canalis.store.snapshot import SnapshotResult
    from canalis.store.verify import VerifyReport

_HEX = frozenset("0123456789abcdef")


class Location(FrozenValue):
    """Where a blob lies: a loose file (`pack` None, the whole file), or a record of
    `length` bytes at `offset` in pack file `path`. Frozen (store/frozen.py)."""

    _fields = ("digest", "path", "offset", "length", "pack")
    digest: str
    path: str
    offset: int
    length: int | None
    pack: str | None

    def __init__(self, digest: str, path: str, offset: int, length: int | None, pack: str | None = None):
        self.__dict__.update(digest=digest, path=path, offset=offset, length=length, pack=pack)


class ObjectInfo(FrozenValue):
    """A stored blob: its digest, stored size, modification time and pack (None: a loose file)."""

    _fields = ("digest", "stored_bytes", "mtime", "pack")
    digest: str
    stored_bytes: int
    mtime: float
    pack: str | None

    def __init__(self, digest: str, stored_bytes: int, mtime: float, pack: str | None):
        self.__dict__.update(digest=digest, stored_bytes=stored_bytes, mtime=mtime, pack=pack)


def _write_all(f, data) -> None:
    """Write all of `data` to unbuffered file `f`: a raw write may write only part of it (a
    nearly full disk does that without an error); the next attempt then raises ENOSPC."""
    view = memoryview(data).cast("B")
    while view:
        view = view[f.write(view):]


#: when a large file's chunks are compressed: as they are stored, or later (`compress_packs`)
CHUNK_COMPRESSION = ("put", "later")


def _packed_tree(record: bytes, digest: str, path: str) -> list[TreeEntry]:
    """The entries of the tree a pack record holds (NotATreeError when it holds another blob)."""
    data = _blob.decode(record, digest, False, path)
    if not data.startswith(TREE_MAGIC):
        raise NotATreeError(digest)
    return decode_manifest(data, digest)


class LocalStore:
    """Blobs and trees in `objects_dir` (created if missing). Safe for several threads and
    processes at once: every blob or pack is written to a temp file and renamed into place.
    Single puts write loose blobs; batches (snapshot, put_files) put small blobs in packs."""

    def __init__(self, objects_dir: str | os.PathLike, chunk_compression: str = "put"):
        if chunk_compression not in CHUNK_COMPRESSION:
            raise StoreError(f"chunk compression {chunk_compression!r} is not one of {', '.join(CHUNK_COMPRESSION)}; "
                             "set store.chunk_compression in .canalis/config.json to one of them")
        #: "put": a large file's chunks are compressed as they are stored; "later": stored raw
        #: (a large file enters the store at the speed of the disk) and compressed by
        #: `compress_packs`, which garbage collection runs
        self.chunk_compression = chunk_compression
        self.root = Path(objects_dir)
        self.root.mkdir(parents=True, exist_ok=True)
        self._root = os.fspath(self.root.resolve())
        self._tmp = os.path.join(self._root, "tmp")
        os.makedirs(self._tmp, exist_ok=True)
        self._packs = os.path.join(self._root, "packs")
        self._index = PackIndex(os.path.join(self._root, "packindex.db"), self._packs)
        self._made_dirs: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalStore({self._root!r})"

    def close(self) -> None:
        """Close the pack index's database (`objects/packindex.db`), in turn with other processes
        (store/sqlite_wal.py): the last to close removes its `-wal` and `-shm` files. A process
        closes its store before it exits; a store used after closing opens the index again."""
        self._index.close()

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
        return os.path.join(self._tmp, f"{os.getpid()}-{os.urandom(8).hex()}.tmp")  # what secrets.token_hex reads, without its hmac

    # -- writing --------------------------------------------------------------------
    def _write_body(self, compression: int, size: int, body, durable: bool, version: int = _blob.BLOB_VERSION) -> str:
        tmp = self._tmp_name()
        try:
            with open(tmp, "xb", buffering=0) as f:
                _write_all(f, pack_header(compression, size, version))
                _write_all(f, body)
                if durable:
                    os.fsync(f.fileno())
        except BaseException:  # a full disk: leave no half-written temp file holding space
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return tmp

    def _install(self, tmp: str, digest: str, durable: bool) -> str:
        d = self._fanout(digest)
        os.replace(tmp, os.path.join(d, digest))
        if durable:
            fsync_path(d)
        return d

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; returns its digest. A no-op (one `stat`) when the blob exists."""
        digest = _blob.hash_bytes(data)
        if not self._known(digest, None):
            compression, body = _blob.encode(data)
            self._install(self._write_body(compression, len(data), body, True), digest, True)
        return digest

    def _batch(self) -> Batch:
        from canalis.store.batch import Batch  # a process that writes nothing (a reused submit) does without

        return Batch(self)

    def _put_data(self, data: bytes, batch: Batch) -> str:
        digest = _blob.hash_bytes(data)
        if not self._known(digest, batch):
            self._add_new(digest, data, batch)
        return digest

    def _add_new(self, digest: str, data: bytes, batch: Batch) -> None:
        """Compress `data` (when it pays) into the batch: packed when small, else a loose temp file."""
        compression, body = _blob.encode(data)
        if len(data) < _pack.PACKABLE:
            batch.add_packed(digest, compression, len(data), body)
        else:
            batch.add_loose(digest, self._write_body(compression, len(data), body, False))

    def put_file(self, path: str | os.PathLike, digest: str | None = None) -> str:
        """Store a file's content by streaming it (files larger than memory work). The file is
        read once; one larger than CHUNKED_MIN is stored as chunks and a chunk list. A caller
        that hashed the bytes as it wrote them may pass `digest`: a file that no longer hashes
        to it raises SnapshotError and stores nothing under that name."""
        if digest is not None:
            check_digest(digest)
        return self._put_path(os.fspath(path), os.stat(path).st_size, durable=True, batch=None, digest=digest)

    def _put_path(self, path: str, size: int, durable: bool, batch: Batch | None, digest: str | None = None) -> str:
        if size > _chunked.CHUNKED_MIN:
            return self._put_chunked(path, batch, digest)
        with open(path, "rb", buffering=0) as f:
            data = f.read()
        if len(data) > _chunked.CHUNKED_MIN:  # grew since it was stat'ed
            return self._put_chunked(path, batch, digest)
        if batch is not None and digest is None:
            return self._put_data(data, batch)
        found = _blob.hash_bytes(data)
        if digest is not None and found != digest:
            raise SnapshotError(path, "the file changed while it was being stored; snapshot it again")
        if self._known(found, batch):
            return found
        if batch is not None:
            self._add_new(found, data, batch)
            return found
        compression, body = _blob.encode(data)
        self._install(self._write_body(compression, len(data), body, durable), found, durable)
        return found

    def _put_chunked(self, path: str, batch: Batch | None, digest: str | None) -> str:
        """A large file as chunks and a chunk list, in `batch` or (a single put) in a batch of
        its own committed here."""
        if batch is not None:
            return _chunked.ingest(self, path, batch, digest)
        own = self._batch()
        try:
            found = timed("total", self._ingest_commit, path, own, digest)
        except BaseException:
            own.discard()
            raise
        report()
        return found

    def _ingest_commit(self, path: str, batch: Batch, digest: str | None) -> str:
        found = _chunked.ingest(self, path, batch, digest)
        batch.commit()
        return found

    def _put_group(self, group: list[tuple[str, int]], batch: Batch) -> list[str]:
        """Store a group of files in a batch: a large file streams on its own; small files
        are read and hashed, one index query tells which are new, and only those are
        compressed and packed."""
        if len(group) == 1 and group[0][1] >= _pack.PACKABLE:
            return [self._put_path(group[0][0], group[0][1], False, batch)]
        datas = []
        for path, _ in group:
            with open(path, "rb", buffering=0) as f:
                datas.append(f.read())
        digests = [_blob.hash_bytes(data) for data in datas]
        known = self.present([d for d in set(digests) if d not in batch])
        for digest, data in zip(digests, datas):
            if digest not in known and digest not in batch:
                self._add_new(digest, data, batch)
                known.add(digest)
        return digests

    def _known(self, digest: str, batch: Batch | None) -> bool:
        """Stored already (or in this batch)? A pack another process wrote a moment ago may
        be missed; storing the blob twice is harmless."""
        return (
            (batch is not None and digest in batch)
            or os.path.exists(self.path_of(digest))
            or self._index.locate(digest) is not None
        )

    # -- reading --------------------------------------------------------------------
    def resolve_prefix(self, prefix: str, limit: int = 9) -> str:
        """The whole digest of the one blob whose digest starts with `prefix` (lowercase hex);
        a whole digest is returned as it is, present or not. Raises DigestPrefixError naming
        the candidates (up to `limit`) when there are several, or saying there is none."""
        p = (prefix or "").strip().lower()
        if len(p) == 64:
            return check_digest(p)
        if not p or not set(p) <= _HEX or len(p) > 64:
            raise InvalidDigestError(prefix)
        found: list[str] = []
        folders = [p[:2]] if len(p) >= 2 else [p + x for x in sorted(_HEX)]
        for folder in folders:
            try:
                names = sorted(os.listdir(os.path.join(self._root, folder)))
            except FileNotFoundError:
                continue
            found += [n for n in names if len(n) == 64 and n.startswith(p)]
        self._index.refresh(force=True)
        found += [d for d, _, _, _ in self._index.entries() if d.startswith(p)]
        found = sorted(set(found))
        if len(found) != 1:
            raise DigestPrefixError(p, found[:limit])
        return found[0]

    def exists(self, digest: str) -> bool:
        return self._where(check_digest(digest)) is not None

    def present(self, digests: list[str]) -> set[str]:
        """The subset of `digests` that is in the store (one query for the packed ones)."""
        found = self._index.present(digests)
        for d in digests:
            if d not in found and os.path.exists(self.path_of(d)):
                found.add(d)
        return found

    def _where(self, digest: str) -> Location | None:
        path = self.path_of(digest)
        if os.path.exists(path):
            return Location(digest, path, 0, None)
        hit = self._index.locate(digest)
        if hit is None and self._index.refresh():  # a pack another process just wrote?
            hit = self._index.locate(digest)
        if hit is None:
            return None
        return Location(digest, self._index.path_of(hit[0]), hit[1], hit[2], hit[0])

    def locate(self, digest: str) -> Location:
        """Where blob `digest` lies: its loose file, or a pack, offset and record length."""
        where = self._where(check_digest(digest))
        if where is None:
            raise BlobNotFoundError(digest, self._root)
        return where

    def _record(self, digest: str) -> tuple[Location, bytes | None]:
        """The location of a blob and, when packed, its record's bytes. A pack that garbage
        collection rewrote between lookup and read is looked up again."""
        for attempt in (1, 2):
            where = self.locate(digest)
            if where.pack is None:
                return where, None
            try:
                return where, _pack.read_record(where.path, where.offset, where.length)
            except FileNotFoundError:
                if attempt == 2:
                    raise BlobNotFoundError(digest, self._root) from None
                self._index.refresh(force=True)
        raise AssertionError("unreachable")

    def get_bytes(self, digest: str, verify: bool = False) -> bytes:
        where, record = self._record(digest)
        try:
            if record is not None:
                return _blob.decode(record, digest, verify, where.path)
            with open(where.path, "rb", buffering=0) as f:
                raw = f.read()
            if raw[5:6] == bytes([_blob.CHUNKED]) and len(raw) >= HEADER_SIZE:
                with self.open(digest, verify) as r:
                    return r.read()
            return _blob.decode(raw, digest, verify, where.path)
        except FileNotFoundError:
            raise BlobNotFoundError(digest, self._root) from None

    def open(self, digest: str, verify: bool = False) -> BinaryIO:
        """A streaming reader of the uncompressed bytes (verify: raise CorruptBlobError at EOF
        if they do not hash to `digest`)."""
        where, record = self._record(digest)
        try:
            return _blob.BlobReader(where.path, digest, verify, record, self._chunk_opener)  # type: ignore[return-value]
        except FileNotFoundError:
            raise BlobNotFoundError(digest, self._root) from None

    def _chunk_opener(self, digest: str):
        return self.open(digest)

    def chunks(self, digest: str) -> list[tuple[str, int]]:
        """The (digest, size) of each chunk of blob `digest` when it is stored chunked, else
        [] (also when it is missing). Garbage collection keeps these with their file."""
        try:
            where, record = self._record(check_digest(digest))
        except BlobNotFoundError:
            return []
        if record is not None:
            return []  # chunk lists are always loose
        try:
            with open(where.path, "rb") as f:
                compression, size = unpack_header(f.read(HEADER_SIZE), digest)
                if compression != _blob.CHUNKED:
                    return []
                return _chunked.decode_list(f.read(), digest, size)
        except FileNotFoundError:
            return []

    def size(self, digest: str) -> int:
        where, record = self._record(digest)
        if record is not None:
            return unpack_header(record[:HEADER_SIZE], digest)[1]
        with open(where.path, "rb") as f:
            return unpack_header(f.read(HEADER_SIZE), digest)[1]

    def stored_size(self, digest: str) -> int:
        where = self.locate(digest)
        return where.length if where.pack is not None else os.stat(where.path).st_size

    # -- trees ----------------------------------------------------------------------
    def put_tree(self, entries: Iterable[TreeEntry]) -> str:
        return self.put_bytes(encode_manifest(entries))

    def get_tree(self, digest: str) -> list[TreeEntry]:
        where, record = self._record(digest)
        if record is not None:  # a packed manifest is small: decoded whole, without a stream reader
            return _packed_tree(record, digest, where.path)
        with self.open(digest) as f:
            head = f.read(15)
            if head != b"canalis-tree 1\n":
                raise NotATreeError(digest)
            data = head + f.read()
        return decode_manifest(data, digest)

    def get_trees(self, digests: Iterable[str]) -> dict[str, list[TreeEntry]]:
        """The entries of the packed trees among `digests`, as `get_tree` reads them, located
        in one query rather than one each (a run's reuse check reads every step's output trees).
        A tree not read here is left out, for the caller to read with `get_tree`, which says
        why (missing, not a tree ...) or finds it where this does not look (loose, or in a
        pack another process wrote since the index was read)."""
        # a loose copy is the one `get_tree` reads: such a tree is left to it
        wanted = [d for d in dict.fromkeys(digests) if not os.path.exists(self.path_of(d))]
        found: dict[str, list[TreeEntry]] = {}
        if not wanted:
            return found
        for digest, (pack, offset, length) in self._index.locate_many(wanted).items():
            path = self._index.path_of(pack)
            try:
                found[digest] = _packed_tree(_pack.read_record(path, offset, length), digest, path)
            except (OSError, StoreError):  # a pack rewritten since, a damaged record, not a tree: get_tree says
                continue
        return found

    # -- folders ----------------------------------------------------------------------
    def snapshot(self, folder, *, ignore: bool = True, progress: bool = False, stat_cache: bool = True,
                 workers: int | None = None) -> SnapshotResult:
        """Store a folder as a tree. `stat_cache=False` for folders snapshotted once and then
        deleted (a step's outputs): their entries would only grow the cache. `workers`: hashing
        threads (default one per core)."""
        from canalis.store.snapshot import snapshot

        return snapshot(self, folder, ignore=ignore, progress=progress, stat_cache=stat_cache, workers=workers)

    def together(self):
        """A write set (store/writeset.py): what is put through it becomes durable and visible
        together when its `with` block ends (one pack, one `fsync` of it and one of `packs/`)."""
        from canalis.store.writeset import WriteSet

        return WriteSet(self)

    def put_files(self, mapping: dict[str, Path], workers: int | None = None) -> SnapshotResult:
        from canalis.store.snapshot import put_files

        return put_files(self, mapping, workers=workers)

    def checkout(self, tree: str, dest, *, readonly: bool = True, link: bool | None = None) -> None:
        from canalis.store.checkout import checkout

        checkout(self, tree, dest, readonly=readonly, link=link)

    def checkout_file(self, digest: str, dest_path, *, readonly: bool = True, link: bool | None = None) -> None:
        from canalis.store.checkout import checkout_file

        checkout_file(self, digest, dest_path, readonly=readonly, link=link)

    # -- housekeeping -------------------------------------------------------------------
    def _loose(self) -> Iterator[str]:
        for d in sorted(os.scandir(self._root), key=lambda e: e.name):
            if len(d.name) == 2 and set(d.name) <= _HEX and d.is_dir(follow_symlinks=False):
                for f in sorted(os.listdir(d.path)):
                    if len(f) == 64 and f.startswith(d.name) and set(f) <= _HEX:
                        yield f

    def iter_objects(self) -> Iterator[str]:
        """Every blob digest in the store, loose then packed, each once (trees included;
        temp, cache and quarantine excluded)."""
        return (info.digest for info in self.object_info())

    def object_info(self) -> Iterator[ObjectInfo]:
        """Every blob with its stored bytes, age (mtime of its file or pack) and pack."""
        seen = set()
        for digest in self._loose():
            try:
                st = os.stat(self.path_of(digest))
            except FileNotFoundError:
                continue
            seen.add(digest)
            yield ObjectInfo(digest, st.st_size, st.st_mtime, None)
        self._index.refresh(force=True)
        mtimes: dict[str, float | None] = {}
        for digest, pack, _, length in self._index.entries():
            if digest in seen:
                continue
            if pack not in mtimes:
                try:
                    mtimes[pack] = os.stat(self._index.path_of(pack)).st_mtime
                except FileNotFoundError:
                    mtimes[pack] = None
            if mtimes[pack] is not None:
                seen.add(digest)
                yield ObjectInfo(digest, length, mtimes[pack], pack)

    def delete(self, digest: str) -> None:
        """Remove a blob (only garbage collection calls this). Missing blobs are ignored."""
        self.delete_many([check_digest(digest)])

    def delete_many(self, digests: Iterable[str]) -> int:
        """Remove blobs, loose or packed; returns the bytes freed. A pack that holds some of
        them is rewritten without them (its other blobs keep their age) and then deleted."""
        digests = [check_digest(d) for d in digests]
        freed = 0
        unlinked = []
        for digest in digests:
            path = self.path_of(digest)
            try:
                freed += os.stat(path).st_size
                os.unlink(path)
                unlinked.append(digest)
            except FileNotFoundError:
                pass
            self._drop_cache(digest)
        self._index.forget_heads(unlinked)  # chunk lists are loose: their hints go with them
        self._index.refresh(force=True)
        by_pack: dict[str, set] = {}
        for digest, pack in self._index.packs_holding(digests):
            by_pack.setdefault(pack, set()).add(digest)
        for pack, drop in sorted(by_pack.items()):
            freed += self.repack(pack, drop)
        return freed

    def repack(self, pack: str, drop: set, quarantine: str | None = None) -> int:
        """Rewrite pack `pack` without the blobs in `drop` (their records are copied to
        `quarantine` first when given), then delete it. Returns the bytes of dropped records."""
        old = self._index.path_of(pack)
        try:
            entries = _pack.read_index(old)
            with open(old, "rb") as f:
                raw = f.read()
            mtime = os.stat(old).st_mtime_ns
        except FileNotFoundError:
            self._index.remove(pack)
            return 0
        keep = [e for e in entries if e.digest not in drop]
        freed = sum(e.length for e in entries if e.digest in drop)
        if quarantine is not None:
            os.makedirs(quarantine, exist_ok=True)
            for e in entries:
                if e.digest in drop:
                    with open(os.path.join(quarantine, f"{e.digest}.{int(time.time())}"), "wb") as q:
                        q.write(raw[e.offset : e.offset + e.length])
        if keep:
            self._write_pack([(e.digest, memoryview(raw)[e.offset : e.offset + e.length]) for e in keep], mtime)
        for digest in drop:
            self._drop_cache(digest)
        os.unlink(old)
        fsync_path(self._packs)
        self._index.remove(pack)
        return freed

    def _write_pack(self, records, mtime_ns: int) -> str:
        """Write a pack of (digest, record) pairs, durable and with mtime `mtime_ns` (so its
        blobs keep their age for the grace period), rename it into place, index it; its name."""
        w = _pack.PackWriter(self._tmp_name())
        try:
            for digest, record in records:
                w.add_record(digest, record)
            w.finish()
            w.close()
            fsync_path(w.tmp_path)
            os.utime(w.tmp_path, ns=(mtime_ns, mtime_ns))
            os.replace(w.tmp_path, self._index.path_of(w.name))
        except BaseException:
            w.close()
            if os.path.exists(w.tmp_path):
                os.unlink(w.tmp_path)
            raise
        fsync_path(self._packs)
        self._index.add(w.name, w.entries, w.size)
        return w.name

    def compress_packs(self) -> tuple[int, int]:
        """Compress the raw records of packs that compress (a large file's chunks stored with
        chunk_compression="later"): a pack holding any is rewritten with them as zstd frames
        (as a put would have stored them; the other records are copied unchanged and every
        blob keeps its age), then deleted. Returns (records compressed, bytes saved). A
        record that does not compress stays raw. A pack looked at once is noted in the pack
        index and not looked at again. Garbage collection runs this."""
        compressed = saved = 0
        self._index.refresh(force=True)
        checked = self._index.compress_checked()
        for pack, _, _ in self._index.packs():
            if pack in checked:
                continue
            n, s = self._compress_pack(pack)
            compressed, saved = compressed + n, saved + s
        return compressed, saved

    def _compress_pack(self, pack: str) -> tuple[int, int]:
        path = self._index.path_of(pack)
        try:
            entries = _pack.read_index(path)
            candidates = self._worth_compressing(path, entries)
            if not candidates:
                self._index.mark_compress_checked([pack])
                return 0, 0
            with open(path, "rb") as f:
                raw = memoryview(f.read())
            mtime = os.stat(path).st_mtime_ns
        except FileNotFoundError:  # collected or rewritten meanwhile
            return 0, 0
        from concurrent.futures import ThreadPoolExecutor

        def encoded(e):
            record = raw[e.offset : e.offset + e.length]
            if e.digest in candidates:
                compression, size = unpack_header(record, e.digest)
                flag, body = _blob.encode(record[HEADER_SIZE:], _blob.CHUNK_LEVEL)
                if compression == _blob.RAW and flag == _blob.ZSTD and len(record) == HEADER_SIZE + size:
                    return pack_header(flag, size) + body
            return record

        with ThreadPoolExecutor(_chunked.default_workers()) as pool:  # zstd releases the GIL: one per core
            records = [(e.digest, r) for e, r in zip(entries, pool.map(encoded, entries))]
        compressed = sum(len(r) != e.length for e, (_, r) in zip(entries, records))
        saved = sum(e.length - len(r) for e, (_, r) in zip(entries, records))
        if not compressed:
            self._index.mark_compress_checked([pack])
            return 0, 0
        self._index.mark_compress_checked([self._write_pack(records, mtime)])
        os.unlink(path)
        fsync_path(self._packs)
        self._index.remove(pack)
        return compressed, saved

    @staticmethod
    def _worth_compressing(path: str, entries) -> set[str]:
        """Digests of the raw records of at least MIN_CHUNK bytes in a pack whose first
        64 KiB compress (one small read each). Smaller raw records are blobs a put found
        incompressible, or the short last chunk of a file, and stay raw; so does a record a
        put left raw because its first 64 KiB do not compress."""
        out = set()
        fd = os.open(path, os.O_RDONLY)
        try:
            for e in entries:
                if e.length < HEADER_SIZE + _chunked.MIN_CHUNK:
                    continue
                head = os.pread(fd, min(e.length, HEADER_SIZE + _blob.SAMPLE), e.offset)
                try:
                    compression, size = unpack_header(head, e.digest)
                except StoreError:  # verify reports it; nothing to compress
                    continue
                sample = head[HEADER_SIZE:]
                if compression == _blob.RAW and len(sample) == min(size, _blob.SAMPLE) and \
                        _blob.pays(len(_blob.compressor(_blob.CHUNK_LEVEL).compress(sample)), len(sample)):
                    out.add(e.digest)
        finally:
            os.close(fd)
        return out

    def _cache_paths(self, digest: str) -> tuple[str, str]:
        base = os.path.join(self._root, "cache", digest[:2], digest)
        return base, base + ".x"

    def _drop_cache(self, digest: str) -> None:
        for p in self._cache_paths(digest):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    def upgrade(self) -> list[str]:
        """Store every loose whole blob larger than CHUNKED_MIN (written by store format 2) as
        chunks and a chunk list, under the same digest; returns the digests rewritten. Reading
        stays correct throughout: the old file is replaced atomically. Garbage collection
        calls this."""
        done = []
        for digest in list(self._loose()):
            try:
                if _chunked.upgrade(self, digest):
                    done.append(digest)
            except StoreError:  # a corrupt blob stays as it is: verify reports it
                continue
        return done

    def chunk_digests(self, digests: Iterable[str]) -> list[str]:
        """The chunks of those of `digests` that are stored chunked (a tree's entries, a log
        ...): garbage collection keeps them while a file naming them is kept."""
        return _chunked.chunk_digests(self, digests)

    def stats(self) -> dict:
        """Objects, logical bytes (uncompressed), stored bytes (files and packs on disk)."""
        objects = logical = stored = 0
        loose = set()
        for digest in self._loose():
            try:
                with open(self.path_of(digest), "rb") as f:
                    compression, size = unpack_header(f.read(HEADER_SIZE), digest)
                    stored += os.fstat(f.fileno()).st_size
                    if compression == _blob.CHUNKED:  # its content is counted in its chunks
                        size = os.fstat(f.fileno()).st_size - HEADER_SIZE
            except (FileNotFoundError, StoreError):
                continue
            loose.add(digest)
            objects += 1
            logical += size
        self._index.refresh(force=True)
        seen = set(loose)
        for pack, _, size in self._index.packs():
            try:
                fd = os.open(self._index.path_of(pack), os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                stored += size
                for digest, _, offset, _ in self._index.entries_of(pack):
                    if digest in seen:
                        continue
                    try:
                        logical += unpack_header(os.pread(fd, HEADER_SIZE, offset), digest)[1]
                    except StoreError:
                        continue
                    seen.add(digest)
                    objects += 1
            finally:
                os.close(fd)
        return {
            "objects": objects,
            "logical_bytes": logical,
            "stored_bytes": stored,
            "ratio": round(logical / stored, 3) if stored else 1.0,
            "packs": len(self._index.packs()),
        }

    def verify(self, repair: bool = False, grace_seconds: float = 3600, deep: bool = False) -> VerifyReport:
        """Check the store's structure (headers, record lengths, pack index, tree entry sizes,
        stat cache, checkout cache metadata); `deep` also re-hashes every blob and checkout-
        cache file. `repair` fixes what can be fixed without losing content."""
        from canalis.store.verify import verify

        return verify(self, repair=repair, grace_seconds=grace_seconds, deep=deep)
