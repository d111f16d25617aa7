"""Step outputs written as one file or as a folder (executor/outputs.py): stored as a tree, and
read back as a file exactly when the step wrote one file at the output's path."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.executor import outputs
from canalis.store.local import LocalStore

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
contents = st.binary(max_size=2048)


@settings(max_examples=60, deadline=None)
@given(name=names, data=contents)
def test_one_file_at_the_path_round_trips_as_a_file(name, data):
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "objects")
        path = Path(tmp) / "outputs" / name
        path.parent.mkdir()
        path.write_bytes(data)
        tree = outputs.snapshot(store, path, name)
        assert outputs.file_output(store, tree, name)
        (entry,) = store.get_tree(tree)
        assert store.get_bytes(entry.digest) == data


@settings(max_examples=60, deadline=None)
@given(name=names, files=st.dictionaries(names, contents, min_size=0, max_size=4))
def test_a_folder_is_a_file_output_only_when_it_holds_just_a_file_named_like_the_output(name, files):
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(Path(tmp) / "objects")
        folder = Path(tmp) / "outputs" / name
        folder.mkdir(parents=True)
        for rel, data in files.items():
            (folder / rel).write_bytes(data)
        tree = outputs.snapshot(store, folder, name)
        assert {e.path for e in store.get_tree(tree)} == set(files)
        assert outputs.file_output(store, tree, name) == (set(files) == {name})


def test_nothing_written_is_an_empty_folder_output(tmp_path):
    store = LocalStore(tmp_path / "objects")
    tree = outputs.snapshot(store, tmp_path / "outputs" / "never", "never")
    assert store.get_tree(tree) == [] and not outputs.file_output(store, tree, "never")
