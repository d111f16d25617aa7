"""Compare a stored tree with a folder, as a snapshot of the folder would see it, without
storing anything: the one check that tells whether a tree holds what its source holds
(`verify` sees only whether entries agree with their blobs' sizes).

Every file is read and hashed (BLAKE3, all cores for large files), so this costs about
what a cold snapshot costs, minus compression and writing.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from canalis.store.blob import hash_bytes, hash_path
from canalis.store.errors import SnapshotError
from canalis.store.snapshot import walk
from canalis.store.tree import FILE, SYMLINK, file_mode


def _describe(e) -> dict:
    return {"type": e[0], "mode": f"{e[1]:o}", "size": e[2], "digest": e[3]}


def compare(store, tree: str, folder, ignore: bool = True) -> dict:
    """{"same", "differ": [{"path", "tree": {...}, "folder": {...}}], "only_in_tree": [paths],
    "only_in_folder": [paths], "files"}. `ignore` as for the snapshot that made `tree`
    (source snapshots honour ignore files; step outputs and datasets do not)."""
    root = os.path.realpath(folder)
    if not os.path.isdir(root):
        raise SnapshotError(folder, "it is not a folder")
    stored = {e.path: (e.type, e.mode, e.size, e.digest) for e in store.get_tree(tree)}
    files, links, _, _ = walk(root, ignore)
    try:
        with ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
            digests = list(pool.map(lambda f: hash_path(f[1], f[2].st_size), files))
    except FileNotFoundError as e:
        raise SnapshotError(e.filename, "a file disappeared while the folder was read; compare again") from None
    except PermissionError as e:
        raise SnapshotError(e.filename, "a file cannot be read; fix its permissions or ignore it") from None
    on_disk = {rel: (FILE, file_mode(st.st_mode), st.st_size, d) for (rel, _, st), d in zip(files, digests)}
    for rel, path in links:
        target = os.fsencode(os.readlink(path))
        on_disk[rel] = (SYMLINK, 0o777, len(target), hash_bytes(target))
    differ = [{"path": p, "tree": _describe(stored[p]), "folder": _describe(on_disk[p])}
              for p in sorted(stored.keys() & on_disk.keys()) if stored[p] != on_disk[p]]
    only_tree = sorted(stored.keys() - on_disk.keys())
    only_folder = sorted(on_disk.keys() - stored.keys())
    return {"same": not (differ or only_tree or only_folder), "files": len(on_disk), "differ": differ,
            "only_in_tree": only_tree, "only_in_folder": only_folder}


def compare_files(store, tree: str, mapping: dict) -> dict:
    """Compare a stored tree with chosen files ({path in the tree: file on disk}, what
    `put_files` would make a tree of: links followed), without storing anything. A file whose
    size differs from its entry is not read; the others are hashed. Modes are not compared:
    the question is whether the content changed. Returns {"same", "files", "differ": [paths
    whose content differs], "only_in_tree": [paths], "only_in_files": [paths]}."""
    stored = {e.path: e for e in store.get_tree(tree)}
    chosen = {rel: os.fspath(p) for rel, p in mapping.items()}
    try:
        sizes = {rel: os.stat(p).st_size for rel, p in chosen.items()}
    except FileNotFoundError as e:
        raise SnapshotError(e.filename, "a file disappeared while the files were read; compare again") from None
    common = sorted(stored.keys() & chosen.keys())
    differ = [rel for rel in common if stored[rel].type != FILE or stored[rel].size != sizes[rel]]
    same_size = [rel for rel in common if rel not in differ]
    try:
        with ThreadPoolExecutor(max(2, os.cpu_count() or 1)) as pool:
            digests = list(pool.map(lambda rel: hash_path(chosen[rel], sizes[rel]), same_size))
    except FileNotFoundError as e:
        raise SnapshotError(e.filename, "a file disappeared while the files were read; compare again") from None
    except PermissionError as e:
        raise SnapshotError(e.filename, "a file cannot be read; fix its permissions") from None
    differ += [rel for rel, d in zip(same_size, digests) if d != stored[rel].digest]
    only_tree = sorted(stored.keys() - chosen.keys())
    only_files = sorted(chosen.keys() - stored.keys())
    return {"same": not (differ or only_tree or only_files), "files": len(chosen),
            "differ": sorted(differ), "only_in_tree": only_tree, "only_in_files": only_files}
