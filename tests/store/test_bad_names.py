"""File names that are not UTF-8 text: refused by a snapshot, naming the file, never a traceback.

Tree manifests hold paths as UTF-8 text (docs/store-format.md). On Linux a file name is any
bytes but '/' and NUL, so a folder can hold a name such as b"\\xff.txt"; a snapshot refuses it
before storing anything, and a name that is UTF-8 comes back from a checkout byte for byte.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore
from canalis.store.errors import SnapshotError


def _folder(tmp_path, *names: bytes):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "ok.txt").write_text("ok")
    for name in names:
        path = os.path.join(os.fsencode(folder), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"content of " + name)
    return folder


def _objects(store) -> list:
    return list(store.iter_objects())


def test_a_non_utf8_file_name_is_refused_naming_the_file(store, tmp_path):
    folder = _folder(tmp_path, b"\xff.txt")
    with pytest.raises(SnapshotError, match=r"\\xff\.txt.*not valid UTF-8.*rename it"):
        store.snapshot(folder)
    assert _objects(store) == []  # refused before anything was stored


def test_a_non_utf8_folder_name_is_refused_naming_the_folder(store, tmp_path):
    folder = _folder(tmp_path, b"caf\xe9/data.csv")
    with pytest.raises(SnapshotError, match=r"caf\\xe9.*not valid UTF-8"):
        store.snapshot(folder, ignore=False, stat_cache=False)


def test_an_ignored_non_utf8_name_does_not_stop_the_snapshot(store, tmp_path):
    folder = _folder(tmp_path, b"\xff.tmp")
    (folder / ".gitignore").write_text("*.tmp\n")
    result = store.snapshot(folder)
    assert sorted(e.path for e in store.get_tree(result.tree)) == [".gitignore", "ok.txt"]


def test_put_files_refuses_a_non_utf8_name(store, tmp_path):
    folder = _folder(tmp_path, b"\xff.txt")
    bad = os.fsdecode(b"\xff.txt")
    with pytest.raises(SnapshotError, match="not valid UTF-8"):
        store.put_files({bad: os.path.join(folder, bad)})


def test_cli_snapshot_of_a_non_utf8_name_exits_1_with_a_message(tmp_path):
    ws = tmp_path / "ws"
    env = {**os.environ, "CANALIS_WORKSPACE": str(ws)}
    subprocess.run([sys.executable, "-m", "canalis", "init", str(ws)], check=True, capture_output=True, env=env)
    folder = _folder(tmp_path, b"\xff.txt")
    r = subprocess.run([sys.executable, "-m", "canalis", "store", "snapshot", str(folder)], capture_output=True, env=env)
    assert r.returncode == 1, r
    assert b"Traceback" not in r.stderr
    assert b"\\xff.txt" in r.stderr and b"not valid UTF-8" in r.stderr


# a name of 1-40 bytes: anything but '/' and NUL, and not '.' or '..'
names = st.binary(min_size=1, max_size=40).map(lambda b: b.replace(b"/", b"_").replace(b"\0", b"_")).filter(
    lambda b: b not in (b".", b"..", b".git", b".canalis")
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
def test_any_name_is_refused_or_comes_back_byte_for_byte(tmp_path_factory, name):
    tmp = tmp_path_factory.mktemp("names")
    store = LocalStore(tmp / "objects")
    folder = tmp / "src"
    folder.mkdir()
    with open(os.path.join(os.fsencode(folder), name), "wb") as f:
        f.write(b"x")
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(SnapshotError, match="not valid UTF-8"):
            store.snapshot(folder, ignore=False)
        return
    tree = store.snapshot(folder, ignore=False).tree
    store.checkout(tree, tmp / "out")
    assert os.listdir(os.fsencode(tmp / "out")) == [name]
