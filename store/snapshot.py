"""Snapshots: a folder (or a chosen set of files) becomes a tree.

Cold path: files are read, hashed and compressed by a thread pool (BLAKE3 and zstd release
the GIL); small blobs are appended to pack files, large ones written as loose temp files,
and the whole batch is made durable and renamed into place at the end (store/batch.py).
Warm path: the stat cache answers for every file whose (size, mtime_ns, inode) did not
change, so an unchanged folder costs one `stat` per file, one index query and no read.
"""
from __future__ import annotations

import os
import stat as _stat
import sys
import time
from pathlib import Path

from canalis.store.errors import SnapshotError
from canalis.store.frozen import FrozenValue
from canalis.store.ignore import ALWAYS_EXCLUDED, Rules
from canalis.store.statcache import StatCache, trusted
from canalis.store.tree import FILE, SYMLINK, TreeEntry, encode_rows, file_mode

class SnapshotResult(FrozenValue):
    """What `snapshot` / `put_files` made: the tree digest, file count, logical bytes, ignored
    entries, and how many files were read (`hashed`) versus taken from the stat cache (`cached`).
    Frozen (store/frozen.py)."""

    _fields = ("tree", "files", "bytes", "ignored", "hashed", "cached", "skipped")
    tree: str
    files: int
    bytes: int
    ignored: int
    hashed: int
    cached: int
    skipped: list

    def __init__(self, tree: str, files: int, bytes: int, ignored: int = 0, hashed: int = 0, cached: int = 0,
                 skipped: list | None = None):
        self.__dict__.update(tree=tree, files=files, bytes=bytes, ignored=ignored, hashed=hashed, cached=cached,
                             skipped=[] if skipped is None else skipped)


#: above this many files to hash, a thread pool does the work
POOL_THRESHOLD = 8


