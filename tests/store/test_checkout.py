"""Checkouts: read-only, executable bits kept, never writing or pointing outside the folder."""
from __future__ import annotations

import os
import stat

import pytest

from canalis.store import TreeEntry
from canalis.store.errors import CheckoutTargetError, UnsafePathError
from canalis.store.tree import TREE_MAGIC

from store_helpers import write


def _files(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, root)] = os.readlink(p) if os.path.islink(p) else open(p, "rb").read()
    return out


@pytest.mark.parametrize("link", [False, True], ids=["copy", "hardlink"])
def test_checkout_reproduces_the_folder(store, tmp_path, link):
    src = write(tmp_path / "src", {"a.txt": "a", "sub/b.bin": os.urandom(5000), "run.sh": "#!/bin/sh\necho hi\n"})
    os.chmod(src / "run.sh", 0o755)
    os.symlink("sub/b.bin", src / "link")
    tree = store.snapshot(src).tree
    dest = tmp_path / "out"
    store.checkout(tree, dest, link=link)
    assert _files(dest) == _files(src)
    assert os.stat(dest / "run.sh").st_mode & 0o111 == 0o111
    assert os.stat(dest / "a.txt").st_mode & 0o111 == 0
    for name in ("a.txt", "run.sh", "sub/b.bin"):
        assert stat.S_IMODE(os.stat(dest / name).st_mode) & 0o222 == 0, name
    assert store.snapshot(dest).tree == tree


@pytest.mark.parametrize("link", [False, True], ids=["copy", "hardlink"])
def test_writing_to_a_checked_out_file_does_not_change_the_store(store, tmp_path, link):
    src = write(tmp_path / "src", {"data.csv": "1,2,3\n"})
    tree = store.snapshot(src).tree
    (digest,) = [e.digest for e in store.get_tree(tree)]
    store.checkout(tree, tmp_path / "one", link=link)
    victim = tmp_path / "one" / "data.csv"
    os.chmod(victim, 0o644)  # the owner (or root) can always do this
    victim.write_text("tampered\n")
    assert store.get_bytes(digest, verify=True) == b"1,2,3\n"
    store.checkout(tree, tmp_path / "two", link=link)
    assert (tmp_path / "two" / "data.csv").read_text() == "1,2,3\n"
    assert store.verify(repair=True).ok


def test_writable_checkout(store, tmp_path):
    src = write(tmp_path / "src", {"a.txt": "a"})
    store.checkout(store.snapshot(src).tree, tmp_path / "out", readonly=False)
    (tmp_path / "out" / "a.txt").write_text("changed")


def test_checkout_target_must_be_empty(store, tmp_path):
    tree = store.put_tree([])
    write(tmp_path / "full", {"x": "1"})
    with pytest.raises(CheckoutTargetError, match="not empty"):
        store.checkout(tree, tmp_path / "full")
    store.checkout(tree, tmp_path / "new" / "nested")
    assert os.listdir(tmp_path / "new" / "nested") == []


def _forged_tree(store, lines: list[bytes]) -> str:
    """A manifest written by hand, bypassing put_tree's checks."""
    return store.put_bytes(TREE_MAGIC + b"".join(lines))


@pytest.mark.parametrize(
    "path",
    [b"../escaped", b"a/../../escaped", b"/tmp/escaped-abs", b"./x", b"a//b"],
)
def test_malicious_manifest_paths_are_rejected(store, tmp_path, path):
    d = store.put_bytes(b"evil")
    tree = _forged_tree(store, [b"file 644 4 " + d.encode() + b" " + path + b"\n"])
    with pytest.raises(UnsafePathError):
        store.checkout(tree, tmp_path / "out" / "in")
    assert not (tmp_path / "out" / "escaped").exists()
    assert not os.path.exists("/tmp/escaped-abs")


def test_entry_under_a_symlink_is_rejected(store, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = store.put_bytes(str(outside).encode())
    rel_target = store.put_bytes(b"../outside")
    d = store.put_bytes(b"evil")
    for link_digest in (target, rel_target):
        lines = [
            b"symlink 777 1 " + link_digest.encode() + b" a\n",
            b"file 644 4 " + d.encode() + b" a/pwned\n",
        ]
        with pytest.raises(UnsafePathError):
            store.checkout(_forged_tree(store, lines), tmp_path / "out")
    assert os.listdir(outside) == []


@pytest.mark.parametrize("target", [b"/etc/passwd", b"../outside", b"sub/../../outside", b""])
def test_symlink_pointing_outside_is_refused(store, tmp_path, target):
    t = store.put_bytes(target)
    tree = _forged_tree(store, [b"symlink 777 %d " % len(target) + t.encode() + b" link\n"])
    with pytest.raises(UnsafePathError):
        store.checkout(tree, tmp_path / "out")
    assert not os.path.lexists(tmp_path / "out" / "link")


def test_symlink_chain_resolving_outside_is_refused(store, tmp_path):
    """Each link looks inside on its own; together they leave the folder."""
    dot, up = store.put_bytes(b"."), store.put_bytes(b"d/../escape")
    tree = store.put_tree([
        TreeEntry("d", "symlink", 0o777, 1, dot),
        TreeEntry("x", "symlink", 0o777, 11, up),
    ])
    with pytest.raises(UnsafePathError, match="outside"):
        store.checkout(tree, tmp_path / "out")


def test_symlink_snapshot_of_outside_link_is_recorded_but_checkout_refuses(store, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    os.symlink("/etc", src / "etc")
    tree = store.snapshot(src).tree
    with pytest.raises(UnsafePathError, match="absolute"):
        store.checkout(tree, tmp_path / "out")


def test_checkout_file(store, tmp_path):
    d = store.put_bytes(b"model weights")
    store.checkout_file(d, tmp_path / "m" / "model.bin")
    assert (tmp_path / "m" / "model.bin").read_bytes() == b"model weights"
    assert stat.S_IMODE(os.stat(tmp_path / "m" / "model.bin").st_mode) == 0o444
    with pytest.raises(CheckoutTargetError):
        store.checkout_file(d, tmp_path / "m" / "model.bin")
