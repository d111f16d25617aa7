"""`canalis verify` over a workspace with real runs."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from canalis.cli import main
from canalis.core import Dataset, Experiment
from canalis.data import OutputFileDatasetConfig
from canalis.executor.registry import Lineage
from canalis.pipeline.core import Pipeline
from canalis.pipeline.steps import PythonScriptStep
from canalis.store import LocalStore
from canalis.store.tree import TreeEntry
from tests.canalis.conftest import script, write


def one_run(ws, src):
    script(src, "make.py", "import os, sys\nopen(os.path.join(sys.argv[1], 'out.txt'), 'w').write('payload ' * 100)\n")
    out = OutputFileDatasetConfig(name="out")
    run = Experiment(ws, "v").submit(Pipeline(ws, [PythonScriptStep(name="make", script_name="make.py", source_directory=str(src), arguments=[out])]))
    run.wait_for_completion()
    tree = run.find_step_run("make")[0].get_details()["outputs"]["out"]
    return ws.store.get_tree(tree)[0].digest


def verify(ws, *flags):
    out = CliRunner().invoke(main, ["verify", "--json", "--workspace", str(ws.root), *flags])
    return out.exit_code, json.loads(out.output)


def test_clean_workspace_verifies(ws, src, counter):
    one_run(ws, src)
    code, result = verify(ws)
    assert code == 0 and result["ok"] and result["missing"] == [] and result["references"] > 5


def test_flipped_byte_is_reported(ws, src, counter):
    digest = one_run(ws, src)
    where = ws.store.locate(digest)  # a step's output file: packed
    assert where.pack is not None
    os.chmod(where.path, 0o644)
    with open(where.path, "r+b") as f:
        f.seek(where.offset + where.length - 1)
        last = f.read(1)[0]
        f.seek(-1, 1)
        f.write(bytes([last ^ 0x01]))
    for flag in ("--deep", "--read-data"):  # the record's structure is intact: only re-hashing finds it
        code, result = verify(ws, flag)
        assert code == 1 and digest in result["store"]["corrupt"] and result["deep"] is True


def test_deleted_blob_is_reported_with_what_named_it(ws, src, counter):
    digest = one_run(ws, src)
    ws.store.delete(digest)  # as if lost: the pack is rewritten without it
    code, result = verify(ws)
    assert code == 1
    assert [m["digest"] for m in result["missing"]] == [digest]
    assert "output out" in result["missing"][0]["why"]


# -- trees made by the faulty pairing of digests with paths ---------------------------------

def age(root: Path, seconds: float = 10) -> None:
    """Move mtimes into the past, so the stat cache trusts its entries (no racy mtime)."""
    for p in root.rglob("*"):
        st = p.stat()
        ns = st.st_mtime_ns - int(seconds * 1e9)
        os.utime(p, ns=(ns, ns))


def swap_in_stat_cache(ws, a: Path, b: Path) -> None:
    """Give files a and b each other's digests in the stat cache, as snapshots made before the
    pairing was fixed recorded them; the next snapshot of the unchanged folder trusts them."""
    db = sqlite3.connect(ws.root / ".canalis" / "objects" / "statcache.db")
    (da,), (db_,) = (db.execute("SELECT digest FROM stat_cache WHERE path = ?", (str(p),)).fetchone() for p in (a, b))
    db.execute("UPDATE stat_cache SET digest = ? WHERE path = ?", (db_, str(a)))
    db.execute("UPDATE stat_cache SET digest = ? WHERE path = ?", (da, str(b)))
    db.commit()
    db.close()


MAKE = """
import os, sys
data = sys.argv[2]
names = sorted(os.listdir(data))
with open(os.path.join(sys.argv[1], "out.txt"), "w") as f:
    f.write(open("small.txt").read() + "|" + ",".join(f"{n}:{os.path.getsize(os.path.join(data, n))}" for n in names))
