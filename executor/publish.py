"""Copying a step's output tree to its datastore destination.

The destination (a path in the datastore, with `{run-id}` and `{output-name}` filled in) is
checked again here, where it is written: it must stay inside the datastore's folder with
every symlink followed. Each file is written to a temp file and renamed into place, so a
symlink already in the datastore is replaced, never written through; a folder on the way
that is a symlink leading out of the datastore stops the copy before anything is written
there. Files already at the destination that the tree does not hold are kept (a merge).
"""
from __future__ import annotations

import os
import posixpath
import uuid

from canalis.executor import paths
from canalis.store.checkout import symlinks_of
from canalis.store.tree import FILE


def publish_tree(store, tree: str, root, rel: str, what: str, root_label: str) -> str:
    """Write `tree` under `root/rel`; returns the folder written."""
    rel = paths.check_relative(rel, what, root_label)
    root_real = os.path.realpath(root)
    paths.resolve_inside(root_real, rel, what, root_label)
    entries = store.get_tree(tree)  # paths are relative, normalised, free of '..' (checked by the store)
    links = symlinks_of(store, entries)
    target_dir = paths.make_dirs_inside(root_real, rel, what, root_label)
    for e in entries:
        if e.type == FILE:
            with store.open(e.digest, verify=True) as src:
                paths.write_inside(target_dir, e.path, src, what, root_label, mode=e.mode)
    for e, link_target in links:
        parent = paths.make_dirs_inside(target_dir, posixpath.dirname(e.path), what, root_label)
        tmp = os.path.join(parent, f".canalis-link-{uuid.uuid4().hex[:12]}")
        os.symlink(link_target, tmp)
        os.replace(tmp, os.path.join(parent, posixpath.basename(e.path)))
    return target_dir
