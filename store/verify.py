"""`verify`: re-read every blob and check it hashes to its name; find leftover temp files.

With `repair`, temp files older than the grace period are removed (younger ones may
belong to a writer that is still running), corrupt blobs are moved to
`objects/quarantine/` (so that putting the content again restores them) and checkout-cache
files that no longer match their digest are removed.
"""
from __future__ import annotations

import os
import time

from canalis.store.blob import CHUNK, hash_path
from canalis.store.errors import StoreError


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


def verify(store, repair: bool = False, grace_seconds: float = 3600):
    from concurrent.futures import ThreadPoolExecutor

    from canalis.store.local import VerifyReport

    report = VerifyReport(ok=True, checked=0)
    digests = list(store.iter_objects())
    with ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
        for digest, problem in zip(digests, pool.map(lambda d: _check(store, d), digests)):
            report.checked += 1
            if problem is not None:
                report.corrupt.append(digest)
                report.reasons[digest] = problem
    if repair and report.corrupt:
        qdir = os.path.join(store._root, "quarantine")
        os.makedirs(qdir, exist_ok=True)
        for digest in report.corrupt:
            dest = os.path.join(qdir, f"{digest}.{int(time.time())}")
            os.replace(store.path_of(digest), dest)
            for p in store._cache_paths(digest):
                if os.path.exists(p):
                    os.unlink(p)
            report.removed.append(store.path_of(digest))
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
    report.ok = not report.corrupt and not stale and not (report.cache_corrupt and not repair)
    if repair and report.corrupt:
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
