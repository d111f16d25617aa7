"""Whether the warm process's module files may have changed: told by the kernel (inotify).

Before it hands a submit over, the warm process makes sure that no module file it imported has
changed since (server.changed_code: a stat of each, about 200 files, 0.5 to 1 ms). An inotify
watch on the folders holding those files says when anything in them was written, created,
removed, renamed or had its attributes changed; while nothing was, the stats are skipped. The
kernel queues an event when the change is made, so a change finished before the client
connected is always in the queue by the time the warm process looks.

Any event, of any file in those folders (or a full queue), only means "stat them all": the stat
comparison stays the judge. Where inotify cannot be had (another system, no watches left, a
folder that cannot be watched) `quiet()` is always False, and every submit gets the stats, as
without it. A file system whose changes other machines make (NFS) raises no events here, so
files there are not watched: the caller stats those every time (`unwatched`).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x002, 0x004, 0x008
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x040, 0x080, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF)

#: file systems (/proc/self/mountinfo) whose files another machine, or a user-space server,
#: may change without an event here
REMOTE = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse", "9p", "ceph", "glusterfs", "lustre", "afs"}


class Watch:
    """An inotify watch of the folders of `paths`. `quiet()` tells whether none of them has
    changed since the last call."""

    def __init__(self, paths):
        self.fd: int | None = None
        folders = sorted({os.path.dirname(p) for p in paths})
        #: the paths in folders that cannot be watched, or only on a remote file system
        self.unwatched: set[str] = set(paths)
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (OSError, AttributeError):
            return
        if fd < 0:
            return
        watched = set()
        mounts = _mounts()
        for folder in folders:
            if _remote(folder, mounts) or libc.inotify_add_watch(fd, os.fsencode(folder), MASK) < 0:
                continue
            watched.add(folder)
        if not watched:
            os.close(fd)
            return
        self.fd = fd
        self.unwatched = {p for p in paths if os.path.dirname(p) not in watched}

    def quiet(self) -> bool:
        """True when no watched folder has had an event since the last call; the events are
        taken off the queue either way (a False is said once per burst of changes)."""
        if self.fd is None:
            return False
        changed = False
        while True:
            try:
                if not os.read(self.fd, 1 << 16):
                    return not changed
            except BlockingIOError:
                return not changed
            except OSError:
                return False
            changed = True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _mounts() -> list[tuple[str, str]] | None:
    """(mount point, file system type) of every mount, from /proc/self/mountinfo; None when unknown."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            lines = [line.split() for line in f]
    except OSError:
        return None
    out = []
    for fields in lines:
        try:
            out.append((fields[4].replace("\\040", " "), fields[fields.index("-") + 1]))
        except (IndexError, ValueError):
            continue
    return out


def _remote(folder: str, mounts) -> bool:
    """Whether `folder` is on a network or user-space file system, where inotify does not see
    every change (or the mounts are unknown)."""
    if mounts is None:
        return True
    real = os.path.realpath(folder)
    best, kind = "", ""
    for mount_point, fs_type in mounts:
        inside = real == mount_point or real.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, kind = mount_point, fs_type
    return kind.split(".")[0] in REMOTE
