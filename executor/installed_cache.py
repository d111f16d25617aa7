"""What the current interpreter has installed, kept between processes of one workspace.

`freeze.installed` lists every folder of the interpreter's path (the standard library's
hundreds of names included) to find the distribution folders: about a millisecond, paid by
every process that records a step on the current interpreter, a no-op re-submit included.
Its answer depends only on the names in those folders, and a folder's modification time
changes whenever a name in it is added, removed or renamed (installing, upgrading or removing
a distribution does all three). So the answer is kept in `.canalis/envs/installed.json`
with the path it was read for and each folder's (mtime, inode, device) taken before reading,
and handed out again while every folder still stats the same.

A folder changed within a clock tick or two of the reading could change again without its
time moving: such an answer is not kept (`statcache.trusted`, the rule of the snapshot stat
cache). A file that cannot be read or written only costs the listing.
"""
from __future__ import annotations

import json
import os
import time

from canalis.store.statcache import trusted

FILE_NAME = "installed.json"
FORMAT = 1


def _stats(path: list[str]) -> list:
    out = []
    for entry in path:
        try:
            st = os.stat(entry or ".")
        except OSError:
            out.append(None)
            continue
        out.append([st.st_mtime_ns, st.st_ino, st.st_dev])
    return out


def installed(path: list[str], folder, listing) -> list[str]:
    """`listing(path)` (freeze.installed), or its answer kept in `folder` when no folder of
    `path` changed since it was kept."""
    where = os.path.join(os.fspath(folder), FILE_NAME)
    now = time.time_ns()
    stats = _stats(path)
    try:
        with open(where, encoding="utf-8") as f:
            kept = json.load(f)
        if kept.get("format") == FORMAT and kept.get("path") == list(path) and kept.get("stats") == stats:
            return list(kept["packages"])
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        pass  # none kept yet, or unreadable, damaged or of another format: list again (and keep that)
    packages = list(listing(list(path)))
    if all(s is None or trusted(s[0], now) for s in stats):
        _keep(where, {"format": FORMAT, "path": list(path), "stats": stats, "packages": packages})
    return packages


def _keep(where: str, doc: dict) -> None:
    tmp = f"{where}.{os.getpid()}-{os.urandom(4).hex()}.tmp"
    try:
        os.makedirs(os.path.dirname(where), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.replace(tmp, where)
    except OSError:  # read-only or full: the next process lists again
        try:
            os.unlink(tmp)
        except OSError:
            pass


__all__ = ["FILE_NAME", "installed"]
