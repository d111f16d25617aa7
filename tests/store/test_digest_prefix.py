"""Digests by unique prefix: `LocalStore.resolve_prefix` (loose and packed blobs) and the
`canalis store cat | ls | checkout` commands that take one."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from canalis.store.errors import DigestPrefixError, InvalidDigestError
from canalis.store.local import LocalStore


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(contents=[b"\x04", b"+", b"\x02"], cut=1)  # digests beginning with 0, f and a
@given(contents=st.lists(st.binary(min_size=0, max_size=64), min_size=1, max_size=12, unique=True),
       cut=st.integers(min_value=1, max_value=64))
def test_a_prefix_names_the_one_blob_it_begins_or_lists_every_candidate(tmp_path_factory, contents, cut):
    store = LocalStore(tmp_path_factory.mktemp("objects"))
    digests = sorted({store.put_bytes(c) for c in contents})
    for d in digests:
        prefix = d[:cut]
        matching = [x for x in digests if x.startswith(prefix)]
        if len(matching) == 1:
            assert store.resolve_prefix(prefix) == d and store.resolve_prefix(prefix.upper()) == d
        else:
            with pytest.raises(DigestPrefixError) as e:
                store.resolve_prefix(prefix)
            assert e.value.candidates == matching[:9]
    short = min(cut, 63)  # (a whole digest is taken as it is, present or not)
    # at most 12 digests: at least 4 of the 16 one-digit repeats begin none of them
    absent = next(p for p in (c * short for c in "0123456789abcdef") if not any(x.startswith(p) for x in digests))
    with pytest.raises(DigestPrefixError, match="no blob or tree"):
        store.resolve_prefix(absent)


def test_packed_blobs_are_found_by_prefix_too(tmp_path):
    store = LocalStore(tmp_path / "objects")
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(20):
        (folder / f"f{i}.txt").write_text(f"small file {i}\n")
    tree = store.snapshot(folder).tree
    entries = store.get_tree(tree)
    assert any(store.locate(e.digest).pack for e in entries), "small files are packed"
    for e in entries:
        prefix = next(e.digest[:n] for n in range(4, 65) if sum(x.digest.startswith(e.digest[:n]) for x in entries) == 1
                      and not any(d.startswith(e.digest[:n]) for d in [tree]))
        assert store.resolve_prefix(prefix) == e.digest


@pytest.mark.parametrize("bad", ["", "xyz", "12 34", "g" * 64, "0" * 65])
def test_a_prefix_that_is_not_hex_is_refused(tmp_path, bad):
    with pytest.raises(InvalidDigestError):
        LocalStore(tmp_path / "objects").resolve_prefix(bad)


def canalis(ws, *args):
    return subprocess.run([sys.executable, "-m", "canalis", *args, "--workspace", str(ws)], capture_output=True,
                          text=True, timeout=120)


def test_store_commands_take_a_unique_prefix_and_list_the_candidates_of_an_ambiguous_one(tmp_path):
    ws = tmp_path / "ws"
    init = subprocess.run([sys.executable, "-m", "canalis", "init", str(ws)], capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(40):  # enough digests that two share a first hex digit
        (folder / f"f{i:02d}.txt").write_text(f"content {i}\n")
    tree = canalis(ws, "store", "snapshot", str(folder)).stdout.strip()
    listing = json.loads(canalis(ws, "store", "ls", tree[:10], "--json").stdout)
    assert len(listing) == 40
    one = listing[0]
    cat = canalis(ws, "store", "cat", one["digest"][:12])
    assert cat.returncode == 0 and cat.stdout == (folder / one["path"]).read_text()
    out = tmp_path / "out"
    assert canalis(ws, "store", "checkout", tree[:12], str(out)).returncode == 0
    assert sorted(os.listdir(out)) == sorted(e["path"] for e in listing)

    firsts = [e["digest"][0] for e in listing]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    amb = canalis(ws, "store", "cat", shared)
    assert amb.returncode == 2 and "Traceback" not in amb.stderr
    assert "is the beginning of more than one digest" in amb.stderr
    assert sum(1 for e in listing if e["digest"][0] == shared and e["digest"] in amb.stderr) >= 2
    none = canalis(ws, "store", "ls", "0000000000000000")
    assert none.returncode == 2 and "no blob or tree in the store starts with" in none.stderr
