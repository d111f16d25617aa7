"""Making writes durable: fsync of a file or folder, syncfs(2) of a whole filesystem."""
from __future__ import annotations

import os


def fsync_path(path: str) -> None:
    """fsync a file or a folder by path (a folder's fsync makes renames into it durable)."""
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


def make_durable(paths, filesystem: str, each_max: int = 8) -> None:
    """fsync each of `paths`, or one syncfs of `filesystem` when there are more than `each_max`."""
    paths = list(paths)
    if len(paths) > each_max:
        syncfs(filesystem)
    else:
        for p in paths:
            fsync_path(p)
