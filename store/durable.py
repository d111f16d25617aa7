"""Making writes durable: fsync of a file or folder, syncfs(2) of a whole filesystem; and
starting the write-back of a file's bytes early (sync_file_range(2)), which makes nothing
durable by itself."""
from __future__ import annotations

import os


def fsync_path(path: str) -> None:
    """fsync a file or a folder by path (a folder's fsync makes renames into it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_SYNC_FILE_RANGE_WRITE = 2
_sync_file_range = []  # [the libc function, or None where there is none], looked up once


def start_writeback(path: str, offset: int, length: int) -> None:
    """Start writing `length` bytes at `offset` of the file at `path` to the disk, without
    waiting (Linux sync_file_range(2) with SYNC_FILE_RANGE_WRITE; elsewhere nothing). The
    later `fsync` then has little left to write, and the disk works while the writer goes
    on. It makes nothing durable: only `fsync` does (it also writes the file's metadata and
    flushes the disk's cache)."""
    if not _sync_file_range:
        try:
            import ctypes

            fn = ctypes.CDLL(None, use_errno=True).sync_file_range
            fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
            _sync_file_range.append(fn)
        except (OSError, AttributeError):
            _sync_file_range.append(None)
    fn = _sync_file_range[0]
    if fn is None:
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:  # the batch was discarded meanwhile
        return
    try:
        fn(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # a failure here is met again by the fsync
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
