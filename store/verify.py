"""`verify`: check a store's structure (the default) or also every blob's content (`deep`).

Structure, always (the checks themselves are in store/structure.py):
- every loose blob's header, and its length against the header;
- every pack's head, trailer and own index, and every record's header and length;
- every row of the pack index (`objects/packindex.db`) against the pack's own index;
- every tree manifest (trees are stored loose) parsed, and each entry's size compared with
  its blob's size;
- every stat-cache entry's size against its blob's size;
- every checkout-cache file's type, size and mtime; leftover temp files.

Deep (`restic check --read-data`), in addition: every blob decompressed and hashed (loose
blobs one by one, packs whole), and every checkout-cache file hashed.

Repair: temp files older than the grace period are removed (younger ones may belong to a
writer that is still running); a pack index that disagrees with the packs is rebuilt from
them (derived data: no blob is touched); corrupt blobs go to `objects/quarantine/` (a
corrupt packed blob's record is copied there and its pack rewritten without it); a pack
whose own index is damaged goes there whole; stat-cache entries of a snapshot that paired
a file with a blob of another size are deleted (every entry that snapshot wrote: equal-
sized files may have been paired wrongly too); bad checkout-cache files are removed.
Trees whose entries disagree with their blobs are reported and never changed: they are
history, and only a new snapshot of their source can say what they should have held.
"""
from __future__ import annotations

import os
import sqlite3
import stat as _stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from canalis.store import blob as _blob
from canalis.store.checkout import CACHE_MTIME_NS
from canalis.store.errors import CorruptBlobError, CorruptPackError, StoreError
from canalis.store.pack import read_index
from canalis.store.statcache import StatCache
from canalis.store.structure import check_record, index_disagreements, size_mismatches
from canalis.store.tree import decode_manifest



@dataclass
class VerifyReport:
    """What `verify` found. `deep`: contents were re-hashed (else structure only, see
    store/structure.py). `reasons` is keyed by digest (corrupt blobs) or path (packs)."""

    ok: bool
    checked: int
    corrupt: list = field(default_factory=list)  # digests
    temp_files: list = field(default_factory=list)  # paths of leftover temp files
    removed: list = field(default_factory=list)  # paths removed or quarantined by repair
    reasons: dict = field(default_factory=dict)  # digest or pack path -> what is wrong
    cache_corrupt: list = field(default_factory=list)  # checkout-cache files that were modified
    damaged_packs: list = field(default_factory=list)  # pack files whose index cannot be read
    deep: bool = False
    trees: int = 0  # tree manifests whose entries were checked against their blobs
    faulty_trees: dict = field(default_factory=dict)  # tree digest -> [SizeMismatch.as_dict()]
    index_damaged: dict = field(default_factory=dict)  # pack path -> pack-index rows that disagree with it
    index_rebuilt: bool = False  # repair rebuilt objects/packindex.db from the packs
    stat_cache: list = field(default_factory=list)  # stat-cache entries naming a blob of another size
    stat_cache_dropped: int = 0  # stat-cache entries repair deleted
    checked_trees: set = field(default_factory=set, repr=False)  # digests of the trees checked

    def as_dict(self) -> dict:
        """The JSON shape of `canalis store verify --json` (docs/cli-json.md)."""
        return {
            "ok": self.ok, "deep": self.deep, "checked": self.checked, "trees": self.trees,
            "corrupt": list(self.corrupt), "reasons": dict(self.reasons),
            "damaged_packs": list(self.damaged_packs),
            "index_damaged": [{"pack": p, "entries": n, "reason": self.reasons.get(p, "")}
                              for p, n in sorted(self.index_damaged.items())],
            "index_rebuilt": self.index_rebuilt,
            "faulty_trees": [{"tree": t, "entries": list(m)} for t, m in sorted(self.faulty_trees.items())],
            "stat_cache": list(self.stat_cache), "stat_cache_dropped": self.stat_cache_dropped,
            "temp_files": [str(t) for t in self.temp_files], "cache_corrupt": list(self.cache_corrupt),
            "removed": list(self.removed),
        }


