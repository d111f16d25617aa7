"""Checkouts: materialise a tree in a folder, never writing or pointing outside it.

Stored blobs carry a header and are usually compressed, so they cannot be linked. A
read-only checkout hard-links files from the *checkout cache*, `objects/cache/ab/<digest>`
(mode 0444) or `<digest>.x` (0555, executables), which holds verified, decompressed
copies with a fixed mtime (2000-01-01T00:00:00Z). A cache file is re-checked (size, mode,
mtime) before each use and rebuilt when a write or chmod through a link changed it, and
`verify` re-hashes the cache. The blobs themselves are never linked, so no write through a
checkout can change the store. When the process runs as root (permission bits do not stop
root from writing), when links are not possible (another filesystem), or for writable
checkouts, files are copied instead.
"""
from __future__ import annotations

import errno
import os
import stat as _stat

from canalis.store.errors import CheckoutTargetError, UnsafePathError
from canalis.store.tree import FILE, SYMLINK

CACHE_MTIME_NS = 946_684_800 * 1_000_000_000  # 2000-01-01T00:00:00Z


def _default_link() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() != 0


def _prepare_dest(dest) -> str:
    dest = os.path.abspath(os.fspath(dest))
    if os.path.lexists(dest):
        if os.path.islink(dest) or not os.path.isdir(dest):
            raise CheckoutTargetError(dest, "it exists and is not a folder; pass an empty or missing folder")
        if os.listdir(dest):
            raise CheckoutTargetError(dest, "the folder is not empty; pass an empty or missing folder")
    else:
        os.makedirs(dest)
    return os.path.realpath(dest)


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def check_link_target(entry_path: str, target: str) -> None:
    """A symlink in a checkout must be relative and point inside the checkout (lexically)."""
    if not target or target.startswith("/") or "\0" in target:
        raise UnsafePathError(entry_path, f"symlink target {target!r} is absolute or empty")
    resolved = os.path.normpath(os.path.join(os.path.dirname(entry_path), target))
    if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
        raise UnsafePathError(entry_path, f"symlink target {target!r} points outside the checkout")


def symlinks_of(store, entries) -> list:
    """(entry, target) of every symlink among a tree's entries, each target checked to stay
    inside the tree (before anything is written)."""
    links = []
    for e in entries:
        if e.type == SYMLINK:
            target = os.fsdecode(store.get_bytes(e.digest, verify=True))
            check_link_target(e.path, target)
            links.append((e, target))
    return links


def checkout(store, tree: str, dest, *, readonly: bool = True, link: bool | None = None) -> None:
    entries = store.get_tree(tree)  # validates paths: relative, no '..', nothing under a file or link
    links = symlinks_of(store, entries)
    root = _prepare_dest(dest)
    link = _default_link() if link is None else link
    made = {root}
    for e in entries:
        if e.type != FILE:
            continue
        target = os.path.join(root, *e.path.split("/"))
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        if os.path.realpath(parent) != parent or not _inside(root, parent):
            raise UnsafePathError(e.path, "its folder resolves outside the checkout")
        _materialise(store, e.digest, e.mode, e.size, target, readonly, link)
    created = []
    for e, target in links:
        path = os.path.join(root, *e.path.split("/"))
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        if os.path.realpath(parent) != parent:
            raise UnsafePathError(e.path, "its folder resolves through a symlink")
        os.symlink(target, path)
        created.append((e.path, path))
    # Each link was checked on its own; chains (a -> ., b -> a/../x) are checked once all exist.
    for rel, path in created:
        if not _inside(root, os.path.realpath(path)):
            for _, p in created:
                os.unlink(p)
            raise UnsafePathError(rel, "symlink resolves outside the checkout (through other links)")


def checkout_file(store, digest: str, dest_path, *, readonly: bool = True, link: bool | None = None) -> None:
    dest_path = os.path.abspath(os.fspath(dest_path))
    if os.path.lexists(dest_path):
        raise CheckoutTargetError(dest_path, "a file is already there; remove it or pick another path")
    os.makedirs(os.path.dirname(dest_path), exist_ok=True)
    size = store.size(digest)
    _materialise(store, digest, 0o644, size, dest_path, readonly, _default_link() if link is None else link)


def _materialise(store, digest: str, mode: int, size: int, target: str, readonly: bool, link: bool) -> None:
    if readonly and link:
        cached = _cache_file(store, digest, mode, size)
        try:
            os.link(cached, target, follow_symlinks=False)
            return
        except OSError as e:
            if e.errno not in (errno.EXDEV, errno.EMLINK, errno.EPERM, errno.EACCES, errno.ENOTSUP):
                raise
    final = (0o555 if mode & 0o100 else 0o444) if readonly else mode
    _copy_out(store, digest, target, final)


def _copy_out(store, digest: str, target: str, final_mode: int) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb", closefd=False) as out, store.open(digest, verify=True) as src:
            while chunk := src.read(4 << 20):
                out.write(chunk)
        os.fchmod(fd, final_mode)
    except BaseException:
        os.close(fd)
        os.unlink(target)
        raise
    os.close(fd)


def _cache_ok(path: str, mode: int, size: int) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (
        _stat.S_ISREG(st.st_mode)
        and _stat.S_IMODE(st.st_mode) == mode
        and st.st_size == size
        and st.st_mtime_ns == CACHE_MTIME_NS
    )


def _cache_file(store, digest: str, mode: int, size: int) -> str:
    """The verified, decompressed, read-only copy of `digest` in the checkout cache."""
    plain, execu = store._cache_paths(digest)
    path, want = (execu, 0o555) if mode & 0o100 else (plain, 0o444)
    if _cache_ok(path, want, size):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = store._tmp_name()
    _copy_out(store, digest, tmp, want)
    os.utime(tmp, ns=(CACHE_MTIME_NS, CACHE_MTIME_NS))
    os.replace(tmp, path)  # a modified cache file is replaced, never written in place
    return path
