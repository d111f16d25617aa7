"""Step outputs, as SDK v1 had them: a path that is not made in advance.

A step gets `outputs/<name>` as the path of each output; only `outputs/` exists when it
starts. It may make a folder there and write files into it, or write one file at that path
(SDK v1's AutoML article writes a Parquet file at its PipelineData path). Either way the
output is stored as a tree: a folder as its contents, one file as a tree holding that one
file under the output's name. A tree of exactly one file named like the output is read back
as a file output: the steps that read it get the file's path, as they would on Azure (so a
folder output holding only a file of its own name is read as that file; see
docs/pipelines.md). A step that writes nothing there leaves an empty folder output.
"""
from __future__ import annotations

import os
from pathlib import Path


def snapshot(store, path: Path, name: str) -> str:
    """The tree of what the step left at its output path `path` (a folder, one file, or nothing)."""
    if os.path.isfile(path) and not os.path.islink(path):
        return store.put_files({name: path}).tree
    if not os.path.lexists(path):
        path.mkdir(parents=True)
    return store.snapshot(path, ignore=False, stat_cache=False).tree


def file_output(store, tree: str, name: str) -> bool:
    """Whether the output `name` stored as `tree` is one file (see the module docstring)."""
    return is_one_file(store.get_tree(tree), name)


def is_one_file(entries, name: str) -> bool:
    """Whether a tree of these entries is the output `name` stored as one file."""
    return len(entries) == 1 and entries[0].path == name and entries[0].type == "file"