def _reason(e: Exception) -> str:
    return getattr(e, "reason", None) or str(e)


def _loose_head(store, digest: str):
    """The Head of a loose blob, a problem (str), or None when it vanished (garbage collection)."""
    try:
        with open(store.path_of(digest), "rb", buffering=0) as f:
            stored = os.fstat(f.fileno()).st_size
            return check_record(lambda off, n: os.pread(f.fileno(), n, off), stored, digest, peek_tree=True)
    except FileNotFoundError:
        return None
    except StoreError as e:
        return _reason(e)


def _pack_heads(path: str):
    """(own index entries, {digest: Head or problem}, damage or None) of one pack; entries
    None when the pack vanished or its own index is damaged."""
    try:
        entries = read_index(path)
        fd = os.open(path, os.O_RDONLY)
    except CorruptPackError as e:
        return None, {}, e.reason
    except FileNotFoundError:
        return None, {}, None
    heads = {}
    try:
        for e in entries:
            try:
                heads[e.digest] = check_record(lambda off, n, e=e: os.pread(fd, n, e.offset + off), e.length, e.digest,
                                               loose=False)
            except StoreError as err:
                heads[e.digest] = _reason(err)
    finally:
        os.close(fd)
    return entries, heads, None


def _read_loose(store, digest: str) -> str | None:
    """Deep check of a loose blob: decompress and hash it all. A problem, or None."""
    try:
        with store.open(digest, verify=True) as f:
            while f.read(_blob.CHUNK):
                pass
    except StoreError as e:
        return _reason(e)
    except FileNotFoundError:
        return None  # deleted while we looked (garbage collection)
    return None


def _read_pack(path: str, skip: set) -> dict[str, str]:
    """Deep check of a pack: decode and hash every record the structural pass found sound."""
    try:
        entries = read_index(path)
        with open(path, "rb") as f:
            raw = f.read()
    except (CorruptPackError, FileNotFoundError):
        return {}  # reported by the structural pass, or removed meanwhile
    bad = {}
    for e in entries:
        if e.digest in skip:
            continue
        try:
            _blob.decode(raw[e.offset : e.offset + e.length], e.digest, True, path)
        except StoreError as err:
            bad[e.digest] = _reason(err)
    return bad


def verify(store, repair: bool = False, grace_seconds: float = 3600, deep: bool = False):
    report = VerifyReport(ok=True, checked=0, deep=deep)
    index = store._index
    sizes: dict[str, int] = {}  # digest -> logical size, from sound headers
    trees: list[str] = []
    chunk_lists: dict[str, tuple] = {}  # digest -> its chunks
    loose_bad: list[str] = []
    packed_bad: dict[str, dict[str, str]] = {}  # pack name -> {digest: problem}
    own: dict[str, list] = {}  # pack name -> its own index
    loose = list(store._loose())
    packs = sorted(index._on_disk())

    def corrupt(digest: str, problem: str) -> None:
        if digest not in report.reasons:
            report.corrupt.append(digest)
            report.reasons[digest] = problem

    with ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
        for digest, head in zip(loose, pool.map(lambda d: _loose_head(store, d), loose)):
            if head is None:
                continue
            report.checked += 1
            if isinstance(head, str):
                loose_bad.append(digest)
                corrupt(digest, head)
                continue
            sizes[digest] = head.size
            if head.chunks:
                chunk_lists[digest] = head.chunks
            if head.tree:
                trees.append(digest)
        paths = [index.path_of(n) for n in packs]
        for name, path, (entries, heads, damage) in zip(packs, paths, pool.map(_pack_heads, paths)):
            if damage is not None:
                report.damaged_packs.append(path)
                report.reasons[path] = damage
            if entries is None:
                continue
            own[name] = entries
            report.checked += len(entries)
            for digest, head in heads.items():
                if isinstance(head, str):
                    packed_bad.setdefault(name, {})[digest] = head
                    corrupt(digest, head)
                else:
                    sizes.setdefault(digest, head.size)
        if deep:
            bad = set(loose_bad)
            sound = [d for d in loose if d in sizes and d not in bad]
            for digest, problem in zip(sound, pool.map(lambda d: _read_loose(store, d), sound)):
                if problem is not None:
                    loose_bad.append(digest)
                    corrupt(digest, problem)
            names = list(own)
            found = pool.map(lambda n: _read_pack(index.path_of(n), set(packed_bad.get(n, ()))), names)
            for name, bad_records in zip(names, found):
                for digest, problem in bad_records.items():
                    packed_bad.setdefault(name, {})[digest] = problem
                    corrupt(digest, problem)
    _check_chunk_lists(chunk_lists, sizes, report, loose_bad, corrupt)
    _check_index(index, own, report)
    _check_trees(store, trees, sizes, report, loose_bad)
    stat_cache_bad = _check_stat_cache(store, sizes, report)
    if repair:
        _repair(store, report, loose_bad, packed_bad, stat_cache_bad)
    stale = _temp_files(store, report, repair, grace_seconds)
    _verify_cache(store, report, repair, deep, sizes)
    report.ok = not (
        report.corrupt or report.damaged_packs or stale or report.faulty_trees
        or (report.index_damaged and not report.index_rebuilt)
        or ((report.stat_cache or report.cache_corrupt) and not repair)
    )
    if repair and (report.corrupt or report.damaged_packs):
        report.ok = False  # quarantined content is gone until it is put again; say so
    return report


