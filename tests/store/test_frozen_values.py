"""The store's small values (store/frozen.py) behave as the frozen dataclasses they were:
construction by position or keyword, defaults, repr, equality and hashing by field values,
`TreeEntry`'s ordering, and assignment refused; declaring them loads no `dataclasses`."""
from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from dataclasses import dataclass, field

import pytest
from hypothesis import given, strategies as st

from canalis.store.local import Location, ObjectInfo
from canalis.store.pack import Entry
from canalis.store.snapshot import SnapshotResult
from canalis.store.tree import TreeEntry


@dataclass(frozen=True, order=True)
class TreeEntryTwin:
    path: str
    type: str
    mode: int
    size: int
    digest: str


@dataclass(frozen=True)
class SnapshotResultTwin:
    tree: str
    files: int
    bytes: int
    ignored: int = 0
    hashed: int = 0
    cached: int = 0
    skipped: list = field(default_factory=list)


texts = st.text(max_size=4)
ints = st.integers(-3, 3)
entries = st.tuples(texts, st.sampled_from(["file", "symlink"]), st.sampled_from([0o644, 0o755]), ints, texts)


@given(entries, entries)
def test_a_tree_entry_is_its_dataclass_twin(a, b):
    x, y, tx, ty = TreeEntry(*a), TreeEntry(*b), TreeEntryTwin(*a), TreeEntryTwin(*b)
    assert repr(x) == repr(tx).replace("TreeEntryTwin(", "TreeEntry(", 1)
    assert (x == y, x < y, x <= y, x > y, x >= y) == (tx == ty, tx < ty, tx <= ty, tx > ty, tx >= ty)
    assert hash(x) == hash(tx) and (hash(x) == hash(y)) == (hash(tx) == hash(ty))
    assert sorted([x, y]) == [TreeEntry(*dataclasses.astuple(t)) for t in sorted([tx, ty])]
    assert TreeEntry(**dict(zip(("path", "type", "mode", "size", "digest"), a))) == x
    assert x != tx and x != a  # another class is never equal
    with pytest.raises(TypeError):
        x < a  # nor ordered against another class
    assert pickle.loads(pickle.dumps(x)) == x


@given(texts, ints, ints, st.lists(texts, max_size=2))
def test_the_other_values_are_their_dataclass_twins(tree, files, size, skipped):
    r, twin = SnapshotResult(tree, files, size, skipped=skipped), SnapshotResultTwin(tree, files, size, skipped=skipped)
    assert repr(r) == repr(twin).replace("SnapshotResultTwin(", "SnapshotResult(", 1)
    assert SnapshotResult(tree=tree, files=files, bytes=size).skipped == []
    assert SnapshotResult(tree, files, size).skipped is not SnapshotResult(tree, files, size).skipped
    assert r == SnapshotResult(tree, files, size, 0, 0, 0, list(skipped)) != SnapshotResult(tree, files + 1, size)
    loc = Location(tree, "p", files, None)
    assert loc == Location(digest=tree, path="p", offset=files, length=None, pack=None) and hash(loc) == hash(
        Location(tree, "p", files, None))
    assert repr(loc) == f"Location(digest={tree!r}, path='p', offset={files!r}, length=None, pack=None)"
    assert Entry(tree, files, size) == Entry(digest=tree, offset=files, length=size) != Entry(tree, files, size + 1)
    assert ObjectInfo(tree, files, 1.5, None) == ObjectInfo(tree, files, 1.5, None)


@pytest.mark.parametrize("value", [TreeEntry("a", "file", 0o644, 1, "d"), Entry("d", 0, 1), Location("d", "p", 0, 1),
                                   ObjectInfo("d", 1, 0.0, None), SnapshotResult("t", 1, 1)])
def test_a_value_refuses_assignment_and_deletion(value):
    name = type(value)._fields[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, name, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(value, name)
    with pytest.raises(TypeError):
        type(value)()  # the fields without default are required


def test_the_store_loads_no_dataclasses():
    code = ("import sys, canalis.store.local, canalis.store.snapshot, canalis.store.pack, canalis.store.tree; "
            "print(sorted(m for m in ('dataclasses', 'inspect') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"