"""


def pipeline(ws, src):
    raw = Dataset.get_by_name(ws, "raw")
    out = OutputFileDatasetConfig(name="out")
    return Pipeline(ws, [PythonScriptStep(name="make", script_name="make.py", source_directory=str(src),
                                          arguments=[out, raw.as_named_input("raw").as_mount()])])


@pytest.fixture
def faulty(ws, src, counter):
    """A workspace as the faulty code left it: a source snapshot and a registered dataset
    whose trees pair paths with blobs of other files, and a run that used both."""
    script(src, "make.py", MAKE)
    (src / "small.txt").write_text("small\n")
    (src / "big.txt").write_text("B" * 5000)
    age(src)
    ws.store.snapshot(src)  # fills the stat cache
    swap_in_stat_cache(ws, src / "small.txt", src / "big.txt")
    store = ws.get_default_datastore()
    write(store.root / "raw" / "a.csv", "x\n" + "1\n" * 2000)
    write(store.root / "raw" / "b.csv", "x\n2\n")
    good = sorted(ws.store.get_tree(Dataset.File.from_files(path=(store, "raw/*"))._snapshot(ws.store)))
    swapped = [TreeEntry(e.path, e.type, e.mode, e.size, o.digest) for e, o in zip(good, reversed(good))]
    ws.session.register("dataset", "raw", ws.store.put_tree(swapped), kind="file",
                        lineage=Lineage(sources=({"datastore": "workspaceblobstore", "path": "raw/*"},)))
    run = Experiment(ws, "v").submit(pipeline(ws, src))
    run.wait_for_completion()
    return run


def test_faulty_trees_are_traced_to_the_runs_step_runs_and_datasets_that_used_them(ws, src, faulty):
    code, result = verify(ws)
    assert code == 1 and not result["ok"] and result["deep"] is False
    step_run = faulty.find_step_run("make")[0].id
    by_tree = {t["tree"]: t for t in result["faulty_trees"]}
    plan = ws.ledger.run_plan(faulty.id)
    source, dataset_tree = plan["steps"][0]["source_tree"], ws.ledger.dataset("raw").digest
    assert set(by_tree) == {source, dataset_tree}
    assert {e["path"]: (e["declared"], e["actual"]) for e in by_tree[source]["entries"]} == {
        "big.txt": (5000, 6), "small.txt": (6, 5000)}
    used = {u["why"]: u for u in by_tree[source]["used_by"]}
    assert used[f"run {faulty.id} step make source"]["step_run_ids"] == [step_run]
    assert {u["why"] for u in by_tree[dataset_tree]["used_by"]} == {"dataset raw v1", f"run {faulty.id} step make input raw"}
    assert [u["dataset"] for u in by_tree[dataset_tree]["used_by"] if u["dataset"]] == [{"name": "raw", "version": 1}]
    assert result["affected"] == {"runs": [faulty.id], "step_runs": [step_run], "datasets": ["raw v1"],
                                  "models": [], "published_pipelines": []}
    assert result["store"]["faulty_trees"] == [{"tree": t["tree"], "entries": t["entries"]} for t in result["faulty_trees"]]
    assert len(result["store"]["stat_cache"]) == 2


def test_faulty_trees_in_the_human_output(ws, src, faulty):
    out = CliRunner().invoke(main, ["verify", "--workspace", str(ws.root)])
    assert out.exit_code == 1
    text = out.output
    step_run = faulty.find_step_run("make")[0].id
    assert "2 faulty tree(s)" in text and "small.txt: declares 6 bytes" in text
    assert f"used by run {faulty.id} step make source (step run {step_run})" in text
    assert "used by dataset raw v1" in text and "datasets raw v1" in text
    assert "Traceback" not in text


def test_the_release_notes_procedure_makes_correct_trees(ws, src, faulty):
    """docs/release-notes.md: verify --repair drops the poisoned stat-cache entries, the
    dataset is registered again from its source, the pipeline runs again without reuse."""
    old_source = ws.ledger.run_plan(faulty.id)["steps"][0]["source_tree"]
    assert ws.store.snapshot(src).tree == old_source  # the stat cache still pairs them wrongly
    r = CliRunner().invoke(main, ["store", "verify", "--repair", "--json", "--workspace", str(ws.root)])
    assert r.exit_code == 1 and json.loads(r.output)["stat_cache_dropped"] == 3  # faulty trees stay: history
    store = ws.get_default_datastore()
    v2 = Dataset.File.from_files(path=(store, "raw/*")).register(ws, "raw", create_new_version=True)
    assert v2.version == 2
    again = Experiment(ws, "v").submit(pipeline(ws, src), regenerate_outputs=True)
    again.wait_for_completion()
    out = again.find_step_run("make")[0].get_details()["outputs"]["out"]
    assert ws.store.get_bytes(ws.store.get_tree(out)[0].digest) == b"small\n|a.csv:4002,b.csv:4"
    code, result = verify(ws)
    assert result["affected"]["runs"] == [faulty.id] and result["affected"]["datasets"] == ["raw v1"]
    assert result["store"]["stat_cache"] == [] and result["missing"] == []


def test_verify_repair_rebuilds_a_damaged_pack_index(ws, src, counter):
    digest = one_run(ws, src)
    db = sqlite3.connect(ws.root / ".canalis" / "objects" / "packindex.db")
    db.execute("UPDATE blobs SET offset = offset + 3")
    db.commit()
    db.close()
    code, result = verify(ws)
    assert code == 1 and result["store"]["index_damaged"] and not result["store"]["ok"]
    out = CliRunner().invoke(main, ["verify", "--workspace", str(ws.root)])
    assert "pack(s) the pack index places wrongly" in out.output and "--repair" in out.output
    code, result = verify(ws, "--repair")
    assert code == 0 and result["store"]["index_rebuilt"] is True
    code, result = verify(ws, "--deep")
    assert code == 0 and result["deep"] is True
    assert LocalStore(ws.root / ".canalis" / "objects").get_bytes(digest, verify=True) == b"payload " * 100