def _check_chunk_lists(chunk_lists: dict, sizes: dict, report, loose_bad: list, corrupt) -> None:
    """A chunk list is corrupt when one of its chunks is missing, corrupt, or of another
    size than listed: its content cannot be read back whole. Repair quarantines it (with its
    bad chunk) so that putting the file again stores it anew."""
    for digest, chunks in chunk_lists.items():
        if digest in report.reasons:
            continue
        for i, (chunk, size) in enumerate(chunks, start=1):
            if chunk in report.reasons:
                problem = f"chunk {i} of {len(chunks)} ({chunk}) is corrupt"
            elif chunk not in sizes:
                problem = f"chunk {i} of {len(chunks)} ({chunk}) is missing"
            elif sizes[chunk] != size:
                problem = f"chunk {i} of {len(chunks)} ({chunk}) holds {sizes[chunk]} bytes, the list says {size}"
            else:
                continue
            loose_bad.append(digest)
            corrupt(digest, problem)
            break


def _check_index(index, own: dict, report) -> None:
    """Every pack-index row must be the pack's own entry; rows naming no pack are damage."""
    try:
        index.refresh(force=True)  # packs written by others since the listing
        for name, entries in own.items():
            n, example = index_disagreements(entries, index.entries_of(name))
            if n:  # a writer's or a collection's rows may have just landed: look once more
                index.refresh(force=True)
                if not os.path.exists(index.path_of(name)):
                    continue
                n, example = index_disagreements(entries, index.entries_of(name))
            if n:
                path = index.path_of(name)
                report.index_damaged[path] = n
                report.reasons[path] = (
                    f"{n} of the pack's {len(entries)} blobs are placed wrongly by the pack index ({example}); "
                    "the pack index is damaged and reads of those blobs fail: `verify --repair` rebuilds it from the packs"
                )
        for name, count in index.rows_per_pack().items():
            path = index.path_of(name)
            if name not in own and not os.path.exists(path):
                report.index_damaged[path] = count
                report.reasons[path] = (
                    f"the pack index places {count} blobs in this pack, which does not exist; "
                    "`verify --repair` rebuilds the pack index from the packs"
                )
    except sqlite3.DatabaseError as e:
        report.index_damaged[index.db_path] = 0
        report.reasons[index.db_path] = f"the pack index cannot be read ({e}); `verify --repair` rebuilds it from the packs"


