"""Snapshot then checkout gives back every byte, under every path, whatever the mix of sizes.

The property runs over generated folders (empty to a few hundred files, 0 bytes to several
MiB, nested folders, unicode names) for every worker count, with and without the stat cache.
Sizes are drawn around the thresholds that change how a file is stored: packed versus loose
(`pack.PACKABLE`), read whole versus streamed (`blob.SMALL_FILE`), and the grouping limits
of the snapshot workers.
"""
from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canalis.store import LocalStore
from canalis.store import blob as _blob
from canalis.store import pack as _pack
from canalis.store import snapshot as _snapshot

from store_helpers import age_tree

_THRESHOLDS = sorted({_pack.PACKABLE, _blob.SMALL_FILE, 4 << 20})
_SIZES = st.one_of(
    st.integers(0, 64),
    st.integers(0, 8192),
    st.sampled_from([t + d for t in _THRESHOLDS for d in (-1, 0, 1)]),
    st.integers(0, 6 << 20),
)
_name = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0\\"), min_size=1, max_size=10
).filter(lambda s: s not in (".", "..", ".canalis", ".git", ".gitignore", ".amlignore") and len(s.encode()) < 200)


@st.composite
def folders(draw, max_files=60):
    """{relative path: (size, seed)}: nested folders, no path under another file."""
    n = draw(st.integers(0, max_files))
    paths: dict[str, tuple[int, int]] = {}
    for i in range(n):
        parts = draw(st.lists(_name, min_size=1, max_size=3))
        rel = "/".join(parts)
        if any(rel == p or rel.startswith(p + "/") or p.startswith(rel + "/") for p in paths):
            continue
        paths[rel] = (draw(_SIZES), i)
    return paths


def _materialise(root: Path, spec: dict) -> dict[str, bytes]:
    """Write the files; each file's bytes are distinct (seeded by its index and size)."""
    content = {}
    for rel, (size, seed) in spec.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        data = random.Random(f"{seed}:{size}").randbytes(size)
        p.write_bytes(data)
        content[rel] = data
    return content


def _read_back(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            p = Path(dirpath) / name
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def _check_round_trip(store: LocalStore, src: Path, dest: Path, want: dict, **kw) -> str:
    tree = store.snapshot(src, **kw).tree
    if dest.exists():
        shutil.rmtree(dest)
    store.checkout(tree, dest)
    got = _read_back(dest)
    assert sorted(got) == sorted(want)
    wrong = [rel for rel in want if got[rel] != want[rel]]
    assert not wrong, f"{len(wrong)} of {len(want)} files came back with other bytes: {wrong[:5]}"
    for e in store.get_tree(tree):
        assert e.size == len(want[e.path]) == store.size(e.digest)
    return tree


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=folders(), workers=st.sampled_from([1, 2, 3, 8]))
def test_snapshot_then_checkout_gives_back_every_byte(spec, workers):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = LocalStore(tmp / "objects")
        want = _materialise(tmp / "src", spec)
        (tmp / "src").mkdir(exist_ok=True)
        cold = _check_round_trip(store, tmp / "src", tmp / "out", want, stat_cache=False, workers=workers)
        first = _check_round_trip(store, tmp / "src", tmp / "out", want, workers=workers)
        age_tree(tmp / "src")  # now the stat cache trusts the files and answers for all of them
        _check_round_trip(store, tmp / "src", tmp / "out", want, workers=workers)
        warm = store.snapshot(tmp / "src", workers=workers)
        assert warm.cached == len(spec) and warm.hashed == 0
        assert cold == first == warm.tree
        assert store.verify().ok


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=folders(max_files=30), workers=st.sampled_from([1, 2, 5]))
def test_put_files_pairs_every_path_with_its_bytes(spec, workers):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = LocalStore(tmp / "objects")
        want = _materialise(tmp / "src", spec)
        tree = store.put_files({rel: tmp / "src" / rel for rel in want}, workers=workers).tree
        store.checkout(tree, tmp / "out")
        assert _read_back(tmp / "out") == want


def test_large_file_among_small_ones_keeps_every_path(store, tmp_path):
    """The reported case: five small text files and one 5 MiB file, one file listed before it."""
    src = tmp_path / "src"
    src.mkdir()
    want = {f"s{i}.txt": f"small file {i}\n".encode() * (i + 1) for i in range(5)}
    want["big.bin"] = os.urandom(5 << 20)
    for i in range(3):
        want[f"z{i}.txt"] = f"after {i}".encode()
    for rel, data in want.items():
        (src / rel).write_bytes(data)
    for workers in (1, 2, 4):
        _check_round_trip(store, src, tmp_path / f"out{workers}", want, workers=workers, stat_cache=False)


def test_worker_count_must_be_positive(store, tmp_path):
    (tmp_path / "a").write_text("a")
    with pytest.raises(ValueError, match="workers"):
        store.snapshot(tmp_path, workers=0)


def test_default_workers_follow_cores():
    assert _snapshot.default_workers() >= 2
