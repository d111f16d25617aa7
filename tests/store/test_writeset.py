"""Write sets (`store.together()`): puts that become durable and visible together, in one pack,
at the end of the `with` block; an exception inside it leaves nothing behind."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore
from canalis.store.errors import SnapshotError
from canalis.store.pack import read_index


def packs_of(store) -> list[str]:
    d = store.root / "packs"
    return sorted(os.listdir(d)) if d.exists() else []


def loose_of(store) -> set[str]:
    return {f for d in store.root.iterdir() if len(d.name) == 2 and d.is_dir() for f in os.listdir(d)}


_blobs = st.lists(st.binary(max_size=300), max_size=12)
_files = st.dictionaries(st.from_regex(r"[a-z]{1,6}(/[a-z]{1,6})?", fullmatch=True), st.binary(max_size=300), max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blobs=_blobs, files=_files, fail=st.booleans())
def test_a_write_set_shows_all_of_its_objects_at_its_end_or_none(tmp_path_factory, blobs, files, fail):
    root = tmp_path_factory.mktemp("ws")
    store = LocalStore(root / "objects")
    folder = root / "folder"
    folder.mkdir()
    for rel, data in files.items():
        if any(other.startswith(rel + "/") for other in files):
            continue  # a name that is also a folder
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    names = []
    try:
        with store.together() as ws:
            names = [ws.put_bytes(b) for b in blobs]
            tree = ws.snapshot(folder, ignore=False).tree
            names.append(tree)
            assert not any(store.exists(d) for d in names)  # nothing visible before the end
            if fail:
                raise KeyError("stop")
    except KeyError:
        assert fail
    if fail:
        assert not any(store.exists(d) for d in names) and loose_of(store) == set() and packs_of(store) == []
    else:
        assert [store.get_bytes(d, verify=True) for d in names[:-1]] == blobs
        assert {e.path: store.get_bytes(e.digest, verify=True) for e in store.get_tree(tree)} == {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
        assert loose_of(store) == set() and len(packs_of(store)) <= 1  # small objects: one pack, trees too
    assert os.listdir(store.root / "tmp") == []


def test_a_write_set_syncs_its_pack_and_its_folder_once(store, tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.txt").write_text("a")
    (tmp_path / "log").write_bytes(b"log line\n")
    synced, real = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])  # a spy: still syncs
    with store.together() as ws:
        log = ws.put_file(tmp_path / "log")
        tree = ws.snapshot(tmp_path / "out").tree
        files = ws.put_files({"x/log": tmp_path / "log"}).tree
    assert len(synced) == 2
    (pack,) = packs_of(store)
    held = {e.digest for e in read_index(str(store.root / "packs" / pack))}
    assert {log, tree, files, store.get_tree(tree)[0].digest} <= held


def test_a_log_that_changed_since_it_was_hashed_is_refused_and_nothing_is_kept(store, tmp_path):
    (tmp_path / "log").write_bytes(b"one")
    with pytest.raises(SnapshotError, match="changed while it was being stored"):
        with store.together() as ws:
            ws.put_bytes(b"kept only with the rest")
            ws.put_file(tmp_path / "log", digest="0" * 64)
    assert packs_of(store) == [] and os.listdir(store.root / "tmp") == []


def test_a_write_set_is_used_once(store):
    with store.together() as ws:
        ws.put_bytes(b"x")
    with pytest.raises(RuntimeError, match="committed or discarded"):
        ws.put_bytes(b"y")
    with pytest.raises(ValueError, match="stat cache"):
        store.together().snapshot(".", stat_cache=True)
