"""`store compare TREE DIR`: the check that sees what sizes cannot (equal-sized files paired
with each other's content), by hashing the folder without storing it."""
from __future__ import annotations

import json
import os

from click.testing import CliRunner

from canalis.cli import main
from canalis.store.compare import compare
from canalis.store.tree import TreeEntry
from store_helpers import write


def test_an_equal_size_swap_passes_verify_and_is_found_by_compare(store, tmp_path):
    root = write(tmp_path / "src", {"a.txt": "aaaa", "b.txt": "bbbb", "c.txt": "c" * 10, ".gitignore": "*.log\n",
                                    "x.log": "ignored"})
    os.symlink("a.txt", root / "link")
    tree = store.snapshot(root, stat_cache=False).tree
    assert compare(store, tree, root) == {"same": True, "files": 5, "differ": [], "only_in_tree": [], "only_in_folder": []}
    e = {x.path: x for x in store.get_tree(tree)}
    swapped = [x for p, x in e.items() if p not in ("a.txt", "b.txt")] + [
        TreeEntry("a.txt", "file", 0o644, 4, e["b.txt"].digest), TreeEntry("b.txt", "file", 0o644, 4, e["a.txt"].digest)]
    faulty = store.put_tree(swapped)
    assert store.verify().ok  # the sizes agree: the store alone cannot tell
    r = compare(store, faulty, root)
    assert not r["same"] and [d["path"] for d in r["differ"]] == ["a.txt", "b.txt"]
    assert r["differ"][0]["tree"]["digest"] == e["b.txt"].digest and r["differ"][0]["folder"]["digest"] == e["a.txt"].digest


def test_files_only_on_one_side_and_ignore_rules(store, tmp_path):
    root = write(tmp_path / "src", {"keep.txt": "k", "gone.txt": "g", ".gitignore": "*.log\n", "x.log": "l"})
    tree = store.snapshot(root, stat_cache=False).tree
    (root / "gone.txt").unlink()
    (root / "new.txt").write_text("n")
    r = compare(store, tree, root)
    assert r["only_in_tree"] == ["gone.txt"] and r["only_in_folder"] == ["new.txt"] and r["differ"] == []
    assert compare(store, tree, root, ignore=False)["only_in_folder"] == ["new.txt", "x.log"]


def test_cli_exit_codes_json_and_errors(store, tmp_path):
    ws = tmp_path / "ws"
    assert CliRunner().invoke(main, ["init", str(ws)]).exit_code == 0
    root = write(tmp_path / "src", {"a.txt": "a"})
    snap = CliRunner().invoke(main, ["store", "snapshot", str(root), "--json", "--workspace", str(ws)])
    tree = json.loads(snap.output)["tree"]
    same = CliRunner().invoke(main, ["store", "compare", tree, str(root), "--json", "--workspace", str(ws)])
    assert same.exit_code == 0 and set(json.loads(same.output)) == {"same", "files", "differ", "only_in_tree", "only_in_folder"}
    (root / "a.txt").write_text("b")
    diff = CliRunner().invoke(main, ["store", "compare", tree, str(root), "--workspace", str(ws)])
    assert diff.exit_code == 1 and "differs a.txt" in diff.output and "DIFFERENT" in diff.output
    bad = CliRunner().invoke(main, ["store", "compare", "nothex", str(root), "--workspace", str(ws)])
    assert bad.exit_code == 2 and "64 lowercase hex" in bad.output and "Traceback" not in bad.output
