"""Trees: canonical manifests whose digest depends on content only."""
from __future__ import annotations

import os
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore, TreeEntry
from canalis.store.errors import InvalidTreeError, NotATreeError, UnsafePathError
from canalis.store.tree import decode_manifest, encode_manifest

from store_helpers import write

_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1, max_size=12
).filter(lambda s: s not in (".", ".."))


@settings(max_examples=80, deadline=None)
@given(paths=st.lists(st.lists(_name, min_size=1, max_size=3).map("/".join), min_size=0, max_size=12, unique=True),
       data=st.data())
def test_manifest_round_trip_and_order_independence(paths, data):
    # drop paths that lie under another path (a file cannot also be a folder)
    paths = [p for p in paths if not any(q != p and p.startswith(q + "/") for q in paths)]
    entries = [
        TreeEntry(p, "file", data.draw(st.sampled_from([0o644, 0o755])), data.draw(st.integers(0, 2**40)), f"{i:064x}")
        for i, p in enumerate(paths)
    ]
    m = encode_manifest(entries)
    assert decode_manifest(m) == sorted(entries, key=lambda e: e.path.encode())
    shuffled = data.draw(st.permutations(entries))
    assert encode_manifest(shuffled) == m


def test_manifest_bytes_are_exactly_as_documented():
    e = TreeEntry("a b/c%d.txt", "file", 0o755, 3, "ab" * 32)
    link = TreeEntry("l", "symlink", 0o777, 5, "cd" * 32)
    assert encode_manifest([link, e]) == (
        b"canalis-tree 1\n"
        b"file 755 3 " + b"ab" * 32 + b" a b/c%25d.txt\n"
        b"symlink 777 5 " + b"cd" * 32 + b" l\n"
    )


def test_tree_digest_independent_of_creation_order_and_location(store, tmp_path):
    files = {"b.txt": "bee", "a/x.bin": b"\x00\x01", "a/y/z.txt": "zed", "c": ""}
    one = write(tmp_path / "one", files)
    two = tmp_path / "elsewhere" / "deeper" / "two"
    for rel in reversed(list(files)):  # other creation order
        write(two, {rel: files[rel]})
    os.chmod(one / "b.txt", 0o755)
    os.chmod(two / "b.txt", 0o700)  # only the owner's exec bit matters
    three = tmp_path / "three"
    shutil.copytree(one, three)
    digests = {store.snapshot(p).tree for p in (one, two, three)}
    assert len(digests) == 1
    other = LocalStore(tmp_path / "other-store")
    assert other.snapshot(one).tree in digests


def test_mode_and_content_change_the_digest(store, tmp_path):
    root = write(tmp_path / "d", {"run.sh": "echo hi"})
    t1 = store.snapshot(root).tree
    os.chmod(root / "run.sh", 0o755)
    t2 = store.snapshot(root).tree
    assert t1 != t2
    assert store.get_tree(t2)[0].mode == 0o755


def test_get_tree_of_a_plain_blob_is_a_clear_error(store):
    d = store.put_bytes(b"just bytes")
    with pytest.raises(NotATreeError, match=d):
        store.get_tree(d)


@pytest.mark.parametrize(
    "entries, error",
    [
        ([TreeEntry("a", "file", 0o644, 1, "0" * 64)] * 2, InvalidTreeError),
        ([TreeEntry("a", "dir", 0o644, 1, "0" * 64)], InvalidTreeError),
        ([TreeEntry("a", "file", 0o600, 1, "0" * 64)], InvalidTreeError),
        ([TreeEntry("a", "file", 0o644, 1, "xyz")], InvalidTreeError),
        ([TreeEntry("../a", "file", 0o644, 1, "0" * 64)], UnsafePathError),
        ([TreeEntry("/a", "file", 0o644, 1, "0" * 64)], UnsafePathError),
        ([TreeEntry("a//b", "file", 0o644, 1, "0" * 64)], UnsafePathError),
        ([TreeEntry("a", "file", 0o644, 1, "0" * 64), TreeEntry("a/b", "file", 0o644, 1, "0" * 64)], UnsafePathError),
    ],
)
def test_put_tree_rejects_bad_entries(store, entries, error):
    with pytest.raises(error):
        store.put_tree(entries)


def test_symlinks_are_recorded_not_followed(store, tmp_path):
    root = write(tmp_path / "d", {"real.txt": "content"})
    os.symlink("real.txt", root / "link")
    os.symlink("/etc", root / "outside")
    os.symlink(tmp_path, root / "loop")
    r = store.snapshot(root)
    entries = {e.path: e for e in store.get_tree(r.tree)}
    assert set(entries) == {"real.txt", "link", "outside", "loop"}
    assert entries["link"].type == "symlink" and store.get_bytes(entries["link"].digest) == b"real.txt"
    assert store.get_bytes(entries["outside"].digest) == b"/etc"


def test_put_files_builds_a_tree_from_chosen_files(store, tmp_path):
    root = write(tmp_path / "d", {"a.csv": "1,2", "sub/b.csv": "3,4", "c.txt": "no"})
    r = store.put_files({"data/a.csv": root / "a.csv", "data/b.csv": root / "sub" / "b.csv"})
    assert r.files == 2 and r.bytes == 6
    assert [e.path for e in store.get_tree(r.tree)] == ["data/a.csv", "data/b.csv"]
    with pytest.raises(UnsafePathError):
        store.put_files({"../x": root / "a.csv"})
