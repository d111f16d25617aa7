"""`verify`: re-read every blob and check it hashes to its name; find leftover temp files.

Loose blobs are read one by one; each pack is read whole, its index checked against its
name, and every record decoded and hashed. With `repair`, temp files older than the grace
period are removed (younger ones may belong to a writer that is still running), corrupt
blobs are moved to `objects/quarantine/` (a corrupt packed blob's record is copied there
and its pack rewritten without it), a pack whose index is damaged is moved there whole,
and checkout-cache files that no longer match their digest are removed. Putting the
content again restores a quarantined blob.
"""
from __future__ import annotations

import os
import time

from canalis.store.blob import CHUNK, decode, hash_path
from canalis.store.errors import CorruptPackError, StoreError
from canalis.store.pack import SUFFIX, is_pack_name, read_index


def _check(store, digest: str) -> str | None:
    try:
        with store.open(digest, verify=True) as f:
            while f.read(CHUNK):
                pass
    except StoreError as e:
        return getattr(e, "reason", str(e))
    except FileNotFoundError:
        return None  # deleted while we looked (garbage collection)
    return None


def _check_pack(path: str) -> tuple[int, dict[str, str], str | None]:
    """(records checked, {digest: problem}, problem of the pack itself or None)."""
    try:
        entries = read_index(path)
        with open(path, "rb") as f:
            raw = f.read()
    except CorruptPackError as e:
        return 0, {}, e.reason
    except FileNotFoundError:
        return 0, {}, None  # rewritten or removed while we looked (garbage collection)
    bad = {}
    for e in entries:
        try:
            decode(raw[e.offset : e.offset + e.length], e.digest, True, path)
        except StoreError as err:
            bad[e.digest] = getattr(err, "reason", str(err))
    return len(entries), bad, None


def verify(store, repair: bool = False, grace_seconds: float = 3600):
    from concurrent.futures import ThreadPoolExecutor

    from canalis.store.local import VerifyReport

    report = VerifyReport(ok=True, checked=0)
    qdir = os.path.join(store._root, "quarantine")
    digests = list(store._loose())
    try:
        packs = sorted(n[: -len(SUFFIX)] for n in os.listdir(store._packs) if is_pack_name(n))
    except FileNotFoundError:
        packs = []
    in_packs: dict[str, dict[str, str]] = {}
    loose_bad = []
    with ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
        for digest, problem in zip(digests, pool.map(lambda d: _check(store, d), digests)):
            report.checked += 1
            if problem is not None:
                loose_bad.append(digest)
                report.corrupt.append(digest)
                report.reasons[digest] = problem
        paths = [os.path.join(store._packs, n + SUFFIX) for n in packs]
        for name, path, (checked, bad, damage) in zip(packs, paths, pool.map(_check_pack, paths)):
            report.checked += checked
            if damage is not None:
                report.damaged_packs.append(path)
                report.reasons[path] = damage
            for digest, problem in bad.items():
                report.corrupt.append(digest)
                report.reasons[digest] = problem
            if bad:
                in_packs[name] = bad
    if repair and report.corrupt:
        os.makedirs(qdir, exist_ok=True)
        for digest in loose_bad:
            os.replace(store.path_of(digest), os.path.join(qdir, f"{digest}.{int(time.time())}"))
            store._drop_cache(digest)
            report.removed.append(store.path_of(digest))
        for name, bad in in_packs.items():
            store.repack(name, set(bad), quarantine=qdir)
            report.removed.append(os.path.join(store._packs, name + SUFFIX))
    if repair and report.damaged_packs:
        os.makedirs(qdir, exist_ok=True)
        for path in report.damaged_packs:
            os.replace(path, os.path.join(qdir, f"{os.path.basename(path)}.{int(time.time())}"))
            report.removed.append(path)
        store._index.refresh(force=True)
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
    if repair:
        for p in stale:
            try:
                os.unlink(p)
                report.removed.append(p)
            except FileNotFoundError:
                pass
        stale = []
    _verify_cache(store, report, repair)
    report.ok = not report.corrupt and not report.damaged_packs and not stale and not (report.cache_corrupt and not repair)
    if repair and (report.corrupt or report.damaged_packs):
        report.ok = False  # quarantined content is gone until it is put again; say so
    return report


def _verify_cache(store, report, repair: bool) -> None:
    cache = os.path.join(store._root, "cache")
    if not os.path.isdir(cache):
        return
    for sub in os.scandir(cache):
        if not sub.is_dir(follow_symlinks=False):
            continue
        for e in os.scandir(sub.path):
            digest = e.name[:64]
            try:
                bad = hash_path(e.path) != digest
            except OSError:
                bad = True
            if bad:
                report.cache_corrupt.append(e.path)
                if repair:
                    os.unlink(e.path)
                    report.removed.append(e.path)