def _check_trees(store, trees: list[str], sizes: dict, report, loose_bad: list) -> None:
    from canalis.store.errors import InvalidTreeError, NotATreeError, UnsafePathError

    for digest in trees:
        if digest in report.reasons:
            continue
        try:
            entries = decode_manifest(_blob.read_all(store.path_of(digest), digest, False), digest)
        except FileNotFoundError:
            continue
        except CorruptBlobError as e:
            loose_bad.append(digest)
            report.corrupt.append(digest)
            report.reasons[digest] = _reason(e)
            continue
        except (NotATreeError, InvalidTreeError, UnsafePathError):
            continue  # content that starts like a manifest but is none: an ordinary file
        report.trees += 1
        report.checked_trees.add(digest)
        bad = size_mismatches(entries, sizes.get)
        if bad:
            report.faulty_trees[digest] = [m.as_dict() for m in bad]


def _check_stat_cache(store, sizes: dict, report) -> set:
    """Stat-cache entries naming a blob of another size; returns the start times of the
    snapshots that wrote them."""
    path = os.path.join(store._root, "statcache.db")
    if not os.path.exists(path) or os.path.getsize(path) == 0:  # none yet (a new workspace has an empty file)
        return set()
    made_at = set()
    for file, size, digest, cached_ns in StatCache.read_entries(path):
        actual = sizes.get(digest)
        if actual is not None and actual != size:
            report.stat_cache.append({"path": file, "digest": digest, "declared": size, "actual": actual})
            made_at.add(cached_ns)
    return made_at


def _repair(store, report, loose_bad: list, packed_bad: dict, stat_cache_bad: set) -> None:
    qdir = os.path.join(store._root, "quarantine")
    if report.index_damaged:
        store._index.rebuild()
        report.index_rebuilt = True
    if report.corrupt:
        os.makedirs(qdir, exist_ok=True)
        for digest in dict.fromkeys(loose_bad):
            try:
                os.replace(store.path_of(digest), os.path.join(qdir, f"{digest}.{int(time.time())}"))
            except FileNotFoundError:
                continue
            store._drop_cache(digest)
            report.removed.append(store.path_of(digest))
        for name, bad in packed_bad.items():
            store.repack(name, set(bad), quarantine=qdir)
            report.removed.append(store._index.path_of(name))
    if report.damaged_packs:
        os.makedirs(qdir, exist_ok=True)
        for path in report.damaged_packs:
            os.replace(path, os.path.join(qdir, f"{os.path.basename(path)}.{int(time.time())}"))
            report.removed.append(path)
        store._index.refresh(force=True)
    if stat_cache_bad:
        cache = StatCache(os.path.join(store._root, "statcache.db"))
        try:
            report.stat_cache_dropped = cache.forget_made_at(stat_cache_bad)
        finally:
            cache.close()


def _temp_files(store, report, repair: bool, grace_seconds: float) -> list:
    """Lists leftover temp files; with repair removes those older than the grace period.
    Returns the old ones still there."""
    now = time.time()
    stale = []
    for e in os.scandir(store._tmp):
        report.temp_files.append(e.path)
        try:
            age = now - e.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        if age >= grace_seconds:
            stale.append(e.path)
    if not repair:
        return stale
    for p in stale:
        try:
            os.unlink(p)
            report.removed.append(p)
        except FileNotFoundError:
            pass
    return []


def _verify_cache(store, report, repair: bool, deep: bool, sizes: dict) -> None:
    """Checkout-cache files: a regular file with the fixed mtime and its blob's size (a write
    through a hard link changes the mtime); deep: its content hashes to its name. A chmod
    alone is not reported: checkouts replace such a file before using it."""
    cache = os.path.join(store._root, "cache")
    if not os.path.isdir(cache):
        return
    for sub in os.scandir(cache):
        if not sub.is_dir(follow_symlinks=False):
            continue
        for e in os.scandir(sub.path):
            digest = e.name[:64]
            try:
                st = e.stat(follow_symlinks=False)
                size = sizes.get(digest)
                bad = (not _stat.S_ISREG(st.st_mode) or st.st_mtime_ns != CACHE_MTIME_NS
                       or (size is not None and st.st_size != size))
                if not bad and deep:
                    bad = _blob.hash_path(e.path) != digest
            except OSError:
                bad = True
            if bad:
                report.cache_corrupt.append(e.path)
                if repair:
                    try:
                        os.unlink(e.path)
                        report.removed.append(e.path)
                    except FileNotFoundError:
                        pass