def shown(path: str) -> str:
    """A path as it can be printed: bytes that are not UTF-8 appear as `\\xff`."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_utf8_name(rel: str, path: str) -> None:
    """Tree paths are UTF-8 text (docs/store-format.md): a name the filesystem holds as other
    bytes (on Linux, any bytes but '/' and NUL) is refused, naming the file, before anything
    is stored, so that a checkout can never give back different bytes."""
    if rel.isascii():
        return
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise SnapshotError(
            shown(path),
            "its name is not valid UTF-8 (canalis records file names as UTF-8 text); rename it "
            "(e.g. `convmv -f latin1 -t utf8`), or list it in .amlignore/.gitignore to leave it out",
        ) from None


def walk(root: str, ignore: bool):
    """(files, links, ignored, skipped): files as (rel, abs, stat), links as (rel, abs)."""
    files, links, skipped = [], [], []
    ignored = 0
    stack = [("", root, Rules())]
    while stack:
        prefix, folder, rules = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as e:
            raise SnapshotError(folder, f"cannot list it ({e.strerror}); fix its permissions") from None
        if ignore:
            rules = rules.child(prefix, {e.name for e in entries}, folder)
        for e in entries:
            if e.name in ALWAYS_EXCLUDED:
                continue
            rel = prefix + e.name
            if e.is_symlink():
                if ignore and rules.stack and rules.ignored(rel, False):
                    ignored += 1
                else:
                    check_utf8_name(rel, e.path)
                    links.append((rel, e.path))
            elif e.is_dir(follow_symlinks=False):
                if ignore and rules.stack and rules.ignored(rel, True):
                    ignored += 1
                else:
                    check_utf8_name(rel, e.path)
                    stack.append((rel + "/", e.path, rules))
            elif e.is_file(follow_symlinks=False):
                if ignore and rules.stack and rules.ignored(rel, False):
                    ignored += 1
                else:
                    check_utf8_name(rel, e.path)
                    files.append((rel, e.path, e.stat(follow_symlinks=False)))
            else:
                skipped.append(rel)  # sockets, fifos, devices: not content
    return files, links, ignored, skipped


#: a progress bar is drawn only for work at least this large (files to read, or bytes)
PROGRESS_FILES = 500
PROGRESS_BYTES = 256 << 20


def _progress_bar(files: int, total: int, enabled: bool):
    """A rich progress bar on stderr when enabled, the work is large and stderr is a terminal."""
    if not enabled or (files < PROGRESS_FILES and total < PROGRESS_BYTES) or not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("snapshot"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )
    bar.start()
    bar.add_task("hash", total=total)
    return bar


#: small files are handed to the workers in groups of at most this many files / bytes, so
#: that one index query answers for a group and the pool's per-task cost is paid rarely
GROUP_FILES = 64
GROUP_BYTES = 16 << 20


def _groups(todo) -> list[list]:
    """Work items `(key, path, size)` in groups: small files together, every large (streamed)
    file alone. Each item keeps its key, so a digest is paired with the path that produced
    it whatever order the groups come out in."""
    from canalis.store.pack import PACKABLE

    groups, current, size = [], [], 0
    for item in todo:
        s = item[2]
        if s >= PACKABLE:
            groups.append([item])
            continue
        if current and (len(current) >= GROUP_FILES or size + s > GROUP_BYTES):
            groups.append(current)
            current, size = [], 0
        current.append(item)
        size += s
    if current:
        groups.append(current)
    return groups


def _store_group(store, group, batch) -> list[tuple]:
    """(key, digest) for every item of a group."""
    digests = store._put_group([(path, size) for _, path, size in group], batch)
    if len(digests) != len(group):
        raise AssertionError("the store returned a digest count that does not match the group")
    return [(key, d) for (key, _, _), d in zip(group, digests)]


def default_workers() -> int:
    """Threads that hash a snapshot: one per core (CPU-bound on cached data: more only contend)."""
    return min(32, max(2, os.cpu_count() or 1))


def _hash_all(store, todo, progress: bool, blobs: dict | None = None, workers: int | None = None,
              batch=None) -> dict:
    """Store every file of `todo` (items `(key, abs path, size)`) and every bytes value of
    `blobs` (`{key: bytes}`) in one batch; returns `{key: digest}`. `workers` threads (default:
    one per core; 1: no pool) share the groups. Given a `batch` (a write set's, store/writeset.py),
    they are added to it, and its owner commits or discards it."""
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if not todo and not blobs:  # every file known to the stat cache (a re-submit): no batch to open
        return {}
    own = batch is None
    batch = store._batch() if own else batch
    bar = _progress_bar(len(todo), sum(item[2] for item in todo), progress)
    digests: dict = {}
    try:
        groups = _groups(todo)
        if workers == 1 or len(todo) < POOL_THRESHOLD or len(groups) == 1:
            for g in groups:
                digests.update(_store_group(store, g, batch))
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(workers) as pool:
                for group, pairs in zip(groups, pool.map(lambda g: _store_group(store, g, batch), groups)):
                    digests.update(pairs)
                    if bar is not None:
                        bar.advance(0, sum(size for _, _, size in group))
        for key, data in (blobs or {}).items():
            digests[key] = store._put_data(data, batch)
        if own:
            batch.commit()
    except FileNotFoundError as e:
        if own:
            batch.discard()
        raise SnapshotError(e.filename, "a file disappeared while the folder was read; snapshot it again") from None
    except PermissionError as e:
        if own:
            batch.discard()
        raise SnapshotError(e.filename, "a file cannot be read; fix its permissions or ignore it") from None
    except BaseException:
        if own:
            batch.discard()
        raise
    finally:
        if bar is not None:
            bar.stop()
    return digests


def snapshot(store, folder, *, ignore: bool = True, progress: bool = False, stat_cache: bool = True,
             workers: int | None = None, batch=None):
    root = os.path.realpath(folder)
    if not os.path.isdir(root):
        raise SnapshotError(folder, "it is not a folder")
    import gc

    gc_was_enabled = gc.isenabled()
    gc.disable()  # tens of thousands of small tuples, no cycles: the collector only costs time here
    try:
        return _snapshot(store, root, ignore, progress, stat_cache, workers, batch)
    finally:
        if gc_was_enabled:
            gc.enable()


def _snapshot(store, root: str, ignore: bool, progress: bool, stat_cache: bool = True, workers: int | None = None,
              batch=None):
    started = time.time_ns()
    files, links, ignored, skipped = walk(root, ignore)
    cache = StatCache(os.path.join(store._root, "statcache.db")) if stat_cache else None
    try:
        known = cache.load(root) if cache else {}
        digests: dict[str, str] = {}
        for rel, path, st in files:
            hit = known.get(path)
            if (
                hit is not None
                and hit[0] == st.st_size
                and hit[1] == st.st_mtime_ns
                and hit[2] == st.st_ino
                and trusted(hit[1], hit[4])
            ):
                digests[rel] = hit[3]
        if digests:  # the cache is a hint: the blob must still be there (gc, quarantine)
            there = store.present(list(set(digests.values())))
            digests = {rel: d for rel, d in digests.items() if d in there}
        todo = [(rel, path, st) for rel, path, st in files if rel not in digests]
        targets = {rel: os.fsencode(os.readlink(p)) for rel, p in links}
        new = _hash_all(store, [(("f", rel), path, st.st_size) for rel, path, st in todo], progress,
                        {("l", rel): t for rel, t in targets.items()}, workers, batch)
        rows = []
        for rel, path, st in todo:
            d = digests[rel] = new[("f", rel)]
            rows.append((path, st.st_size, st.st_mtime_ns, st.st_ino, d, started))
        rows_ = [(rel, FILE, 0o755 if st.st_mode & 0o100 else 0o644, st.st_size, digests[rel]) for rel, _, st in files]
        rows_ += [(rel, SYMLINK, 0o777, len(t), new[("l", rel)]) for rel, t in targets.items()]
        if all(r[0].isascii() for r in rows_):
            rows_.sort()  # paths are unique, so this sorts by path; str order == byte order for ASCII
        else:
            rows_.sort(key=lambda r: os.fsencode(r[0]))
        manifest = encode_rows(rows_)
        tree = store.put_bytes(manifest) if batch is None else store._put_data(manifest, batch)
        forget = []
        if len(known) > sum(1 for _, p, _ in files if p in known):  # files gone or now ignored
            seen = {p for _, p, _ in files}
            forget = [p for p in known if p not in seen]
        if cache:
            cache.update(rows, forget)
    finally:
        if cache:
            cache.close()
    return SnapshotResult(
        tree=tree,
        files=len(files),
        bytes=sum(st.st_size for _, _, st in files),
        ignored=ignored,
        hashed=len(todo),
        cached=len(files) - len(todo),
        skipped=skipped,
    )


def put_files(store, mapping: dict[str, Path], workers: int | None = None, batch=None):
    """A tree of chosen files: {path in the tree: file on disk}. Symlinks on disk are followed
    here (a dataset picked by glob wants the content), and the stat cache is not used."""
    from canalis.store.tree import check_path

    items = []
    for rel, src in sorted(mapping.items()):
        check_path(rel)
        check_utf8_name(rel, os.fspath(src))
        try:
            st = os.stat(src)
        except FileNotFoundError:
            raise SnapshotError(src, f"it does not exist (wanted as {rel!r})") from None
        if not _stat.S_ISREG(st.st_mode):
            raise SnapshotError(src, f"it is not a regular file (wanted as {rel!r})")
        items.append((rel, os.fspath(src), st))
    digests = _hash_all(store, [(rel, p, st.st_size) for rel, p, st in items], False, workers=workers, batch=batch)
    entries = [TreeEntry(rel, FILE, file_mode(st.st_mode), st.st_size, digests[rel]) for rel, _, st in items]
    if batch is None:
        tree = store.put_tree(entries)
    else:
        from canalis.store.tree import encode_manifest

        tree = store._put_data(encode_manifest(entries), batch)
    return SnapshotResult(tree=tree, files=len(items), bytes=sum(st.st_size for *_, st in items), hashed=len(items))
