"""Ignore rules of snapshots, as a table: files on disk -> paths in the tree."""
from __future__ import annotations

import pytest

from store_helpers import write

CASES = [
    ("no ignore file", {"a.py": "", "b/c.txt": ""}, ["a.py", "b/c.txt"]),
    ("simple glob", {".gitignore": "*.log\n", "a.log": "", "b/c.log": "", "d.txt": ""}, [".gitignore", "d.txt"]),
    ("amlignore wins over gitignore", {".amlignore": "*.csv\n", ".gitignore": "*.txt\n", "a.csv": "", "b.txt": ""},
     [".amlignore", ".gitignore", "b.txt"]),
    ("empty amlignore still hides gitignore", {".amlignore": "", ".gitignore": "*.txt\n", "b.txt": ""},
     [".amlignore", ".gitignore", "b.txt"]),
    ("negation", {".gitignore": "*.log\n!keep.log\n", "a.log": "", "keep.log": "", "s/keep.log": ""},
     [".gitignore", "keep.log", "s/keep.log"]),
    ("directory pattern matches folders only",
     {".gitignore": "build/\n", "build/x.o": "", "src/build/y.o": "", "notes/build": ""},
     [".gitignore", "notes/build"]),
    ("anchored pattern", {".gitignore": "/top.txt\n", "top.txt": "", "sub/top.txt": ""}, [".gitignore", "sub/top.txt"]),
    ("pattern with a slash is anchored", {".gitignore": "doc/*.md\n", "doc/a.md": "", "x/doc/a.md": ""},
     [".gitignore", "x/doc/a.md"]),
    ("double star", {".gitignore": "**/cache/**\n", "a/cache/x": "", "cache/y": "", "a/b": ""}, [".gitignore", "a/b"]),
    ("nested file applies to its folder",
     {".gitignore": "*.tmp\n", "sub/.gitignore": "*.dat\n", "x.dat": "", "sub/y.dat": "", "sub/z.tmp": ""},
     [".gitignore", "sub/.gitignore", "x.dat"]),
    ("nested negation overrides the parent",
     {".gitignore": "*.dat\n", "sub/.gitignore": "!keep.dat\n", "a.dat": "", "sub/keep.dat": "", "sub/b.dat": ""},
     [".gitignore", "sub/.gitignore", "sub/keep.dat"]),
    ("nested amlignore hides only the nested gitignore",
     {".gitignore": "*.a\n", "sub/.gitignore": "*.b\n", "sub/.amlignore": "*.c\n",
      "sub/x.a": "", "sub/x.b": "", "sub/x.c": ""},
     [".gitignore", "sub/.amlignore", "sub/.gitignore", "sub/x.b"]),
    ("nested pattern anchored to its own folder",
     {"sub/.gitignore": "/only.txt\n", "only.txt": "", "sub/only.txt": "", "sub/deep/only.txt": ""},
     ["only.txt", "sub/.gitignore", "sub/deep/only.txt"]),
    ("file in an ignored folder cannot be re-included",
     {".gitignore": "logs/\n!logs/keep.txt\n", "logs/keep.txt": "", "x": ""}, [".gitignore", "x"]),
    ("ignoring the contents but re-including one file",
     {".gitignore": "logs/*\n!logs/keep.txt\n", "logs/keep.txt": "", "logs/drop.txt": ""},
     [".gitignore", "logs/keep.txt"]),
    ("comments and blank lines", {".gitignore": "# *.py\n\n*.pyc\n", "a.py": "", "a.pyc": ""}, [".gitignore", "a.py"]),
    (".canalis and .git are never included", {".canalis/x": "", ".git/HEAD": "", "sub/.git/y": "", "a": ""}, ["a"]),
]


@pytest.mark.parametrize("name, files, expected", CASES, ids=[c[0] for c in CASES])
def test_ignore_rules(store, tmp_path, name, files, expected):
    root = write(tmp_path / "src", files)
    r = store.snapshot(root)
    assert [e.path for e in store.get_tree(r.tree)] == sorted(expected)
    assert r.files == len(expected)


def test_ignored_count_and_ignore_false(store, tmp_path):
    root = write(tmp_path / "src", {".gitignore": "*.log\nbuild/\n", "a.log": "", "build/x": "", "k": "", ".git/c": ""})
    r = store.snapshot(root)
    assert (r.files, r.ignored) == (2, 2)  # a.log and the folder build/
    r = store.snapshot(root, ignore=False)
    assert [e.path for e in store.get_tree(r.tree)] == [".gitignore", "a.log", "build/x", "k"]
    assert r.ignored == 0
